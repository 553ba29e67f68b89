import fs from 'node:fs';
import { LineCounter, parseDocument, isNode, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { MutxError, type ErrorKind } from './errors';

/**
 * Reads a YAML file and validates it against a zod schema. Every problem is reported as
 * `file:line: field: message`, so the operator can go straight to the line.
 */
export function loadYamlFile<T>(file: string, schema: z.ZodType<T>, kind: ErrorKind, what: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new MutxError(kind, `${file}: cannot read ${what}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return parseYamlText(text, file, schema, kind, what);
}

export function parseYamlText<T>(text: string, file: string, schema: z.ZodType<T>, kind: ErrorKind, what: string): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const firstError = doc.errors[0];
  if (firstError) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    throw new MutxError(kind, `${file}:${line}: invalid YAML in ${what}: ${firstError.message.split('\n')[0]}`, {
      hint: 'fix the syntax at that line',
    });
  }
  let value: unknown;
  try {
    // Aliases are bounded: a "billion laughs" file must not expand into gigabytes.
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const line = firstAliasLine(doc, lineCounter);
    throw new MutxError(kind, `${file}:${line}: ${what}: ${error instanceof Error ? error.message.split('\n')[0]!.slice(0, 120) : 'cannot be read'} (aliases expand to more than ${MAX_ALIAS_COUNT} nodes)`, {
      hint: 'write the values out instead of nesting aliases',
    });
  }
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const line = lineOfPath(doc, lineCounter, issue.path as (string | number)[]);
    const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw new MutxError(kind, `${file}:${line}: ${what} field "${field}": ${issue.message}`, {
      hint: 'fix that field and run again',
      details: { file, line, field },
    });
  }
  return result.data;
}

const MAX_ALIAS_COUNT = 100;

function firstAliasLine(doc: Document, lineCounter: LineCounter): number {
  let line = 1;
  visit(doc, {
    Alias(_key, node) {
      if (node.range) line = lineCounter.linePos(node.range[0]).line;
      return visit.BREAK;
    },
  });
  return line;
}

/** The line of the deepest existing node on `path` (1-based); 1 when nothing matches. */
export function lineOfPath(doc: Document, lineCounter: LineCounter, path: (string | number)[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}
