/** Token parameters; the `tokens` section of the configuration has this shape. */
export interface TokenSettings {
  readonly issuer: string;
  readonly audience: string;
  /** Lifetime when the caller does not ask for one. */
  readonly defaultTtlSeconds: number;
  /** Upper bound for any lifetime; the verifier also refuses tokens older than this. */
  readonly maxTtlSeconds: number;
  /** Clock skew tolerated when checking exp, nbf and iat. */
  readonly leewaySeconds: number;
}

/** A clock returning the current time; injectable for tests. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
