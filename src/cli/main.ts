import { Command } from "commander";
import { SluiceError } from "../core/index.ts";
import { registerApprovalCommands } from "./approvals-command.ts";
import { registerAuditCommands } from "./audit-command.ts";
import { registerKeyCommands } from "./keys-command.ts";
import { registerLoginCommands } from "./login-command.ts";
import { registerPolicyCommands } from "./policy-command.ts";
import { registerServeCommand } from "./serve-command.ts";
import { registerServiceAccountCommands } from "./service-account-command.ts";
import { registerSessionsCommands } from "./sessions-command.ts";
import { registerTokenCommands } from "./token-command.ts";

const program = new Command("sluice")
  .description("Identity-aware access gateway: policy as code at the moment each command is issued")
  .showHelpAfterError();
registerServeCommand(program);
registerTokenCommands(program);
registerLoginCommands(program);
registerServiceAccountCommands(program);
registerAuditCommands(program);
registerPolicyCommands(program);
registerSessionsCommands(program);
registerApprovalCommands(program);
registerKeyCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof SluiceError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`sluice: ${message}\n`);
  process.exit(1);
});
