import type { Node } from 'libpg-query';
import { as, calledFunctions, collect, rangeVars, relOf, relOfNames, strings, type RelName } from './ast';
import type { Catalog } from './catalog';
import { sizeText } from './format';
import type { Parser } from './parser';
import { PlanState } from './planState';
import { ruleById, RULES, type Rule } from './rules';
import type { Hit, StatementContext } from './rules/rule';
import type { Level } from './ruleIds';
import type { ReviewSettings } from './settings';
import type { Finding, ReviewInput, RevisionReview, TableSize } from './types';
import { waiverCovers } from './waivers';

/** A statement after parsing: its tree (or the parser's error), and where it is in the file. */
export interface ParsedUnit {
  sql: string;
  /** Line of its first token (after leading comments). */
  line: number;
  endLine: number;
  node?: Node;
  error?: { message: string; line: number };
  insideDo: boolean;
}

export interface ParsedInput {
  input: ReviewInput;
  units: ParsedUnit[];
}

const STATEMENT_TEXT_MAX = 400;

export function parseInputs(inputs: ReviewInput[], parser: Parser): ParsedInput[] {
  return inputs.map((input) => {
    const batch = parser.parseMany(input.statements.map((statement) => statement.sql));
    return { input, units: input.statements.flatMap((statement, i) => parseStatement(statement.sql, statement.line, parser, batch?.[i])) };
  });
}

function parseStatement(sql: string, line: number, parser: Parser, parsedAlready?: Node[]): ParsedUnit[] {
  const lead = leadingTrivia(sql);
  const codeLine = line + newlines(sql, 0, lead);
  const endLine = line + newlines(sql, 0, sql.length);
  const units: ParsedUnit[] = [];
  const results = parsedAlready ? parsedAlready.map((stmt) => ({ ok: true as const, stmt })) : parser.parseOne(sql);
  for (const parsed of results) {
    if (!parsed.ok) {
      units.push({ sql, line: codeLine, endLine, insideDo: false, error: { message: parsed.message, line: line + newlines(sql, 0, parsed.position ?? lead) } });
      continue;
    }
    units.push({ sql, line: codeLine, endLine, node: parsed.stmt, insideDo: false });
    if (as(parsed.stmt, 'DoStmt')) units.push(...doBlockUnits(sql, line, endLine, parser));
  }
  return units;
}

/** The statements of a DO block's body, each at its own line of the file. */
function doBlockUnits(sql: string, line: number, endLine: number, parser: Parser): ParsedUnit[] {
  const open = /\$([A-Za-z_][A-Za-z0-9_]*)?\$|'/.exec(sql.slice(leadingTrivia(sql)));
  const bodyLine = line + newlines(sql, 0, leadingTrivia(sql) + (open?.index ?? 0));
  return parser.plpgsqlStatements(sql).flatMap((inner) =>
    parser.parseOne(inner.sql).flatMap((parsed): ParsedUnit[] => {
      if (!parsed.ok) return [];
      const at = Math.min(endLine, bodyLine + inner.lineno - 1);
      return [{ sql: inner.sql, line: at, endLine: at, node: parsed.stmt, insideDo: true }];
    }),
  );
}

/** Relations and functions the statements name: what the live catalog is asked about. */
export function namesToLookUp(parsed: ParsedInput[]): { relations: RelName[]; functions: string[] } {
  const relations: RelName[] = [];
  const functions = new Set<string>();
  for (const { units } of parsed) {
    for (const unit of units) {
      if (!unit.node) continue;
      for (const rv of rangeVars(unit.node)) {
        const rel = relOf(rv);
        if (rel) relations.push(rel);
      }
      const drop = as(unit.node, 'DropStmt');
      if (drop && (drop.removeType === 'OBJECT_TABLE' || drop.removeType === 'OBJECT_INDEX')) {
        for (const object of drop.objects ?? []) {
          const rel = relOfNames(strings(as(object, 'List')?.items));
          if (rel) relations.push(rel);
        }
      }
      for (const column of collect<{ constraints?: Node[] }>(unit.node, 'ColumnDef')) {
        for (const c of column.constraints ?? []) {
          const constraint = as(c, 'Constraint');
          if (constraint?.contype === 'CONSTR_DEFAULT') for (const fn of calledFunctions(constraint.raw_expr)) functions.add(fn);
        }
      }
    }
  }
  return { relations, functions: [...functions] };
}

