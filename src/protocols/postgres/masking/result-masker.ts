/**
 * Follows what the server sends back, message by message, in sessions where mask rules can apply
 * or that are recorded: masks it, and hands each statement's result to the recording.
 * It follows the server's answers to what was forwarded (an expectation per statement, Describe,
 * Execute and Sync), so every RowDescription, DataRow, COPY payload, error and notice is matched
 * to the statement that produced it. Rows are rewritten one at a time: nothing is buffered.
 *
 * Fail closed: when masking a message throws, the rest of that result is replaced by one native
 * error, and nothing more of it reaches the client.
 */

import type { ColumnDescriptor, LineMasker, Masker, TableMasker } from "../../../masking/index.ts";
import {
  type ErrorFields,
  errorResponse,
  noticeResponse,
  parseErrorFields,
} from "../codec/backend-messages.ts";
import type { Origins, PgCatalog } from "./catalog.ts";
import type { Output } from "./lineage.ts";
import type { ResultLog } from "./result-log.ts";
import {
  copyDataMessage,
  type FieldDescription,
  JSON_TYPES,
  JSONB,
  parseRowDescription,
  TEXT_TYPES,
} from "./row-codec.ts";
import type { StatementPlan } from "./statement-plan.ts";

export type Expectation =
  | { readonly kind: "query"; readonly statements: readonly StatementPlan[]; index: number }
  | { readonly kind: "describe"; readonly portal: string | undefined; readonly swallow: boolean }
  | { readonly kind: "execute"; readonly portal: string; readonly plan: StatementPlan | undefined }
  | { readonly kind: "sync" };

export type MaskCountsSink = (
  plan: StatementPlan,
  counts: { values: number; byRule: Record<string, number> },
) => void;

const T = 0x54; // RowDescription
const D = 0x44; // DataRow
const C = 0x43; // CommandComplete
const S_SUSPENDED = 0x73; // PortalSuspended
const I = 0x49; // EmptyQueryResponse
const N_NODATA = 0x6e; // NoData
const H = 0x48; // CopyOutResponse
const COPY_DATA = 0x64;
const COPY_DONE = 0x63;
const E = 0x45;
const N = 0x4e; // NoticeResponse
const A = 0x41; // NotificationResponse
const Z = 0x5a;

const DROP = Buffer.alloc(0);

/** SQLSTATE classes whose messages describe the statement or the session, never row values. */
const SAFE_ERROR_CLASSES = new Set(["08", "0A", "25", "28", "3D", "3F", "40", "42", "53", "54", "55", "57"]);

interface Result {
  /** Per column, 1 when a cell of it can change (a column rule covers it or detectors run). */
  readonly watched: Uint8Array;
  /** UTF-8 bytes of a replacement value; tokens repeat, so the last few are kept. */
  encode(text: string): Buffer;
  readonly plan: StatementPlan;
  readonly table: TableMasker;
  readonly fields: readonly FieldDescription[];
  copy?: LineMasker;
  json: { values: number; byRule: Record<string, number> };
  failed: boolean;
}

export interface ResultMaskerOptions {
  readonly catalog: PgCatalog;
  /** Masks data outside any statement's result (notifications) with every rule of the session. */
  readonly sessionMasker: Masker;
  readonly onCounts: MaskCountsSink;
  /** Present when the session is recorded. */
  readonly results?: ResultLog;
  readonly log: (message: string) => void;
}

export class ResultMasker {
  readonly #o: ResultMaskerOptions;
  readonly #queue: Expectation[] = [];
  readonly #portals = new Map<string, readonly FieldDescription[]>();
  #result: Result | undefined;
  /** After a masking failure: drop the rest of the result until it ends. */
  #dropping = false;

  constructor(options: ResultMaskerOptions) {
    this.#o = options;
  }

