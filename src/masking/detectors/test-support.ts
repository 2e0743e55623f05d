import type { Detector } from "./types.ts";

/** The texts a detector finds, in order of position. */
export function found(detector: Detector, text: string): string[] {
  return [...detector.find(text)].sort((a, b) => a.start - b.start).map((s) => text.slice(s.start, s.end));
}

/** Texts decoded from the wire are flat strings, not the ropes `repeat` and `+` build. */
export function flat(text: string): string {
  return Buffer.from(text, "utf8").toString("utf8");
}
