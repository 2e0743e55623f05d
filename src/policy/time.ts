/** Wall-clock facts for `time.*`, computed in one IANA time zone. */
export interface TimeFacts {
  readonly hour: number;
  readonly minute: number;
  /** 0 = Sunday. */
  readonly weekday: number;
  /** `YYYY-MM-DD`. */
  readonly date: string;
}

const WEEKDAYS: Readonly<Record<string, number>> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** Throws RangeError for an unknown zone. */
export function validateTimeZone(timeZone: string): void {
  new Intl.DateTimeFormat("en-US", { timeZone });
}

/**
 * Computes time facts for instants. Zone offsets are whole minutes, so the result only changes
 * when the UTC minute does: the last result is cached and `Intl` runs at most once a minute.
 */
export class TimeFactSource<T> {
  readonly #format: Intl.DateTimeFormat;
  readonly #wrap: (facts: TimeFacts) => T;
  #minute = Number.NaN;
  #value: T | undefined;

  constructor(timeZone: string, wrap: (facts: TimeFacts) => T) {
    this.#format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      weekday: "short",
      hourCycle: "h23",
    });
    this.#wrap = wrap;
  }

  at(epochMs: number): T {
    const minute = Math.floor(epochMs / 60_000);
    if (minute === this.#minute && this.#value !== undefined) return this.#value;
    const value = this.#wrap(this.compute(epochMs));
    this.#minute = minute;
    this.#value = value;
    return value;
  }

  compute(epochMs: number): TimeFacts {
    const parts: Record<string, string> = {};
    for (const part of this.#format.formatToParts(epochMs)) parts[part.type] = part.value;
    return {
      hour: Number(parts.hour) % 24,
      minute: Number(parts.minute),
      weekday: WEEKDAYS[parts.weekday ?? ""] ?? 0,
      date: `${parts.year}-${parts.month}-${parts.day}`,
    };
  }
}
