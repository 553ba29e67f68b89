import type { Rule } from './rule';

/** Reported by the engine itself (no statement check): a statement PostgreSQL's parser rejects. */
export const syntaxError: Rule = {
  id: 'sql/syntax-error',
  title: 'a statement PostgreSQL’s parser rejects',
  level: 'error',
  lock: '',
  effect: 'the server rejects it too: the migration fails at this statement',
  safe: 'fix the statement; `mutx-ops review` parses with the same parser the server uses',
  why: 'mutx-ops parses every statement with PostgreSQL’s own parser (libpg_query). A statement it rejects will be rejected by the server as well, after the statements before it have run — in a non-transactional migration that leaves the migration half-applied.',
  example: { bad: 'CREATE TABEL agents (id int);', good: 'CREATE TABLE agents (id int);' },
  check: () => [],
};

/** Reported by the engine for a waiver comment that gives no reason. */
export const waiverMissingReason: Rule = {
  id: 'waiver/missing-reason',
  title: 'a waiver without a reason',
  level: 'warning',
  lock: '',
  effect: 'the waiver is ignored: the finding it names still counts',
  safe: 'say why after a second `--`: `-- mutx-ops: allow lock/index-not-concurrent -- lookup table, 40 rows`',
  why: 'A waiver is a decision someone made about a risk; the next reader (often the on-call engineer at the worst moment) needs to know why. A waiver without its reason does not waive anything.',
  example: { bad: 'CREATE INDEX agents_name_idx ON agents (name); -- mutx-ops: allow lock/index-not-concurrent', good: 'CREATE INDEX agents_name_idx ON agents (name); -- mutx-ops: allow lock/index-not-concurrent -- 40 rows, lookup table' },
  check: () => [],
};
