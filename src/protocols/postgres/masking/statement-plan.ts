/**
 * Review-time preparation of masked statements: before a batch is recorded and forwarded, work
 * out each statement's lineage, load what the catalog must know to follow it, and refuse what
 * masking cannot make safe (masked data copied elsewhere, masked columns used as a filter oracle,
 * COPY formats the masker cannot read).
 */

import type { Action, Decision, MaskRequirement } from "../../../core/index.ts";
import { createMasker, type Masker, type SourceColumn } from "../../../masking/index.ts";
import type { SqlFacts } from "../sql/index.ts";
import type { Origins, PgCatalog } from "./catalog.ts";
import { type DataRef, type StatementLineage, sqlLineage } from "./lineage.ts";

/** What the result handling of one statement needs. */
export interface StatementPlan {
  readonly action: Action;
  /** The mask rules that apply (the decision's, plus those of the cursor or PREPARE it reads). */
  readonly masks: readonly MaskRequirement[];
  /** Present when the decision carries mask rules. */
  readonly masker?: Masker;
  /** Undefined when the statement's outputs cannot be traced (an unknown cursor or prepared name). */
  readonly lineage?: StatementLineage;
  /** The statement touches masked data: server error and notice texts are withheld. */
  readonly sensitive: boolean;
}

export interface PlannerOptions {
  readonly catalog: PgCatalog;
  /** Every mask rule that could apply in this session: what rows of unknown origin get. */
  readonly sessionMasks: readonly MaskRequirement[];
  readonly hashKey?: string | Uint8Array;
}

/** Names a session gave to queries whose rows come later (cursors, SQL prepared statements). */
export interface NamedQuery {
  /** Undefined for a name the gateway never saw defined. */
  readonly lineage: StatementLineage | undefined;
  readonly masks: readonly MaskRequirement[];
}

const LINEAGE_CACHE_SIZE = 1000;

/** Statements that name a query for later (or use such a name): planned even without masks. */
const NAMING_KINDS: ReadonlySet<string> = new Set([
  "declare_cursor",
  "fetch",
  "prepare",
  "execute",
  "close_cursor",
]);

export class StatementPlanner {
  readonly #options: PlannerOptions;
  readonly #lineages = new Map<string, StatementLineage>();
  readonly #cursors = new Map<string, NamedQuery>();
  readonly #prepared = new Map<string, NamedQuery>();

  constructor(options: PlannerOptions) {
    this.#options = options;
  }

  get catalog(): PgCatalog {
    return this.#options.catalog;
  }