  expect(expectation: Expectation): void {
    if (this.#queue.length === 0) this.#o.results?.started();
    this.#queue.push(expectation);
  }

  /** The server message types this masker must see now. */
  wants(type: number): boolean {
    switch (type) {
      case D:
        this.#startExecuteResult();
        // An undescribed result (no fields) is watched too: its first row fails it.
        return (
          (this.#result !== undefined &&
            (this.#result.table.active || this.#dropping || this.#result.fields.length === 0)) ||
          this.#o.results?.wantsRows === true
        );
      case COPY_DATA:
        return this.#result?.copy !== undefined || this.#dropping;
      default:
        return (
          type === T ||
          type === C ||
          type === S_SUSPENDED ||
          type === I ||
          type === N_NODATA ||
          type === H ||
          type === COPY_DONE ||
          type === E ||
          type === N ||
          type === A ||
          type === Z
        );
    }
  }

  /** Undefined: pass the message as it is; a Buffer replaces it (empty: drop it). */
  inspect(type: number, body: Buffer): Buffer | undefined {
    switch (type) {
      case T:
        return this.#rowDescription(body);
      case N_NODATA:
        return this.#noData();
      case D:
        return this.#dataRow(body);
      case H:
        return this.#copyOut(body);
      case COPY_DATA:
        return this.#copyData(body);
      case COPY_DONE:
        return this.#copyDone();
      case C:
      case S_SUSPENDED:
      case I:
        return this.#resultEnd(type, body);
      case E:
        return this.#error(body);
      case N:
        return this.#notice(body);
      case A:
        return this.#notification(body);
      case Z:
        this.#readyForQuery();
        return undefined;
      default:
        return undefined;
    }
  }

  /** The plan of the statement whose answers are arriving now. */
  #currentPlan(): StatementPlan | undefined {
    const head = this.#queue[0];
    if (head?.kind === "query") return head.statements[head.index];
    if (head?.kind === "execute") return head.plan;
    return undefined;
  }

  /** Execute sends no RowDescription: its rows are described by the portal's Describe. */
  #startExecuteResult(): void {
    const head = this.#queue[0];
    if (head?.kind !== "execute" || head.plan === undefined) return;
    const fields = this.#portals.get(head.portal);
    const results = this.#o.results;
    if (results !== undefined && !results.wantsRows && fields !== undefined)
      results.columns(head.plan, fields);
    if (this.#result !== undefined || head.plan.masker === undefined) return;
    // Never described (the gateway describes every masked Execute, so only on a bug): no fields,
    // and the first row fails the result.
    this.#start(head.plan, fields ?? []);
  }

  #rowDescription(body: Buffer): Buffer | undefined {
    const head = this.#queue[0];
    if (head?.kind === "describe") {
      this.#queue.shift();
      if (head.portal !== undefined) this.#portals.set(head.portal, parseRowDescription(body));
      return head.swallow ? DROP : undefined;
    }
    const plan = this.#currentPlan();
    if (plan === undefined) return undefined;
    const fields = parseRowDescription(body);
    this.#o.results?.columns(plan, fields);
    if (plan.masker !== undefined) this.#start(plan, fields);
    return undefined;
  }

  #noData(): Buffer | undefined {
    const head = this.#queue[0];
    if (head?.kind !== "describe") return undefined;
    this.#queue.shift();
    if (head.portal !== undefined) this.#portals.set(head.portal, []);
    return head.swallow ? DROP : undefined;
  }