const ORDER: Level[] = ['info', 'warning', 'error'];
const shift = (level: Level, by: number): Level => ORDER[Math.max(0, Math.min(2, ORDER.indexOf(level) + by))]!;

/** Runs every rule over the plan in order, then applies sizes, configuration and waivers. */
export function runRules(parsed: ParsedInput[], catalog: Catalog, settings: ReviewSettings): RevisionReview[] {
  const plan = new PlanState();
  const configured = settings.rules as Partial<Record<string, Level | 'off'>>;
  const enabled = (rule: Rule) => configured[rule.id] !== 'off';
  const reviews: RevisionReview[] = [];
  for (const { input, units } of parsed) {
    const findings: Finding[] = [];
    const finding = (rule: Rule, hit: Hit, unit: { sql: string; line: number }, line = unit.line): void => {
      let size: TableSize | undefined;
      if (hit.table && (rule.sizeAware || rule.newTableSafe)) {
        if (plan.isNew(hit.table)) return;
        const known = catalog.table(hit.table);
        // Connected and the table is not there: the plan creates it (or the statement fails anyway).
        if (known === null) return;
        size = known;
      }
      let level: Level = (configured[rule.id] as Level | undefined) ?? hit.level ?? rule.level;
      if (rule.sizeAware && size) {
        const large = (size.rows ?? 0) >= settings.large_table_rows || size.bytes >= settings.large_table_bytes;
        const small = (size.rows ?? 0) < settings.small_table_rows && size.bytes < settings.small_table_bytes;
        if (large) level = shift(level, 1);
        else if (small) level = shift(level, -1);
      }
      const waiver = input.waivers.find((w) => w.reason && waiverCovers(w, rule.id, line));
      findings.push({
        rule: rule.id,
        level,
        revision: input.revision,
        direction: input.direction,
        file: input.file,
        line,
        message: `${hit.message}${size ? ` (${sizeText(size)})` : ''}: ${hit.effect ?? rule.effect}`,
        lock: rule.lock || undefined,
        safe: rule.safe,
        statement: unit.sql.length > STATEMENT_TEXT_MAX ? `${unit.sql.slice(0, STATEMENT_TEXT_MAX)}…` : unit.sql,
        table: size?.name ?? (hit.table ? [hit.table.schema, hit.table.name].filter(Boolean).join('.') : undefined),
        size,
        waived: waiver ? { reason: waiver.reason!, line: waiver.line } : undefined,
      });
    };

    const syntax = ruleById('sql/syntax-error');
    for (const unit of units) {
      if (unit.error) {
        if (enabled(syntax)) finding(syntax, { message: `the PostgreSQL parser rejects this statement: ${unit.error.message}` }, unit, unit.error.line);
        continue;
      }
      const context: StatementContext = {
        node: unit.node!,
        sql: unit.sql,
        revision: input.revision,
        direction: input.direction,
        inTransaction: input.transactional || unit.insideDo,
        transactionalRevision: input.transactional,
        insideDo: unit.insideDo,
        catalog,
        plan,
      };
      for (const rule of RULES) {
        if (!enabled(rule) || (rule.directions && !rule.directions.includes(input.direction))) continue;
        for (const hit of rule.check(context)) finding(rule, hit, unit);
      }
      plan.observe(unit.node!, input.revision);
    }
    const missingReason = ruleById('waiver/missing-reason');
    if (enabled(missingReason)) {
      for (const waiver of input.waivers.filter((w) => !w.reason)) {
        finding(missingReason, { message: `waiver of ${waiver.rules.join(', ')} gives no reason` }, { sql: `mutx-ops: allow ${waiver.rules.join(', ')}`, line: waiver.line });
      }
    }
    findings.sort((a, b) => a.line - b.line);
    reviews.push({ revision: input.revision, message: input.message, file: input.file, direction: input.direction, transactional: input.transactional, statements: input.statements, findings });
  }
  return reviews;
}

/** Offset of the first character that is neither whitespace nor part of a comment. */
export function leadingTrivia(sql: string): number {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i]!)) i++;
    if (sql.startsWith('--', i)) {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? sql.length : eol + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else return i;
  }
}

function newlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to && i < text.length; i++) if (text.charCodeAt(i) === 10) count++;
  return count;
}
