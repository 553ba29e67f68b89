import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/db';
import { createDifferentialProjects, parseGraph, runAlembicCommand, runSqlEngine } from './helpers/differential';

// The SQL-file engine resolves targets the way Alembic 1.8 does: each case of the issue's
// differential run, as a reproduction run by both on two databases.
let ours: TestDatabase;
let theirs: TestDatabase;

beforeAll(async () => {
  [ours, theirs] = await Promise.all([createTestDatabase('mutx_sqlsem'), createTestDatabase('mutx_sqlsem_ref')]);
});
afterAll(async () => {
  await Promise.all([ours.drop(), theirs.drop()]);
});
beforeEach(async () => {
  for (const db of [ours, theirs]) await db.query('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS mutx_ops CASCADE; CREATE SCHEMA public;');
});

async function agree(graph: string, commands: string[][], expected: { rows: string[]; failsLast?: boolean }) {
  const projects = createDifferentialProjects(parseGraph(graph));
  try {
    for (const [index, command] of commands.entries()) {
      const [mine, reference] = await Promise.all([runSqlEngine(projects, ours, command), runAlembicCommand(projects, theirs, command)]);
      const what = `${command.join(' ')} on ${graph}\nmutx-ops: ${mine.output}\nalembic: ${reference.output}`;
      expect(mine.ok, what).toBe(reference.ok);
      expect(mine.rows, what).toEqual(reference.rows);
      expect(mine.tables, what).toEqual(reference.tables);
      if (index === commands.length - 1) {
        expect(mine.rows, what).toEqual(expected.rows);
        expect(!mine.ok, what).toBe(Boolean(expected.failsLast));
      }
    }
  } finally {
    projects.cleanup();
  }
}

describe('the SQL-file engine means what Alembic means', () => {
  it('upgrade +N walks up from the current revision, not to any pending root', async () => {
    await agree('a <- base; b <- a; c <- base', [['upgrade', 'a'], ['upgrade', '+1']], { rows: ['b'] });
  });

  it('upgrade +N with no child above the current head fails (no other branch is taken)', async () => {
    await agree('a <- base; b <- base', [['upgrade', 'a'], ['upgrade', '+1']], { rows: ['a'], failsLast: true });
  });

  it('upgrade +N reaching a merge applies the merge with its other parent', async () => {
    await agree('a <- base; b <- a; c <- a; m <- b, c', [['upgrade', 'b'], ['upgrade', '+1']], { rows: ['m'] });
  });

  it('upgrade +N from several current heads is ambiguous', async () => {
    await agree('a <- base; b <- a; c <- a; m <- b, c', [['upgrade', 'b'], ['upgrade', 'c'], ['upgrade', '+1']], { rows: ['b', 'c'], failsLast: true });
  });

  it('downgrade REV-N may step down to base', async () => {
    await agree('a <- base; b <- a', [['upgrade', 'b'], ['downgrade', 'b-2']], { rows: [] });
  });

  it('stamp REV keeps the heads of other branches', async () => {
    await agree('a <- base; b <- base', [['upgrade', 'a'], ['stamp', 'b']], { rows: ['a', 'b'] });
  });

  it('stamp REV replaces the rows on its own lineage, above or below it', async () => {
    await agree('a <- base; b <- a; c <- b; d <- base', [['upgrade', 'c'], ['upgrade', 'd'], ['stamp', 'a']], { rows: ['a', 'd'] });
  });
});
