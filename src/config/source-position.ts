import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from "yaml";

/** A 1-based line and column in the configuration file. */
export interface SourcePosition {
  readonly line: number;
  readonly col: number;
}

export type IssuePath = readonly PropertyKey[];

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `["connections", 0, "target", "port"]` → `connections[0].target.port`. */
export function formatPath(path: IssuePath): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (typeof segment === "string" && IDENTIFIER.test(segment))
      text += text === "" ? segment : `.${segment}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
}

/**
 * Finds where `path` is written: the key of a map entry, the item of a list, or, when the path
 * leads to a key that is missing, the map that should hold it.
 */
export function locatePath(doc: Document, lineCounter: LineCounter, path: IssuePath): SourcePosition {
  let node: Node | undefined = deref(doc, doc.contents);
  // What to point at for the node reached so far: its key in a map, itself in a list.
  let mark: Node | undefined = node;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (pair === undefined) return positionOf(lineCounter, node);
      mark = isScalar(pair.key) ? pair.key : node;
      node = deref(doc, pair.value);
    } else if (isSeq(node)) {
      const item = typeof segment === "number" ? deref(doc, node.items[segment]) : undefined;
      if (item === undefined) return positionOf(lineCounter, node);
      mark = item;
      node = item;
    } else {
      // A scalar or empty value where a map or list was expected: point at its key.
      break;
    }
  }
  return positionOf(lineCounter, mark);
}

function deref(doc: Document, value: unknown): Node | undefined {
  if (isAlias(value)) return deref(doc, value.resolve(doc));
  if (isMap(value) || isSeq(value) || isScalar(value)) return value;
  return undefined;
}

function positionOf(lineCounter: LineCounter, node: Node | undefined): SourcePosition {
  const offset = node?.range?.[0];
  return offset === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset);
}
