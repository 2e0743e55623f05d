import type { ConnectionTarget } from "../core/index.ts";

/**
 * Returns a frozen copy of `target` whose password is a non-enumerable getter, so that
 * `JSON.stringify`, `util.inspect` and `Object.keys` never reveal it. Spreading or cloning the
 * target drops the password too: read `target.password` explicitly where it is needed.
 */
export function withHiddenPassword(target: ConnectionTarget, password: string | undefined): ConnectionTarget {
  const { password: _ignored, ...visible } = target;
  const copy: ConnectionTarget = { ...visible };
  if (password !== undefined) {
    Object.defineProperty(copy, "password", { get: () => password, enumerable: false });
  }
  return Object.freeze(copy);
}
