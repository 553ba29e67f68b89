import { Box, Text } from 'ink';
import React, { useEffect, useMemo, useState } from 'react';
import { EnvironmentBanner } from '../components/TargetHeader';
import { Footer } from '../components/Footer';
import { Line } from '../components/Line';
import { SelectList } from '../components/SelectList';
import { useTerminalSize, useTheme } from '../context';
import { useScreenKeys } from '../help';
import { graphRows } from '../history/graph';
import { isUp } from '../keys';
import type { DowngradeSqlView, FindingLine, HistoryView, RevisionFindings, RevisionNode, Services } from '../services';
import { SYMBOL } from '../theme';
import { errorLine } from './HomeScreen';
import { NewRevisionScreen } from './NewRevisionScreen';
import { terminalLine } from '../../core/terminalText';

/**
 * The revision graph (branches and merges drawn), applied ● vs pending ○, the selected
 * revision's details, and `d` to roll back to it through the rollback runbook (its downgrade SQL
 * shown first).
 */
export function HistoryScreen({ services, rollbackRunbook, onRollback, onBack }: { services: Services; rollbackRunbook?: string; onRollback: (revision: string) => void; onBack: () => void }) {
  const theme = useTheme();
  const { rows, columns } = useTerminalSize();
  const identity = services.target();
  const [view, setView] = useState<HistoryView | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [selected, setSelected] = useState(0);
  const [notice, setNotice] = useState<string | undefined>();
  const [authoring, setAuthoring] = useState(false);
  const [reloads, setReloads] = useState(0);
  /** After `n` wrote a revision: select it once the graph is read again. */
  const [focusId, setFocusId] = useState<string | undefined>();

  useEffect(() => {
    let live = true;
    services.history().then(
      (v) => {
        if (!live) return;
        setView(v);
        const rowsNow = graphRows(v.nodes);
        const focusRow = focusId ? rowsNow.findIndex((r) => r.id === focusId) : -1;
        const currentRow = rowsNow.findIndex((r) => r.id && v.current.includes(r.id));
        setSelected(Math.max(0, focusRow >= 0 ? focusRow : currentRow));
      },
      (error: unknown) => live && setProblem(errorLine(error)),
    );
    return () => {
      live = false;
    };
  }, [services, reloads]);

  const graph = useMemo(() => (view ? graphRows(view.nodes) : []), [view]);
  const byId = useMemo(() => new Map((view?.nodes ?? []).map((n) => [n.id, n])), [view]);
  const node = graph[selected]?.id ? byId.get(graph[selected]!.id!) : undefined;
  const findings = useRevisionFindings(services, node?.id);
  const canRollBack = Boolean(node && node.applied && !node.current && rollbackRunbook && !view?.problem);

  const move = (delta: number) =>
    setSelected((from) => {
      let next = from;
      do next += delta;
      while (next >= 0 && next < graph.length && !graph[next]!.id);
      return next >= 0 && next < graph.length ? next : from;
    });
  const canAuthor = Boolean(services.createRevision && services.authoring);
  // `d`: the downgrade SQL of every revision the rollback would undo, read before the run starts.
  const [sql, setSql] = useState<{ target: string; view?: DowngradeSqlView; problem?: string; top: number } | undefined>();
  const sqlLines = useMemo(() => (sql?.view ? downgradeSqlLines(sql.view) : []), [sql?.view]);
  const sqlHeight = Math.max(3, rows - 1 - 2 - 1 - 2 - 1);
  const sqlMaxTop = Math.max(0, sqlLines.length - sqlHeight);
  const scrollSql = (delta: number) => setSql((v) => (v ? { ...v, top: Math.max(0, Math.min(sqlMaxTop, v.top + delta)) } : v));
  const startRollback = () => {
    if (!node) return;
    if (!canRollBack) {
      setNotice(!rollbackRunbook ? 'no rollback runbook (one with a select-target step from history) was found' : node.current ? `${node.id} is the current revision: nothing to roll back` : `${node.id} is not applied: pick an applied revision below the current one`);
      return;
    }
    if (!services.downgradeSql) {
      onRollback(node.id);
      return;
    }
    const target = node.id;
    setSql({ target, top: 0 });
    services.downgradeSql(target).then(
      (view) => setSql((v) => (v?.target === target ? { ...v, view } : v)),
      (error: unknown) => setSql((v) => (v?.target === target ? { ...v, problem: errorLine(error) } : v)),
    );
  };
  const keys = useScreenKeys(
    sql ? 'history · downgrade SQL' : 'history',
    sql
      ? [
          { id: 'move', label: 'scroll', run: (input, key) => scrollSql(isUp(input, key) ? -1 : 1) },
          { id: 'page', label: 'page', run: (_input, key) => scrollSql(key.pageUp ? -sqlHeight : sqlHeight) },
          { id: 'yes', label: 'start the rollback run', when: Boolean(sql.view || sql.problem), run: () => { const target = sql.target; setSql(undefined); onRollback(target); } },
          { id: 'no', label: 'not now', run: () => setSql(undefined) },
          { id: 'back', label: 'not now', run: () => setSql(undefined) },
        ]
      : [
          { id: 'move', label: 'move', run: (input, key) => move(isUp(input, key) ? -1 : 1) },
          { id: 'rollback', label: rollbackRunbook ? 'roll back to here (SQL first)' : 'roll back (no rollback runbook found)', when: Boolean(node), run: startRollback },
          { id: 'create', label: 'new revision', when: canAuthor, run: () => setAuthoring(true) },
          { id: 'reload', label: 'reload', run: () => setReloads((n) => n + 1) },
          { id: 'back', label: 'back', run: () => onBack() },
        ],
    { active: !authoring },
  );

  if (authoring) {
    return (
      <NewRevisionScreen
        services={services}
        onDone={(created) => {
          setAuthoring(false);
          if (created) {
            setNotice(`created ${created.revision} (pending): review it, then apply it with a deploy run`);
            setFocusId(created.revision);
            setReloads((n) => n + 1);
          }
        }}
      />
    );
  }

  const detailRows = 8;
  const listHeight = Math.max(3, rows - 1 - 2 - 1 - detailRows - 1 - 1);
  const graphWidth = Math.max(1, ...graph.map((r) => r.graph.length));
  const idWidth = Math.max(0, ...(view?.nodes ?? []).map((n) => n.id.length));
  return (
    <Box flexDirection="column">
      <EnvironmentBanner identity={identity} />
      <Line>
        <Text bold>History</Text>
        <Text color={theme.muted}>
          {view ? ` · ${view.nodes.length} revisions · ${SYMBOL.applied} applied ${SYMBOL.notApplied} pending · current ${view.current.join('+') || 'base'} · head ${view.heads.join('+')}` : ' · loading…'}
        </Text>
      </Line>
      {problem || view?.problem ? (
        <Line color={theme.danger}>
          {SYMBOL.failed} {problem ?? `database not readable, applied state unknown: ${view?.problem}`}
        </Line>
      ) : (
        <Line color={theme.muted}>{notice ?? ' '}</Line>
      )}
      {sql ? (
        <DowngradeSqlPanel sql={sql} lines={sqlLines} height={sqlHeight} current={view?.current ?? []} />
      ) : (
      <>
      <SelectList
        items={graph}
        selected={selected}
        height={listHeight}
        render={(row, _i, isSelected) => {
          const n = row.id ? byId.get(row.id) : undefined;
          if (!n) return <Line color={theme.muted}>{`  ${row.graph}`}</Line>;
          return <RevisionRow node={n} graph={row.graph.padEnd(graphWidth)} idWidth={idWidth} selected={isSelected} width={columns} />;
        }}
      />
      <RevisionDetails node={node} findings={findings} />
      </>
      )}
      <Footer keys={[...keys, ['?', 'help']]} />
    </Box>
  );
}