  #start(plan: StatementPlan, fields: readonly FieldDescription[]): void {
    const masker = plan.masker!;
    const columns = this.#describe(plan, fields);
    const table = masker.forTable(columns);
    this.#result = {
      watched: Uint8Array.from(fields, (_, i) => (table.watches(i) ? 1 : 0)),
      encode: replacementEncoder(),
      plan,
      fields,
      table,
      json: { values: 0, byRule: {} },
      failed: false,
    };
  }

  /** Column descriptors: RowDescription's source column where it names one, else the lineage. */
  #describe(plan: StatementPlan, fields: readonly FieldDescription[]): ColumnDescriptor[] {
    const catalog = this.#o.catalog;
    const aligned = plan.lineage?.outputs
      ? alignOutputs(plan.lineage.outputs, fields.length, catalog)
      : undefined;
    const everything = plan.lineage ? catalog.origins(plan.lineage.refs) : { sources: [], unresolved: true };
    return fields.map((field, i) => {
      const holdsText = TEXT_TYPES.has(field.typeOid);
      let origins: Origins;
      if (field.tableOid !== 0) {
        const relation = catalog.byOid(field.tableOid);
        origins = relation
          ? catalog.columnOrigins(relation, field.attnum)
          : { sources: [], unresolved: true };
      } else {
        origins = aligned?.[i] ?? everything;
      }
      return {
        name: field.name,
        holdsText,
        derivedFrom: origins.sources,
        ...(origins.unresolved ? { unresolved: true } : {}),
      };
    });
  }

  #dataRow(body: Buffer): Buffer | undefined {
    const result = this.#result;
    if (this.#dropping) return DROP;
    let out: Buffer | undefined;
    if (result !== undefined) {
      try {
        out = this.#maskRow(result, body);
      } catch (error) {
        return this.#fail(result, error);
      }
    }
    // The recording keeps the row as the client receives it.
    this.#o.results?.row(out === undefined ? body : out.subarray(5));
    return out;
  }

  #maskRow(result: Result, body: Buffer): Buffer | undefined {
    const size = this.#planRow(result, body, 0, body.length);
    if (size < 0) return undefined;
    const out = Buffer.allocUnsafe(1 + size);
    this.#writeRow(body, 0, body.length, size, out, 0);
    return out;
  }

  /**
   * Works out a row's replacements (into the reused arrays; offsets are into `buf`) and returns
   * the rewritten message's length word, or -1 when nothing changes.
   */
  #planRow(result: Result, buf: Buffer, bodyStart: number, bodyEnd: number): number {
    const { fields } = result;
    const count = bodyEnd - bodyStart >= 2 ? buf.readInt16BE(bodyStart) : -1;
    if (count !== fields.length) throw new Error("a row does not match its description");
    // Cell offsets without allocating a view per cell; only watched cells are decoded.
    const starts = this.#cellStarts(count);
    const lengths = this.#cellLengths;
    let offset = bodyStart + 2;
    for (let i = 0; i < count; i++) {
      if (offset + 4 > bodyEnd) throw new Error("malformed DataRow");
      const length = buf.readInt32BE(offset);
      offset += 4;
      starts[i] = offset;
      lengths[i] = length;
      if (length > 0) offset += length;
      if (offset > bodyEnd) throw new Error("malformed DataRow");
    }
    const replaced = this.#replacements(count);
    let changes = 0;
    let size = bodyEnd - bodyStart + 4;
    for (let i = 0; i < count; i++) {
      replaced[i] = undefined;
      const length = lengths[i]!;
      if (length < 0 || result.watched[i] === 0) continue;
      const field = fields[i]!;
      const next = this.#cellReplacement(result, i, buf, starts[i]!, length);
      if (next === undefined) continue;
      changes++;
      let bytes: Buffer | null = null;
      if (next !== null) {
        bytes = result.encode(next);
        if (field.format === 1 && field.typeOid === JSONB) bytes = Buffer.concat([Buffer.of(1), bytes]);
      }
      replaced[i] = bytes;
      size += (bytes === null ? 0 : bytes.length) - Math.max(0, length);
    }
    return changes === 0 ? -1 : size;
  }

  /** Writes the planned row as a whole DataRow message at `at`; unchanged runs are copied whole. */
  #writeRow(buf: Buffer, bodyStart: number, bodyEnd: number, size: number, out: Buffer, at: number): number {
    const starts = this.#cellStartsBuffer;
    const lengths = this.#cellLengths;
    const replaced = this.#replacementsBuffer;
    const count = buf.readInt16BE(bodyStart);
    out[at] = D;
    out.writeInt32BE(size, at + 1);
    let to = at + 5;
    let runStart = bodyStart;
    for (let i = 0; i < count; i++) {
      const r = replaced[i];
      if (r === undefined) continue;
      // Everything before this cell's length word is unchanged.
      to = copyBytes(buf, runStart, starts[i]! - 4, out, to);
      if (r === null) {
        out.writeInt32BE(-1, to);
        to += 4;
      } else {
        out.writeInt32BE(r.length, to);
        to = copyBytes(r, 0, r.length, out, to + 4);
      }
      runStart = starts[i]! + Math.max(0, lengths[i]!);
    }
    return copyBytes(buf, runStart, bodyEnd, out, to);
  }

  /**
   * Masks every complete DataRow from `start` on in one pass, into one buffer: the scanner's
   * fast path for large results (no view, no message object per row). Undefined when no masked
   * result is streaming; `consumed` is how many bytes of `chunk` the output replaces.
   */
  rewriteRun(type: number, chunk: Buffer, start: number): { consumed: number; output: Buffer } | undefined {
    const result = this.#result;
    if (type !== D || result === undefined || this.#dropping || result.fields.length === 0) return undefined;
    const log = this.#o.results;
    let out = Buffer.allocUnsafe(chunk.length - start + 1024);
    let at = 0;
    let pos = start;
    while (pos + 5 <= chunk.length && chunk[pos] === D) {
      const end = pos + 1 + chunk.readInt32BE(pos + 1);
      if (end > chunk.length || end < pos + 5) break;
      let size: number;
      try {
        size = this.#planRow(result, chunk, pos + 5, end);
      } catch (error) {
        const failure = this.#fail(result, error);
        return {
          consumed: pos - start + this.#skipRows(chunk, pos),
          output: Buffer.concat([out.subarray(0, at), failure]),
        };
      }
      const length = size < 0 ? end - pos : 1 + size;
      if (at + length > out.length) {
        const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, at + length + 1024));
        out.copy(bigger, 0, 0, at);
        out = bigger;
      }
      const rowStart = at;
      at =
        size < 0 ? copyBytes(chunk, pos, end, out, at) : this.#writeRow(chunk, pos + 5, end, size, out, at);
      // The recording keeps the first rows as the client receives them, and counts the rest.
      if (log !== undefined) {
        if (log.wantsRows) log.row(out.subarray(rowStart + 5, at));
        else log.countRow();
      }
      pos = end;
    }
    return pos === start ? undefined : { consumed: pos - start, output: out.subarray(0, at) };
  }

  /** After a failure: every complete DataRow from `pos` on is dropped; returns the bytes consumed. */
  #skipRows(chunk: Buffer, pos: number): number {
    const start = pos;
    while (pos + 5 <= chunk.length && chunk[pos] === D) {
      const end = pos + 1 + chunk.readInt32BE(pos + 1);
      if (end > chunk.length || end < pos + 5) break;
      pos = end;
    }
    return pos - start;
  }

  #replacementsBuffer: (Buffer | null | undefined)[] = [];

  #replacements(count: number): (Buffer | null | undefined)[] {
    if (this.#replacementsBuffer.length < count) this.#replacementsBuffer = new Array(count);
    return this.#replacementsBuffer;
  }

  /** A cell's new value (null: NULL), or undefined when it stays as it is. */
  #cellReplacement(
    result: Result,
    i: number,
    body: Buffer,
    start: number,
    length: number,
  ): string | null | undefined {
    const { table } = result;
    const field = result.fields[i]!;
    // A binary value of a non-text type cannot be read here: a covered column becomes NULL.
    if (field.format === 1 && !TEXT_TYPES.has(field.typeOid))
      return table.maskUnreadableCell(i) ? null : undefined;
    const isJson = JSON_TYPES.has(field.typeOid);
    // A whole json value replaced by a token must stay valid JSON.
    const fixed = table.fixedMask(i);
    if (fixed !== undefined) return typeof fixed === "string" && isJson ? JSON.stringify(fixed) : fixed;
    const skip = field.format === 1 && field.typeOid === JSONB ? 1 : 0;
    const text = body.toString("utf8", start + skip, start + length);
    if (isJson && table.columnMasks[i] === undefined) return this.#maskJsonCell(result, text);
    const next = table.maskCell(i, text);
    return typeof next === "string" && isJson ? JSON.stringify(next) : next;
  }

  #cellStartsBuffer = new Int32Array(16);
  #cellLengths = new Int32Array(16);

  #cellStarts(count: number): Int32Array {
    if (this.#cellStartsBuffer.length < count) {
      this.#cellStartsBuffer = new Int32Array(count);
      this.#cellLengths = new Int32Array(count);
    }
    return this.#cellStartsBuffer;
  }

  #maskJsonCell(result: Result, text: string): string | undefined {
    const masker = result.plan.masker!;
    let masked: { text: string; counts: { values: number; byRule: Readonly<Record<string, number>> } };
    try {
      masked = masker.maskJsonText(text);
    } catch {
      // Not a document the JSON masker takes (too deep...): fall back to whole-text detection.
      masked = masker.maskText(text);
    }
    if (masked.counts.values === 0) return undefined;
    result.json.values += masked.counts.values;
    for (const [rule, n] of Object.entries(masked.counts.byRule)) {
      result.json.byRule[rule] = (result.json.byRule[rule] ?? 0) + n;
    }
    return masked.text;
  }

  #copyOut(body: Buffer): Buffer | undefined {
    this.#result = undefined;
    const plan = this.#currentPlan();
    if (plan?.masker === undefined) return undefined;
    const width = body.readInt16BE(1);
    const fields: FieldDescription[] = [];
    for (let i = 0; i < width; i++)
      fields.push({ name: `column${i + 1}`, tableOid: 0, attnum: 0, typeOid: 25, format: 0 });
    this.#start(plan, fields);
    const result = this.#result!;
    if (body[0] !== 0) return this.#fail(result, new Error("binary COPY cannot be masked"));
    result.copy = result.table.copyLines();
    return undefined;
  }

  #copyData(body: Buffer): Buffer | undefined {
    const result = this.#result;
    if (result?.copy === undefined || this.#dropping) return DROP;
    try {
      const out = result.copy.push(body.toString("utf8"));
      return out.length === 0 ? DROP : copyDataMessage(Buffer.from(out));
    } catch (error) {
      return this.#fail(result, error);
    }
  }

  #copyDone(): Buffer | undefined {
    const result = this.#result;
    if (result?.copy === undefined || this.#dropping) return this.#dropping ? DROP : undefined;
    try {
      const rest = result.copy.end();
      return rest.length === 0
        ? undefined
        : Buffer.concat([copyDataMessage(Buffer.from(rest)), Buffer.of(COPY_DONE, 0, 0, 0, 4)]);
    } catch (error) {
      return this.#fail(result, error);
    }
  }

  /** Ends the result with a native error in place of everything still to come of it. */
  #fail(result: Result, error: unknown): Buffer {
    result.failed = true;
    this.#dropping = true;
    this.#o.log(`masking: result ended: ${error instanceof Error ? error.message : "masking failed"}`);
    const message = "sluice: the result could not be masked, so the rest of it was withheld";
    this.#o.results?.finish(result.plan, { commandTag: null, error: { code: "XX000", message } });
    return errorResponse({ severity: "ERROR", code: "XX000", message });
  }

  #resultEnd(type: number, body: Buffer): Buffer | undefined {
    const dropped = this.#dropping;
    if (!dropped && type !== I) {
      const tag = type === C ? body.toString("utf8", 0, Math.max(0, body.indexOf(0))) : null;
      this.#o.results?.finish(this.#currentPlan(), { commandTag: tag, error: null });
    }
    this.#finish();
    const head = this.#queue[0];
    if (head?.kind === "query") head.index++;
    else if (head?.kind === "execute") this.#queue.shift();
    // The error that replaced the result already told the client; its completion is not sent.
    return dropped && type !== I ? DROP : undefined;
  }

  #finish(): void {
    const result = this.#result;
    this.#result = undefined;
    this.#dropping = false;
    if (result === undefined) return;
    const table = result.copy?.counts() ?? result.table.counts();
    const byRule: Record<string, number> = { ...table.byRule };
    for (const [rule, n] of Object.entries(result.json.byRule)) byRule[rule] = (byRule[rule] ?? 0) + n;
    this.#o.onCounts(result.plan, { values: table.values + result.json.values, byRule });
  }

  #error(body: Buffer): Buffer | undefined {
    const plan = this.#currentPlan();
    const dropped = this.#dropping;
    this.#finish();
    const head = this.#queue[0];
    if (head?.kind === "query") {
      head.index = head.statements.length; // the rest of the query does not run
    } else {
      // Extended protocol: the server skips everything up to the next Sync.
      while (this.#queue.length > 0 && this.#queue[0]!.kind !== "sync") this.#queue.shift();
    }
    if (dropped) return DROP;
    const replaced = this.#maskServerText(body, plan, errorResponse);
    if (this.#o.results !== undefined) {
      const fields = parseErrorFields(replaced === undefined ? body : replaced.subarray(5));
      const error = { code: fields.get("C") ?? "XX000", message: fields.get("M") ?? "" };
      this.#o.results.finish(plan, { commandTag: null, error });
    }
    return replaced;
  }

  #notice(body: Buffer): Buffer | undefined {
    return this.#maskServerText(body, this.#currentPlan(), noticeResponse);
  }

  /** Error and notice texts: withheld when the statement touches masked data, else scanned. */
  #maskServerText(
    body: Buffer,
    plan: StatementPlan | undefined,
    build: (fields: ErrorFields) => Buffer,
  ): Buffer | undefined {
    const fields = parseErrorFields(body);
    const code = fields.get("C") ?? "XX000";
    const masker = plan?.masker ?? this.#o.sessionMasker;
    const sensitive = plan?.sensitive === true;
    const keep = !sensitive || SAFE_ERROR_CLASSES.has(code.slice(0, 2));
    const scan = (text: string | undefined): string | undefined =>
      text === undefined ? undefined : masker.maskText(text).text;
    const message = keep
      ? (scan(fields.get("M")) ?? "")
      : "sluice: the server's message was withheld because the statement touches masked data";
    const original = fields.get("M") ?? "";
    const detail = sensitive ? undefined : scan(fields.get("D"));
    const hint = sensitive ? undefined : scan(fields.get("H"));
    if (
      !sensitive &&
      message === original &&
      detail === fields.get("D") &&
      hint === fields.get("H") &&
      !fields.has("W") &&
      !fields.has("q")
    ) {
      return undefined;
    }
    const severity = (fields.get("V") ?? fields.get("S") ?? "ERROR") as ErrorFields["severity"];
    return build({
      severity,
      code,
      message,
      ...(detail === undefined ? {} : { detail }),
      ...(hint === undefined ? {} : { hint }),
    });
  }

  /** NOTIFY payloads come from any session: every mask rule of this one applies. */
  #notification(body: Buffer): Buffer | undefined {
    const channelEnd = body.indexOf(0, 4);
    const payloadEnd = body.indexOf(0, channelEnd + 1);
    if (channelEnd < 0 || payloadEnd < 0) return undefined;
    const payload = body.toString("utf8", channelEnd + 1, payloadEnd);
    const masker = this.#o.sessionMasker;
    let masked: string;
    try {
      masked =
        masker.hasColumnRules && /^\s*[[{]/.test(payload)
          ? masker.maskJsonText(payload).text
          : masker.maskText(payload).text;
    } catch {
      masked = masker.maskText(payload).text;
    }
    if (masked === payload) return undefined;
    const head = body.subarray(0, channelEnd + 1);
    const payloadBytes = Buffer.from(`${masked}\0`);
    const out = Buffer.allocUnsafe(5 + head.length + payloadBytes.length);
    out[0] = A;
    out.writeInt32BE(4 + head.length + payloadBytes.length, 1);
    head.copy(out, 5);
    payloadBytes.copy(out, 5 + head.length);
    return out;
  }

  #readyForQuery(): void {
    this.#finish();
    // Everything up to and including this segment's end is answered.
    while (this.#queue.length > 0) {
      const head = this.#queue.shift()!;
      if (head.kind === "sync" || head.kind === "query") break;
    }
  }
}

