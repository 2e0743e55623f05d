import type { StoredAuditRecord } from "../store/index.ts";

/** Makes user-supplied text safe for one terminal line: control characters become visible escapes. */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) =>
    c === "\n" ? "\\n" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

export function formatAuditLine(event: StoredAuditRecord): string {
  const action = event.data.action as { text?: string } | undefined;
  const decision = event.data.decision as { rule_ids?: string[]; reason?: string } | undefined;
  const parts = [event.time, event.type.padEnd(15), event.user ?? "-", event.connection ?? "-"];
  if (decision) parts.push(`[${(decision.rule_ids ?? []).join(",") || "-"}]`);
  if (action?.text !== undefined) parts.push(`"${printable(action.text)}"`);
  if (decision?.reason && event.effect !== "allow") parts.push(`reason: ${printable(decision.reason)}`);
  return parts.join("  ");
}