  /** Lineage of one statement's text (cached; the analyser already checked it parses). */
  lineage(text: string): StatementLineage | undefined {
    let lineage = this.#lineages.get(text);
    if (lineage === undefined) {
      const all = sqlLineage(text);
      if (all.length !== 1) return undefined;
      lineage = all[0]!;
      if (this.#lineages.size >= LINEAGE_CACHE_SIZE) this.#lineages.clear();
      this.#lineages.set(text, lineage);
    }
    return lineage;
  }

  /**
   * Plans one allowed statement with masks; returns a refusal when masking cannot make it safe.
   * Throws when the catalog cannot be read (the gate then denies: fail closed).
   */
  async plan(
    action: Action,
    decision: Decision,
  ): Promise<{ plan: StatementPlan; refusal?: { code: string; reason: string } }> {
    const masks = decision.masks ?? [];
    const facts = sqlFacts(action);
    if (masks.length === 0 && !NAMING_KINDS.has(facts?.statement_kind ?? "")) {
      // Nothing to mask and nothing this session must remember: no second parse.
      return { plan: { action, masks, sensitive: false } };
    }
    const own = this.lineage(action.text);
    const named = this.#named(own);
    const allMasks = dedupeMasks([...masks, ...(named?.masks ?? [])]);
    if (allMasks.length === 0) {
      return { plan: { action, masks: allMasks, sensitive: false, ...(own ? { lineage: own } : {}) } };
    }
    const masker = createMasker(
      allMasks,
      this.#options.hashKey === undefined ? {} : { hashKey: this.#options.hashKey },
    );
    const lineage = named === undefined ? own : named.lineage;
    const touched: DataRef[] = (facts?.tables ?? []).map((t) => ({ kind: "row", relation: relationName(t) }));
    const refs = lineage ? [...lineage.refs, ...lineage.predicateRefs, ...lineage.writeRefs] : [];
    for (const o of lineage?.outputs ?? [])
      for (const s of o.star ?? [])
        if (s.kind === "relation") refs.push({ kind: "row", relation: s.relation });
    await this.catalog.loadRefs([...refs, ...touched]);

    const covers = (origins: Origins, rules: Masker): boolean =>
      rules.hasColumnRules && (origins.unresolved || coversAny(rules, origins.sources));
    const base = { action, masks: allMasks, masker, ...(lineage ? { lineage } : {}) };
    if (lineage === undefined) {
      // EXECUTE or FETCH of a name the gateway never saw: nothing is known of its rows.
      return { plan: { ...base, sensitive: true } };
    }
    if (lineage.copyOut === "csv" || lineage.copyOut === "binary") {
      return {
        plan: { ...base, sensitive: true },
        refusal: {
          code: "masking-unsupported-format",
          reason: `COPY in ${lineage.copyOut} format cannot be masked; use the text format`,
        },
      };
    }
    if (covers(this.catalog.origins(lineage.writeRefs), masker)) {
      return {
        plan: { ...base, sensitive: true },
        refusal: {
          code: "masked-data-copy",
          reason: "the statement copies masked data into a table or a side channel",
        },
      };
    }
    const filterRules = allMasks.filter((m) => m.denyInFilters === true);
    if (filterRules.length > 0) {
      // Which columns count, not how they would be masked: detectors and strategies do not matter.
      const strict = createMasker(
        filterRules.map((m) => ({ ...m, detectors: [], strategy: "redact" as const })),
      );
      if (covers(this.catalog.origins(lineage.predicateRefs), strict)) {
        return {
          plan: { ...base, sensitive: true },
          refusal: {
            code: "masked-column-in-filter",
            reason: `a masked column is used to filter, join, group or sort (rule ${filterRules.map((m) => m.ruleId).join(", ")})`,
          },
        };
      }
    }
    const sensitive =
      covers(this.catalog.origins([...lineage.refs, ...lineage.predicateRefs, ...touched]), masker) ||
      (lineage.outputs ?? []).some(
        (o) => o.star?.some((s) => s.kind === "derived") === true && masker.hasColumnRules,
      );
    return { plan: { ...base, sensitive } };
  }

  /** After a batch was forwarded: remember the session's cursors and prepared statements. */
  remember(plan: StatementPlan): void {
    const lineage = plan.lineage;
    if (lineage === undefined) return;
    const masks = plan.masks;
    if (lineage.declaresCursor !== undefined) this.#cursors.set(lineage.declaresCursor, { lineage, masks });
    if (lineage.preparesStatement !== undefined)
      this.#prepared.set(lineage.preparesStatement, { lineage, masks });
    if (lineage.closesCursor === null) this.#cursors.clear();
    else if (lineage.closesCursor !== undefined) this.#cursors.delete(lineage.closesCursor);
  }

  /** The lineage and masks a FETCH or EXECUTE inherits; undefined when it names nothing known. */
  #named(lineage: StatementLineage | undefined): NamedQuery | undefined {
    const unknown = { lineage: undefined, masks: this.#options.sessionMasks };
    if (lineage?.fetchesCursor !== undefined) return this.#cursors.get(lineage.fetchesCursor) ?? unknown;
    if (lineage?.executesStatement !== undefined)
      return this.#prepared.get(lineage.executesStatement) ?? unknown;
    return undefined;
  }
}

function dedupeMasks(masks: readonly MaskRequirement[]): MaskRequirement[] {
  const byId = new Map<string, MaskRequirement>();
  for (const m of masks) if (!byId.has(m.ruleId)) byId.set(m.ruleId, m);
  return [...byId.values()];
}

function coversAny(masker: Masker, sources: readonly SourceColumn[]): boolean {
  if (sources.length === 0) return false;
  return masker.forTable([{ name: "", derivedFrom: sources }]).columnMasks[0] !== undefined;
}

function sqlFacts(action: Action): SqlFacts | undefined {
  const sql = action.facts.sql;
  return typeof sql === "object" && sql !== null ? (sql as unknown as SqlFacts) : undefined;
}

function relationName(written: string): { schema?: string; name: string } {
  const dot = written.lastIndexOf(".");
  return dot < 0 ? { name: written } : { schema: written.slice(0, dot), name: written.slice(dot + 1) };
}