/** Per result column, the origins of the output it comes from; undefined when `*` cannot be expanded. */
function alignOutputs(outputs: readonly Output[], width: number, catalog: PgCatalog): Origins[] | undefined {
  const aligned: Origins[] = [];
  for (const output of outputs) {
    if (output.star === undefined) {
      aligned.push(catalog.origins(output.refs));
      continue;
    }
    for (const source of output.star) {
      if (source.kind === "relation") {
        const [relation, ...others] = catalog.byName(source.relation);
        if (relation === undefined || others.length > 0) return undefined;
        for (const column of relation.columns) aligned.push(catalog.columnOrigins(relation, column.attnum));
        continue;
      }
      if (source.outputs === undefined || source.outputs.some((o) => o.star !== undefined)) return undefined;
      for (const o of source.outputs) aligned.push(catalog.origins(o.refs));
    }
  }
  return aligned.length === width ? aligned : undefined;
}

/** Encodes replacement values, remembering a few (the redact token repeats on every row). */
function replacementEncoder(): (text: string) => Buffer {
  const cache = new Map<string, Buffer>();
  return (text) => {
    let bytes = cache.get(text);
    if (bytes === undefined) {
      bytes = Buffer.from(text, "utf8");
      if (cache.size < 16) cache.set(text, bytes);
    }
    return bytes;
  };
}

/**
 * Copies bytes and returns the end offset in `to`. Cells are short: a plain loop avoids the typed
 * array `Buffer#copy` creates for a partial source, which costs more than the copy itself.
 */
function copyBytes(from: Buffer, start: number, end: number, to: Buffer, at: number): number {
  if (end - start > 64) return at + from.copy(to, at, start, end);
  for (let i = start; i < end; i++) to[at++] = from[i]!;
  return at;
}
