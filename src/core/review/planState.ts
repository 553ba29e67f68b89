import type { Node } from 'libpg-query';
import { as, collect, relOf, relOfNames, sameRel, strings, type RelName } from './ast';

/**
 * What the statements reviewed so far did, in plan order: the tables and indexes they created
 * (a hazard needs data, and a table this plan creates has none yet), and the NOT VALID checks
 * they added and validated (the safe road to SET NOT NULL).
 */
export class PlanState {
  private readonly created: RelName[] = [];
  /** NOT VALID `CHECK (col IS NOT NULL)` constraints by name. */
  private readonly notNullChecks = new Map<string, { table: RelName; column: string; revision: string }>();
  private readonly validatedNotNull: { table: RelName; column: string }[] = [];
  /** Constraints added NOT VALID, by name, with the revision that added them. */
  private readonly notValid = new Map<string, { table: RelName; revision: string; kind?: string }>();

  isNew(rel: RelName): boolean {
    return this.created.some((created) => sameRel(created, rel));
  }

  hasValidatedNotNull(table: RelName, column: string): boolean {
    return this.validatedNotNull.some((v) => v.column === column && sameRel(v.table, table));
  }

  /** The revision that added this constraint NOT VALID, when it was this plan. */
  notValidAddedIn(name: string): string | undefined {
    return this.notValid.get(name)?.revision;
  }

  constraintKind(name: string): string | undefined {
    return this.notValid.get(name)?.kind;
  }

  observe(node: Node, revision: string): void {
    const create = as(node, 'CreateStmt');
    if (create) this.add(relOf(create.relation));
    const createAs = as(node, 'CreateTableAsStmt');
    if (createAs) this.add(relOf(createAs.into?.rel));
    const index = as(node, 'IndexStmt');
    if (index?.idxname && this.isNew(relOf(index.relation) ?? { name: '' })) this.add({ schema: index.relation?.schemaname, name: index.idxname });
    const alter = as(node, 'AlterTableStmt');
    const table = relOf(alter?.relation);
    if (alter && table) {
      for (const cmdNode of alter.cmds ?? []) {
        const cmd = as(cmdNode, 'AlterTableCmd');
        if (!cmd) continue;
        const constraint = as(cmd.def, 'Constraint');
        if (cmd.subtype === 'AT_AddConstraint' && constraint?.skip_validation && constraint.conname) {
          this.notValid.set(constraint.conname, { table, revision, kind: constraint.contype });
          const column = constraint.contype === 'CONSTR_CHECK' ? notNullColumn(constraint.raw_expr) : undefined;
          if (column) this.notNullChecks.set(constraint.conname, { table, column, revision });
        }
        if (cmd.subtype === 'AT_ValidateConstraint' && cmd.name) {
          const check = this.notNullChecks.get(cmd.name);
          if (check) this.validatedNotNull.push({ table, column: check.column });
        }
      }
    }
    const rename = as(node, 'RenameStmt');
    if (rename?.renameType === 'OBJECT_TABLE' && rename.newname) {
      const from = relOf(rename.relation);
      if (from && this.isNew(from)) this.add({ schema: from.schema, name: rename.newname });
    }
    const drop = as(node, 'DropStmt');
    if (drop?.removeType === 'OBJECT_TABLE') {
      for (const object of drop.objects ?? []) {
        const rel = relOfNames(strings(as(object, 'List')?.items));
        if (rel) this.remove(rel);
      }
    }
  }

  private add(rel: RelName | undefined): void {
    if (rel) this.created.push(rel);
  }

  private remove(rel: RelName): void {
    const at = this.created.findIndex((c) => sameRel(c, rel));
    if (at !== -1) this.created.splice(at, 1);
  }
}

/** `col IS NOT NULL` → col. */
export function notNullColumn(expr: Node | undefined): string | undefined {
  const test = as(expr, 'NullTest');
  if (!test || test.nulltesttype !== 'IS_NOT_NULL') return undefined;
  const fields = collect<Node[]>(test.arg, 'fields')[0];
  const names = strings(fields);
  return names.length ? names[names.length - 1] : undefined;
}
