/** Bytes per unit for sizes written like `64KiB` or `16MiB`. Binary units only, to avoid MB/MiB doubt. */
const UNIT_BYTES: Readonly<Record<string, number>> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

const SIZE = /^(\d+)\s*(B|KiB|MiB|GiB)$/;

/**
 * Parses a size into bytes: a non-negative integer, or `<integer><unit>` with unit B, KiB, MiB or
 * GiB. Returns undefined when the input is not a size or the result is not a safe integer.
 */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === "number") {
    return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  }
  const text = input.trim();
  if (/^\d+$/.test(text)) return parseSize(Number(text));
  const match = SIZE.exec(text);
  if (match === null) return undefined;
  const bytes = Number(match[1]) * (UNIT_BYTES[match[2] ?? ""] ?? Number.NaN);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Formats bytes with the largest binary unit that divides them exactly (`16777216` → `16MiB`). */
export function formatSize(bytes: number): string {
  for (const unit of ["GiB", "MiB", "KiB"] as const) {
    const size = UNIT_BYTES[unit] ?? 1;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
