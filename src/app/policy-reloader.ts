/**
 * Reloading the policy bundle while the gateway runs: on a change in the policy directory
 * (debounced), on SIGHUP (`sluice serve`) and on the admin API. An invalid bundle is reported
 * (log and `policy.reload_failed`) and the last good one stays in force; a good one is swapped in
 * atomically (every later decision uses it, live sessions included) and recorded (`policy.reloaded`).
 */
import { type FSWatcher, watch } from "node:fs";
import { AuditEventType, type AuditLog, gatewayEvent } from "../audit/index.ts";
import {
  formatDiagnostic,
  loadPolicyBundle,
  type PolicyBundle,
  type PolicyDiagnostic,
  type PolicyEngine,
  PolicyError,
} from "../policy/index.ts";

/** What started a reload; recorded in the audit event. */
export type PolicyReloadTrigger = "watch" | "signal" | "admin-api" | "call";

export interface PolicyReloadResult {
  readonly ok: boolean;
  /** The bundle version in force afterwards (the previous one when the reload failed). */
  readonly version: string;
  readonly gitCommit?: string;
  readonly previousVersion: string;
  /** True when a different bundle was swapped in. */
  readonly changed: boolean;
  /** Why the new bundle was rejected. */
  readonly diagnostics?: readonly PolicyDiagnostic[];
}

export interface PolicyReloaderOptions {
  readonly dir: string;
  readonly engine: PolicyEngine;
  readonly timeZone: string;
  readonly audit: AuditLog;
  readonly log: (message: string) => void;
  /** Quiet time after the last file change before reloading. Default 200 ms. */
  readonly debounceMs?: number;
}

const versionData = (prefix: string, bundle: PolicyBundle): Record<string, string> => ({
  [`${prefix}_version`]: bundle.version,
  ...(bundle.gitCommit === undefined ? {} : { [`${prefix}_git_commit`]: bundle.gitCommit }),
});

export class PolicyReloader {
  readonly #o: PolicyReloaderOptions;
  /** Reloads run one after another, so the last one started is the one in force. */
  #chain: Promise<unknown> = Promise.resolve();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Diagnostics of the last failed reload, so an unchanged broken file is reported once. */
  #lastFailure: string | undefined;
  #closed = false;

  constructor(options: PolicyReloaderOptions) {
    this.#o = options;
  }

  /** Loads the policy directory again; resolves (never rejects) with the outcome. */
  reload(trigger: PolicyReloadTrigger, by?: string): Promise<PolicyReloadResult> {
    const run = this.#chain.then(() => this.#reload(trigger, by));
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Watches the policy directory (recursively; entries starting with `.` are ignored). */
  watch(): void {
    if (this.#watcher !== undefined || this.#closed) return;
    const { dir, log } = this.#o;
    try {
      this.#watcher = watch(dir, { recursive: true, persistent: false }, (_event, filename) => {
        if (
          filename !== null &&
          String(filename)
            .split(/[\\/]/)
            .some((part) => part.startsWith("."))
        )
          return;
        this.#schedule();
      });
      this.#watcher.on("error", (error) => {
        log(`policy: watching ${dir} stopped (${String(error)}); reload with SIGHUP or the admin API`);
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (error) {
      log(`policy: cannot watch ${dir} (${String(error)}); reload with SIGHUP or the admin API`);
    }
  }

  /** Stops watching and waits for a reload in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#chain;
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) void this.reload("watch");
    }, this.#o.debounceMs ?? 200);
  }

  async #reload(trigger: PolicyReloadTrigger, by: string | undefined): Promise<PolicyReloadResult> {
    const { dir, engine, log } = this.#o;
    const previous = engine.bundle;
    let bundle: PolicyBundle;
    try {
      bundle = await loadPolicyBundle(dir, { timeZone: this.#o.timeZone });
    } catch (error) {
      const diagnostics =
        error instanceof PolicyError
          ? error.diagnostics
          : [{ file: dir, line: 0, column: 0, message: `cannot load the policy: ${String(error)}` }];
      const key = JSON.stringify(diagnostics);
      // The watcher may fire again for a file that is still broken: report it once.
      const repeated = trigger === "watch" && key === this.#lastFailure;
      this.#lastFailure = key;
      if (!repeated) {
        log(
          `policy: reload (${trigger}) failed, keeping ${previous.version}:\n${diagnostics
            .map((d) => `  ${formatDiagnostic(d)}`)
            .join("\n")}`,
        );
        await this.#record(
          AuditEventType.policyReloadFailed,
          {
            trigger,
            ...versionData("current", previous),
            diagnostics: diagnostics.map((d) => ({
              file: d.file,
              line: d.line,
              column: d.column,
              ...(d.ruleId === undefined ? {} : { rule_id: d.ruleId }),
              message: d.message,
            })),
          },
          by,
        );
      }
      return {
        ok: false,
        version: previous.version,
        ...(previous.gitCommit === undefined ? {} : { gitCommit: previous.gitCommit }),
        previousVersion: previous.version,
        changed: false,
        diagnostics,
      };
    }

    const recovered = this.#lastFailure !== undefined;
    this.#lastFailure = undefined;
    const changed = bundle.version !== previous.version || bundle.gitCommit !== previous.gitCommit;
    // An unchanged bundle is not swapped: the one in force keeps its warm caches.
    if (changed) engine.swap(bundle);
    if (changed || recovered || trigger !== "watch") {
      log(
        changed
          ? `policy: reloaded (${trigger}): ${previous.version} -> ${bundle.version} (${bundle.rules.length} rules)`
          : `policy: reload (${trigger}): unchanged, ${bundle.version}`,
      );
      await this.#record(
        AuditEventType.policyReloaded,
        {
          trigger,
          changed,
          ...versionData("old", previous),
          ...versionData("new", bundle),
          rules: bundle.rules.length,
        },
        by,
      );
    }
    return {
      ok: true,
      version: bundle.version,
      ...(bundle.gitCommit === undefined ? {} : { gitCommit: bundle.gitCommit }),
      previousVersion: previous.version,
      changed,
    };
  }

  async #record(type: string, data: Record<string, unknown>, by: string | undefined): Promise<void> {
    try {
      await this.#o.audit.record(gatewayEvent(type, data, by));
    } catch (error) {
      this.#o.log(`audit: could not record ${type}: ${String(error)}`);
    }
  }
}
