/** Loads the PostgreSQL parser (WebAssembly) once; the analyser's sync calls need it loaded. */

import { loadModule } from "libpg-query";

let loading: Promise<void> | undefined;

export function loadSqlParser(): Promise<void> {
  loading ??= loadModule();
  return loading;
}
