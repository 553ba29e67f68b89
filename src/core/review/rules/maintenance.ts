import { as, hasOption, relOf, relText } from '../ast';
import type { Hit, Rule } from './rule';

export const vacuumFull: Rule = {
  id: 'lock/vacuum-full',
  title: 'VACUUM FULL',
  level: 'error',
  sizeAware: true,
  lock: 'ACCESS EXCLUSIVE on each table it rewrites: every read and write waits',
  effect: 'rewrites the table under ACCESS EXCLUSIVE: reads and writes wait until it ends',
  safe: 'plain VACUUM (no exclusive lock) outside migrations, or pg_repack / pg_squeeze to compact a table online',
  why: 'VACUUM FULL writes a new copy of the table and its indexes and needs ACCESS EXCLUSIVE for all of it, so the table is unavailable for the duration; it also needs free disk for the copy. It cannot run inside a transaction either. Space reclamation belongs in maintenance, not in a schema migration.',
  example: { bad: 'VACUUM FULL events;', good: 'VACUUM (ANALYZE) events;', goodHeader: '-- transactional: false' },
  check: (s) => {
    const vacuum = as(s.node, 'VacuumStmt');
    if (!vacuum?.is_vacuumcmd || !hasOption(vacuum.options, 'full')) return [];
    const rels = (vacuum.rels ?? []).flatMap((node) => {
      const rel = relOf(as(node, 'VacuumRelation')?.relation);
      return rel ? [rel] : [];
    });
    if (rels.length === 0) return [{ message: 'VACUUM FULL of the whole database: every table is rewritten under ACCESS EXCLUSIVE' }];
    return rels.map((table): Hit => ({ message: `VACUUM FULL ${relText(table)}`, table }));
  },
};

export const cluster: Rule = {
  id: 'lock/cluster',
  title: 'CLUSTER',
  level: 'error',
  sizeAware: true,
  lock: 'ACCESS EXCLUSIVE on the table while it is rewritten in index order: every read and write waits',
  effect: 'rewrites the table under ACCESS EXCLUSIVE: reads and writes wait until it ends',
  safe: 'pg_repack (online) outside migrations; the physical order of a table is not schema',
  why: 'CLUSTER rewrites the table sorted by an index, holding ACCESS EXCLUSIVE throughout, and the order decays again with later writes. There is no concurrent form; tools like pg_repack do the same online.',
  example: { bad: 'CLUSTER events USING events_created_idx;', good: 'ANALYZE events;' },
  check: (s) => {
    const stmt = as(s.node, 'ClusterStmt');
    if (!stmt) return [];
    const table = relOf(stmt.relation);
    return [table ? { message: `CLUSTER ${relText(table)}`, table } : { message: 'CLUSTER of every previously clustered table' }];
  },
};
