import { splitSqlStatements } from '../sql/sqlSplit';

/**
 * An Alembic revision file that runs SQL with op.execute(), one call per statement (inside an
 * autocommit block when it cannot run in a transaction): how a drill's injected revision is
 * written for an Alembic project.
 */
export function revisionSource(revision: { revision: string; message: string; revises: string[]; upgrade: string; downgrade: string; transactional: boolean; created?: string }): string {
  const body = (sql: string) => {
    const calls = splitSqlStatements(sql).map((statement) => `op.execute(${pythonSql(statement.sql)})`);
    if (calls.length === 0) return ['    pass'];
    if (revision.transactional) return calls.map((call) => `    ${call}`);
    return ['    with op.get_context().autocommit_block():', ...calls.map((call) => `        ${call}`)];
  };
  const { revises } = revision;
  return [
    `"""${revision.message.replace(/"/g, "'").replace(/\\/g, '/')}`,
    '',
    `Revision ID: ${revision.revision}`,
    `Revises: ${revises.join(', ')}`,
    ...(revision.created ? [`Create Date: ${revision.created}`] : []),
    '',
    '"""',
    'from alembic import op',
    '',
    `revision = ${JSON.stringify(revision.revision)}`,
    `down_revision = ${revises.length === 0 ? 'None' : revises.length === 1 ? JSON.stringify(revises[0]) : `(${revises.map((id) => JSON.stringify(id)).join(', ')})`}`,
    'branch_labels = None',
    'depends_on = None',
    '',
    '',
    'def upgrade():',
    ...body(revision.upgrade),
    '',
    '',
    'def downgrade():',
    ...body(revision.downgrade),
    '',
  ].join('\n');
}

/** One op.execute() argument: a Python string literal, colons escaped from SQLAlchemy's bind parameters. */
function pythonSql(sql: string): string {
  return JSON.stringify(sql.replace(/(?<![:\\\w]):(?=\w)/g, '\\:'));
}
