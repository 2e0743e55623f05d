#!/usr/bin/env node
// Runs the TypeScript CLI directly (no build step): tsx registers the loader, then main starts.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
