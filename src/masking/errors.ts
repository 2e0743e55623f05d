import { ErrorCodes, SluiceError } from "../core/index.ts";

/**
 * Masking failed, so the result must not be sent: the caller ends the result (query, COPY,
 * response, stream) with its protocol's native error. Messages name the stage that failed and
 * never carry data; the original exception is deliberately not attached as `cause`, because its
 * message may quote the value that was being masked (V8's JSON.parse errors do).
 */
export class MaskingError extends SluiceError {
  constructor(message: string) {
    super(ErrorCodes.maskingFailed, `masking failed: ${message}`, { expose: true });
    this.name = "MaskingError";
  }
}

/** Runs `fn`; any exception other than a MaskingError becomes one that names `stage` only. */
export function guarded<T>(stage: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw asMaskingError(stage, error);
  }
}

export function asMaskingError(stage: string, error: unknown): MaskingError {
  if (error instanceof MaskingError) return error;
  const kind = error instanceof Error ? error.name : typeof error;
  return new MaskingError(`${stage} (${kind})`);
}
