import { parseDuration } from "../config/index.ts";
import { SluiceError } from "../core/index.ts";

/** A time option (`--since`, `--until`): a duration back from now (`7d`) or an ISO timestamp. */
export function parseWhen(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDuration(value);
  if (seconds !== undefined) return new Date(Date.now() - seconds * 1000);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new SluiceError(
      "SLUICE_CLI_USAGE",
      `${flag}: "${value}" is neither a duration like 7d nor a timestamp`,
    );
  }
  return date;
}

export const parseSince = (value: string | undefined): Date | undefined => parseWhen("--since", value);
