// The pg driver's SCRAM and md5 client helpers (used so the gateway does not hand-roll them).
declare module "pg/lib/crypto/sasl.js" {
  export interface SaslSession {
    mechanism: string;
    response: string;
    message: string;
  }
  export function startSession(mechanisms: string[], stream?: unknown): SaslSession;
  export function continueSession(
    session: SaslSession,
    password: string,
    serverData: string,
    stream?: unknown,
  ): Promise<void>;
  export function finalizeSession(session: SaslSession, serverData: string): void;
}
declare module "pg/lib/crypto/utils.js" {
  export function postgresMd5PasswordHash(user: string, password: string, salt: Buffer): Promise<string>;
}
