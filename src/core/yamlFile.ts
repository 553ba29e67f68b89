import fs from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
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
  const result = schema.safeParse(doc.toJS() ?? {});
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

/** The line of the deepest existing node on `path` (1-based); 1 when nothing matches. */
export function lineOfPath(doc: Document, lineCounter: LineCounter, path: (string | number)[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}
