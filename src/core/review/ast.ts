import type { Node, RangeVar } from 'libpg-query';

/** Helpers over libpg_query's JSON parse tree (one key per node: `{ IndexStmt: {...} }`). */

export interface RelName {
  schema?: string;
  name: string;
}

export function nodeKind(node: Node): string {
  return Object.keys(node)[0] ?? '';
}

type NodeBody<K extends string> = Node extends infer N ? (N extends { [P in K]: infer B } ? B : never) : never;

/** The body of a node of a given kind, or undefined. */
export function as<K extends string>(node: Node | undefined, kind: K): NodeBody<K> | undefined {
  if (!node) return undefined;
  return (node as Record<string, unknown>)[kind] as never;
}

export function relOf(rv: RangeVar | undefined): RelName | undefined {
  if (!rv?.relname) return undefined;
  return { schema: rv.schemaname, name: rv.relname };
}

/** `["public", "events"]` (a DropStmt object, a qualified name list) as a relation. */
export function relOfNames(names: string[]): RelName | undefined {
  if (names.length === 0) return undefined;
  const name = names[names.length - 1]!;
  const schema = names.length >= 2 ? names[names.length - 2] : undefined;
  return { schema, name };
}

export function strings(nodes: Node[] | undefined): string[] {
  return (nodes ?? []).flatMap((node) => {
    const s = as(node, 'String');
    return s?.sval !== undefined ? [s.sval] : [];
  });
}

const PLAIN = /^[a-z_][a-z0-9_$]*$/;

/** An identifier as it would be written: bare when plain lowercase, double-quoted otherwise. */
export function quoteIdent(name: string): string {
  return PLAIN.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

export function relText(rel: RelName): string {
  return rel.schema ? `${quoteIdent(rel.schema)}.${quoteIdent(rel.name)}` : quoteIdent(rel.name);
}

/** Always quoted, for to_regclass: exact, whatever the case. */
export function relRegclass(rel: RelName): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return rel.schema ? `${q(rel.schema)}.${q(rel.name)}` : q(rel.name);
}

export function sameRel(a: RelName, b: RelName): boolean {
  return a.name === b.name && (a.schema === undefined || b.schema === undefined || a.schema === b.schema);
}

/** Every value of `key` anywhere below `node` (depth-first). */
export function collect<T>(node: unknown, key: string, out: T[] = []): T[] {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, key, out);
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) out.push(v as T);
      collect(v, key, out);
    }
  }
  return out;
}

/** Names of the functions an expression calls (last name part, lowercase as parsed). */
export function calledFunctions(expr: unknown): string[] {
  return collect<{ funcname?: Node[] }>(expr, 'FuncCall').map((call) => strings(call.funcname).at(-1) ?? '');
}

/** `DefElem` options such as `(CONCURRENTLY)`, `(FULL)`: true when the option is on. */
export function hasOption(options: Node[] | undefined, name: string): boolean {
  return (options ?? []).some((option) => {
    const def = as(option, 'DefElem');
    if (def?.defname?.toLowerCase() !== name) return false;
    if (!def.arg) return true;
    const value = as(def.arg, 'String')?.sval ?? as(def.arg, 'Boolean')?.boolval ?? as(def.arg, 'Integer')?.ival;
    return value === undefined || value === true || value === 1 || (typeof value === 'string' && ['on', 'true', '1', 'yes'].includes(value.toLowerCase()));
  });
}

/** A type name as written in the tree, e.g. `pg_catalog.varchar(50)` → `varchar(50)`. */
export function typeText(typeName: { names?: Node[]; typmods?: Node[]; arrayBounds?: Node[] } | undefined): string {
  if (!typeName) return '?';
  const names = strings(typeName.names).filter((n) => n !== 'pg_catalog');
  const mods = (typeName.typmods ?? []).map((m) => as(m, 'A_Const')?.ival?.ival ?? '?');
  return `${names.join('.')}${mods.length ? `(${mods.join(',')})` : ''}${typeName.arrayBounds?.length ? '[]' : ''}`;
}

/** Every RangeVar below `node`: a field like `relation` holds one unwrapped, a list wraps it as `{ RangeVar }`. */
export function rangeVars(node: unknown, out: RangeVar[] = []): RangeVar[] {
  if (Array.isArray(node)) {
    for (const item of node) rangeVars(item, out);
  } else if (node && typeof node === 'object') {
    if (typeof (node as RangeVar).relname === 'string') out.push(node as RangeVar);
    for (const value of Object.values(node)) rangeVars(value, out);
  }
  return out;
}
