/** Seconds per unit for durations written like `30s`, `15m`, `12h`, `7d` or `1h30m`. */
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

const DURATION = /^(?:\d+[smhd])+$/;
const PART = /(\d+)([smhd])/g;

/**
 * Parses a duration into whole seconds. Accepts a non-negative integer (seconds) or text made of
 * `<integer><unit>` parts with units s, m, h, d (`15m`, `1h30m`). Returns undefined when the input
 * is not a duration or the result is not a safe integer.
 */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === "number") {
    return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  }
  const text = input.trim();
  if (/^\d+$/.test(text)) return parseDuration(Number(text));
  if (!DURATION.test(text)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    seconds += Number(amount) * (UNIT_SECONDS[unit ?? ""] ?? Number.NaN);
  }
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

/** Formats seconds as the shortest duration text `parseDuration` reads back (`90` → `1m30s`). */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  let rest = seconds;
  let text = "";
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = UNIT_SECONDS[unit] ?? 1;
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      text += `${amount}${unit}`;
      rest -= amount * size;
    }
  }
  return text;
}