/** A row per revision; ids are never cut (an operator copies them), only padded to line up. */
function RevisionRow({ node, graph, idWidth, selected }: { node: RevisionNode; graph: string; idWidth: number; selected: boolean; width: number }) {
  const theme = useTheme();
  const tags = [node.head ? 'head' : '', node.current ? 'current' : '', node.parents.length > 1 ? 'merge' : '', node.children.length > 1 ? 'branchpoint' : ''].filter(Boolean);
  return (
    <Line inverse={selected}>
      {selected ? SYMBOL.pointer : ' '} <Text color={node.applied ? theme.ok : theme.warn}>{graph}</Text> {node.id.padEnd(idWidth)} <Text color={node.applied ? theme.ok : theme.warn}>{node.applied ? 'applied' : 'pending'}</Text>
      {tags.length ? <Text color={theme.accent}> ({tags.join(', ')})</Text> : null}
      {node.current ? <Text color={theme.accent} bold> ◀ the database is here</Text> : null} {terminalLine(node.message)}
    </Line>
  );
}

/** The selected revision's review, loaded a moment after the selection settles (j/k held down loads nothing). */
function useRevisionFindings(services: Services, id: string | undefined): { id: string; findings?: RevisionFindings; problem?: string } | undefined {
  const [state, setState] = useState<{ id: string; findings?: RevisionFindings; problem?: string } | undefined>();
  useEffect(() => {
    if (!id || !services.revisionFindings) return undefined;
    let live = true;
    const timer = setTimeout(() => {
      services.revisionFindings!(id).then(
        (findings) => live && setState({ id, findings }),
        (error: unknown) => live && setState({ id, problem: errorLine(error) }),
      );
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [services, id]);
  return state?.id === id ? state : undefined;
}

function findingSummary(label: string, lines: FindingLine[]): string {
  const open = lines.filter((f) => f.level !== 'waived' && f.level !== 'info');
  if (open.length === 0) return `${label}: no findings${lines.length ? ` (${lines.length} info/waived)` : ''}`;
  const worst = open.find((f) => f.level === 'error') ?? open[0]!;
  return `${label}: ${open.length} finding(s) — ${worst.level === 'error' ? 'ERROR' : 'WARN'} ${worst.rule} (line ${worst.line}): ${worst.message}`;
}

function RevisionDetails({ node, findings }: { node?: RevisionNode; findings?: { findings?: RevisionFindings; problem?: string } }) {
  const theme = useTheme();
  if (!node) {
    return (
      <Box flexDirection="column" height={8}>
        <Line color={theme.muted}>no revision selected</Line>
      </Box>
    );
  }
  const review = findings?.findings;
  const hasError = Boolean(review && [...review.upgrade, ...review.downgrade].some((f) => f.level === 'error'));
  return (
    <Box flexDirection="column" height={8}>
      <Line bold>
        {node.id} — {terminalLine(node.message)}
      </Line>
      <Line>parents: {node.parents.join(', ') || '<base>'} · children: {node.children.join(', ') || '<none: head>'}</Line>
      <Line>file: {node.file}</Line>
      <Line>
        {node.transactional ? 'transactional' : 'NON-transactional (runs outside a transaction)'} · {node.applied ? (node.current ? 'applied — the database is here' : 'applied') : 'pending — not applied yet'}
      </Line>
      <Line color={theme.muted}>{node.applied && !node.current ? 'd rolls back to this revision (everything above it is downgraded): its downgrade SQL first' : ' '}</Line>
      <Line color={node.rehearsal?.includes('FAILS') ? theme.danger : theme.muted}>{node.rehearsal ? `rehearsal: ${node.rehearsal}` : ' '}</Line>
      {review ? (
        <>
          <Line color={hasError ? theme.danger : undefined}>{findingSummary('review upgrade', review.upgrade)}</Line>
          <Line>{findingSummary('review downgrade', review.downgrade)}</Line>
        </>
      ) : (
        <Line color={theme.muted}>{findings?.problem ? `review unavailable: ${findings.problem}` : 'review: loading…'}</Line>
      )}
    </Box>
  );
}

/** Each revision the rollback undoes, newest first, with the SQL its downgrade runs. */
export function downgradeSqlLines(view: DowngradeSqlView): { text: string; heading?: boolean }[] {
  const lines: { text: string; heading?: boolean }[] = [];
  for (const revision of view.revisions) {
    lines.push({ text: `-- ${revision.revision} — ${terminalLine(revision.message)} (${revision.file})`, heading: true });
    if (revision.statements.length === 0) lines.push({ text: '   (no SQL statements)' });
    for (const statement of revision.statements) for (const line of statement.split('\n')) lines.push({ text: `   ${terminalLine(line.replace(/\t/g, '    '))}` });
  }
  return lines;
}

function DowngradeSqlPanel({ sql, lines, height, current }: { sql: { target: string; view?: DowngradeSqlView; problem?: string; top: number }; lines: { text: string; heading?: boolean }[]; height: number; current: string[] }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column">
      <Line bold>
        Roll back {current.join('+') || 'base'} → {sql.target}: the downgrade SQL{sql.view ? ` of ${sql.view.revisions.length} revision(s)` : ''}
        {lines.length > height ? <Text color={theme.muted}> · lines {sql.top + 1}–{Math.min(lines.length, sql.top + height)} of {lines.length}</Text> : null}
      </Line>
      <Box flexDirection="column" height={height}>
        {sql.problem ? (
          <Line color={theme.danger}>
            {SYMBOL.failed} the downgrade SQL could not be rendered: {sql.problem}
          </Line>
        ) : !sql.view ? (
          <Line color={theme.muted}>rendering the downgrade SQL…</Line>
        ) : (
          lines.slice(sql.top, sql.top + height).map((line, i) => (
            <Line key={sql.top + i} bold={line.heading} color={line.heading ? undefined : theme.muted}>
              {line.text}
            </Line>
          ))
        )}
      </Box>
      <Line color={theme.warn}>y starts the rollback run (backup, then this downgrade: it shows its plan and asks again) · n/esc not now</Line>
    </Box>
  );
}
