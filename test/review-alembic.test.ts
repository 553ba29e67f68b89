import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, REPO_ROOT, runCli, type TestDatabase } from './helpers/db';

/**
 * `mutx-ops review` on an Alembic project (test/fixtures/alembic-app, run by real Alembic): the
 * offline SQL of exactly the plan, cut per revision, reviewed, and each finding mapped back to its
 * revision's .py file and `def upgrade()` / `def downgrade()`; `# mutx-ops: allow` waivers.
 */
let db: TestDatabase;
let dir: string;

const REVISION = `"""rename agents.name, index users.email

Revision ID: r9review0001
Revises: head_0012
Create Date: 2026-05-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

revision = 'r9review0001'
down_revision = 'head_0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # mutx-ops: allow compat/rename -- the app reads agents through a view since 1.4
    op.create_index('ix_users_email_lower', 'users', ['email'])
    op.alter_column('agents', 'name', new_column_name='display_name')
    op.execute("UPDATE users SET role = 'member'")
    op.execute("COMMIT")


def downgrade() -> None:
    op.alter_column('agents', 'display_name', new_column_name='name')
    op.drop_index('ix_users_email_lower', table_name='users')
`;

async function cli(...args: string[]) {
  const result = await runCli(['--database-url', db.url, ...args], { cwd: dir });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), all: String(result.all) };
}

beforeAll(async () => {
  db = await createTestDatabase('mutx_review_alembic');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutx-review-alembic-'));
  fs.cpSync(path.join(REPO_ROOT, 'test/fixtures/alembic-app'), dir, { recursive: true });
  const up = await cli('upgrade', 'heads');
  expect(up.exitCode, up.all).toBe(0);
  fs.writeFileSync(path.join(dir, 'src/api/models/migrations/versions/r9review0001_rename.py'), REVISION);
}, 120_000);

afterAll(async () => {
  await db?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Finding {
  rule: string;
  level: string;
  file: string;
  line: number;
  revision: string;
  waived?: { reason: string; line: number };
}

describe('review of Alembic revisions', () => {
  it('reviews the offline SQL of the plan, mapped to the revision file and its def upgrade()', async () => {
    const result = await cli('--json', 'review');
    const report = JSON.parse(result.stdout) as { revisions: { revision: string; file: string; statements: { sql: string }[]; findings: Finding[] }[] };
    expect(report.revisions.map((r) => r.revision)).toEqual(['r9review0001']);
    const revision = report.revisions[0]!;
    expect(revision.file).toMatch(/r9review0001_rename\.py$/);
    // Alembic's bookkeeping is not reviewed: no version-table statements.
    expect(revision.statements.map((s) => s.sql).join('\n')).not.toMatch(/alembic_version/);
    const byRule = Object.fromEntries(revision.findings.map((f) => [f.rule, f]));
    const defUpgrade = REVISION.split('\n').findIndex((line) => line.startsWith('def upgrade')) + 1;
    expect(byRule['lock/index-not-concurrent']).toMatchObject({ line: defUpgrade, revision: 'r9review0001' });
    expect(byRule['compat/rename']?.waived?.reason).toBe('the app reads agents through a view since 1.4');
    expect(byRule['data/update-without-where']).toBeDefined();
    // The revision's own COMMIT (not Alembic's) breaks the transaction: an error, exit 3.
    expect(byRule['tx/transaction-control']).toMatchObject({ level: 'error' });
    expect(result.exitCode).toBe(3);
  });

  it('reviews the downgrade at def downgrade(), and the waiver in upgrade() does not cover it', async () => {
    // mutx-ops refuses to run a revision that commits mutx-ops' transaction: apply it without that line
    // (a blank line keeps def downgrade() where it was).
    const file = path.join(dir, 'src/api/models/migrations/versions/r9review0001_rename.py');
    fs.writeFileSync(file, REVISION.replace('    op.execute("COMMIT")', ''));
    const up = await cli('upgrade', 'head');
    expect(up.exitCode, up.all).toBe(0);
    const result = await cli('--json', 'review', 'downgrade', '-1');
    const report = JSON.parse(result.stdout) as { revisions: { findings: Finding[] }[] };
    const defDowngrade = REVISION.split('\n').findIndex((line) => line.startsWith('def downgrade')) + 1;
    expect(report.revisions[0]!.findings.map((f) => [f.rule, f.line])).toEqual([['lock/drop-index-not-concurrent', defDowngrade]]);
    expect(result.exitCode).toBe(0);
  });
});
