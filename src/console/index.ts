export { type ConsoleOptions, createConsole, type WebConsole } from "./console-routes.ts";
export { CONTENT_SECURITY_POLICY, CSRF_COOKIE, CSRF_HEADER } from "./security.ts";
