import { as, hasOption, relOf, relOfNames, relText, strings } from '../ast';
import type { Rule } from './rule';

export const indexNotConcurrent: Rule = {
  id: 'lock/index-not-concurrent',
  title: 'CREATE INDEX without CONCURRENTLY on an existing table',
  level: 'warning',
  sizeAware: true,
  lock: 'SHARE on the table: INSERT, UPDATE and DELETE wait (reads go on) until the index is built',
  effect: 'blocks writes until the index is built',
  safe: 'CREATE INDEX CONCURRENTLY in a migration marked `-- transactional: false` (one index per file, with `DROP INDEX CONCURRENTLY IF EXISTS` as its downgrade)',
  why: 'A plain CREATE INDEX reads the whole table while holding a SHARE lock, so every writer queues behind it for as long as the build takes — seconds on a small table, many minutes on a large one, and the application times out meanwhile. CONCURRENTLY builds the index in two passes under a SHARE UPDATE EXCLUSIVE lock that lets writes continue; it cannot run inside a transaction, so the migration must be non-transactional, and a failed build leaves an INVALID index that the downgrade drops.',
  example: {
    bad: 'CREATE INDEX events_created_idx ON events (created_at);',
    good: 'CREATE INDEX CONCURRENTLY events_created_idx ON events (created_at);',
    goodHeader: '-- transactional: false',
  },
  check: (s) => {
    const index = as(s.node, 'IndexStmt');
    const table = relOf(index?.relation);
    if (!index || !table || index.concurrent) return [];
    return [{ message: `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${index.idxname ?? ''} on ${relText(table)} without CONCURRENTLY`.replace('  ', ' '), table }];
  },
};

export const dropIndexNotConcurrent: Rule = {
  id: 'lock/drop-index-not-concurrent',
  title: 'DROP INDEX without CONCURRENTLY',
  level: 'warning',
  sizeAware: true,
  lock: "ACCESS EXCLUSIVE on the index's table: every read and write of the table waits",
  effect: 'blocks reads and writes of the table while it waits for and takes its lock',
  safe: 'DROP INDEX CONCURRENTLY IF EXISTS in a migration marked `-- transactional: false`',
  why: "DROP INDEX itself is quick, but it needs an ACCESS EXCLUSIVE lock on the index's table. If a long query holds any lock on the table, the DROP waits — and every query that arrives after it waits behind the DROP, so a busy table stops answering. DROP INDEX CONCURRENTLY waits for the running transactions without blocking new ones.",
  example: {
    bad: 'DROP INDEX events_created_idx;',
    good: 'DROP INDEX CONCURRENTLY IF EXISTS events_created_idx;',
    goodHeader: '-- transactional: false',
  },
  check: (s) => {
    const drop = as(s.node, 'DropStmt');
    if (!drop || drop.removeType !== 'OBJECT_INDEX' || drop.concurrent) return [];
    return (drop.objects ?? []).flatMap((object) => {
      const index = relOfNames(strings(as(object, 'List')?.items));
      return index ? [{ message: `DROP INDEX ${relText(index)} without CONCURRENTLY`, table: index }] : [];
    });
  },
};

export const reindexNotConcurrent: Rule = {
  id: 'lock/reindex-not-concurrent',
  title: 'REINDEX without CONCURRENTLY',
  level: 'warning',
  sizeAware: true,
  lock: 'SHARE on the table (writes wait) and ACCESS EXCLUSIVE on each index (queries that would use it wait)',
  effect: 'blocks writes, and reads that use the index, until the rebuild ends',
  safe: 'REINDEX … CONCURRENTLY (PostgreSQL 12+) in a migration marked `-- transactional: false`, or outside migrations altogether',
  why: 'REINDEX rebuilds the index from scratch while holding locks that stop writers and any query planned to use the index. REINDEX CONCURRENTLY builds a new copy next to the old one and swaps them, taking only brief strong locks; like CREATE INDEX CONCURRENTLY it cannot run inside a transaction.',
  example: { bad: 'REINDEX INDEX events_created_idx;', good: 'REINDEX INDEX CONCURRENTLY events_created_idx;', goodHeader: '-- transactional: false' },
  check: (s) => {
    const reindex = as(s.node, 'ReindexStmt');
    if (!reindex || hasOption(reindex.params, 'concurrently')) return [];
    const rel = relOf(reindex.relation);
    if (reindex.kind === 'REINDEX_OBJECT_INDEX' || reindex.kind === 'REINDEX_OBJECT_TABLE') {
      return rel ? [{ message: `REINDEX ${reindex.kind === 'REINDEX_OBJECT_INDEX' ? 'INDEX' : 'TABLE'} ${relText(rel)} without CONCURRENTLY`, table: rel }] : [];
    }
    return [{ message: `REINDEX ${reindex.kind?.replace('REINDEX_OBJECT_', '') ?? ''} ${reindex.name ?? ''} without CONCURRENTLY: every index of it is rebuilt under lock`.replace(/\s+/g, ' ') }];
  },
};
