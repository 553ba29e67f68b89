import { Box, Text } from 'ink';
import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Footer, type KeyHint } from '../components/Footer';
import { Line } from '../components/Line';
import { clampIndex, SelectList } from '../components/SelectList';
import { TargetHeader, TARGET_HEADER_ROWS, type Loadable } from '../components/TargetHeader';
import { TextField } from '../components/TextField';
import { useTerminalSize, useTheme } from '../context';
import { clampLines, formatAge, wrapText } from '../format';
import { useScreenKeys } from '../help';
import { KEYMAP } from '../keymap';
import { Dialog } from '../components/Dialog';
import { isUp } from '../keys';
import type { BackupEntry, DrillInfo, ResumableRun, RunbookCategory, RunbookInfo, RunbookList, Services, TargetStatus } from '../services';
import { SYMBOL } from '../theme';

export type ScreenName = 'history' | 'backups' | 'logs' | 'audit';

export interface ActiveRunSummary {
  runbook: string;
  title: string;
  status: string;
}

type Entry = { kind: 'active'; run: ActiveRunSummary } | { kind: 'resume'; run: ResumableRun } | { kind: 'runbook'; runbook: RunbookInfo } | { kind: 'drill'; drill: DrillInfo };

const EMPTY_LIST: RunbookList = { runbooks: [], errors: [] };
const NO_RUNS: ResumableRun[] = [];

const CATEGORY_ORDER: RunbookCategory[] = ['emergency', 'recovery', 'deploy', 'upgrade', 'maintenance', 'development'];

/** Emergencies first, then by category, then by name; runbooks not meant for this environment last. */
export function sortRunbooks(runbooks: RunbookInfo[]): RunbookInfo[] {
  return [...runbooks].sort(
    (a, b) => Number(b.allowed) - Number(a.allowed) || CATEGORY_ORDER.indexOf(a.category) - CATEGORY_ORDER.indexOf(b.category) || a.name.localeCompare(b.name),
  );
}

/** Home reads the target's status again this often (one connection, a few catalog queries). */
export const HOME_POLL_MS = 3_000;

const sameStatus = (a: TargetStatus, b: TargetStatus) => JSON.stringify(a) === JSON.stringify(b);

/** Always at the end of home's footer (the app handles them). */
const HOME_TAIL: readonly KeyHint[] = [
  ['?', 'help'],
  ['q', 'quit'],
];

/**
 * Home: the target made unmistakable (environment, URL without password, server, revision vs
 * head, pending, backup age, lock), then what can be done: the run in progress, unfinished
 * runs to resume, and the runbooks, emergencies first.
 */
export function HomeScreen({
  services,
  catalog,
  onRefresh,
  activeRun,
  onStart,
  onStartDrill,
  onResume,
  onReturnToRun,
  onOpen,
  pollMs = HOME_POLL_MS,
}: {
  services: Services;
  /** Runbooks and resumable runs; undefined while they load (after the first frame). */
  catalog?: { list: RunbookList; resumable: ResumableRun[] };
  onRefresh: () => void;
  activeRun?: ActiveRunSummary;
  onStart: (runbook: RunbookInfo) => void;
  onStartDrill: (drill: DrillInfo) => void;
  onResume: (run: ResumableRun) => void;
  onReturnToRun: () => void;
  onOpen: (screen: ScreenName) => void;
  /** How often the target's status is read again while home is open (0: never). */
  pollMs?: number;
}) {
  const theme = useTheme();
  const { rows, columns } = useTerminalSize();
  const identity = useMemo(() => services.target(), [services]);
  const [refreshes, setRefreshes] = useState(0);
  const [status, setStatus] = useState<Loadable<TargetStatus>>({ state: 'loading' });
  const [backup, setBackup] = useState<Loadable<BackupEntry | undefined>>({ state: 'loading' });
  const [lastRead, setLastRead] = useState<string | undefined>();
  const shownBackup = useRef<string | undefined>(undefined);
  const [filter, setFilter] = useState('');
  const [filtering, setFiltering] = useState(false);
  const [selected, setSelected] = useState(0);
  const list = catalog?.list ?? EMPTY_LIST;
  const resumable = catalog?.resumable ?? NO_RUNS;

  // Read at once, then every few seconds while home is open: revision, pending, lock holder and
  // backup age stay true when another shell changes the database (or it goes away).
  useEffect(() => {
    let live = true;
    let reading = false;
    let lastGood: { current: string[]; at: number } | undefined;
    const read = () => {
      if (reading) return;
      reading = true;
      const status = identity.problem
        ? Promise.resolve()
        : services.targetStatus().then(
            (value) => {
              lastGood = { current: value.current, at: Date.now() };
              if (live) setStatus((previous) => (previous.state === 'ready' && sameStatus(previous.value, value) ? previous : { state: 'ready', value }));
            },
            (error: unknown) => {
              if (!live) return;
              setStatus({ state: 'error', message: errorLine(error) });
              setLastRead(lastGood ? `was at ${lastGood.current.join('+') || 'base'} ${formatAge(lastGood.at)}${pollMs > 0 ? ', retrying' : ''}` : undefined);
            },
          );
      const backupRead = services.lastVerifiedBackup().then(
        // A new frame only when what home shows changed (another backup, or its age in words).
        (value) => {
          if (!live) return;
          const shown = value ? `${value.file} ${value.createdAt} ${formatAge(value.createdAt)}` : '';
          if (shownBackup.current === shown) return;
          shownBackup.current = shown;
          setBackup({ state: 'ready', value });
        },
        (error: unknown) => {
          if (!live) return;
          shownBackup.current = undefined;
          setBackup({ state: 'error', message: errorLine(error) });
        },
      );
      void Promise.allSettled([status, backupRead]).then(() => {
        reading = false;
      });
    };
    if (identity.problem) setStatus({ state: 'error', message: identity.problem });
    else setStatus({ state: 'loading' });
    read();
    const timer = pollMs > 0 ? setInterval(read, pollMs) : undefined;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [services, identity, refreshes, pollMs]);

  const entries = useMemo<Entry[]>(() => {
    const needle = filter.toLowerCase();
    const matches = (r: RunbookInfo) => !needle || `${r.name} ${r.title} ${r.description} ${r.category}`.toLowerCase().includes(needle);
    return [
      ...(activeRun ? [{ kind: 'active' as const, run: activeRun }] : []),
      ...resumable.filter((r) => !activeRun && (!needle || r.runbook.includes(needle))).map((run) => ({ kind: 'resume' as const, run })),
      ...sortRunbooks(list.runbooks).filter(matches).map((runbook) => ({ kind: 'runbook' as const, runbook })),
      // Practice drills last: never the first thing under the cursor during an incident; never on a protected environment's home.
      ...(identity.protected ? [] : list.drills ?? []).filter((d) => !needle || `drill ${d.name} ${d.title}`.toLowerCase().includes(needle)).map((drill) => ({ kind: 'drill' as const, drill })),
    ];
  }, [activeRun, resumable, list, filter, identity]);
  const current = clampIndex(selected, entries.length);

  const choose = useCallback(
    (entry: Entry | undefined) => {
      if (!entry) return;
      if (entry.kind === 'active') onReturnToRun();
      else if (entry.kind === 'resume') onResume(entry.run);
      else if (entry.kind === 'drill') onStartDrill(entry.drill);
      else onStart(entry.runbook);
    },
    [onResume, onReturnToRun, onStart, onStartDrill],
  );

  const [discarding, setDiscarding] = useState<ResumableRun | undefined>();
  const [discardNotice, setDiscardNotice] = useState<string | undefined>();
  const focusedEntry = entries[current];
  const homeKeys = useScreenKeys(
    'home',
    [
      { id: 'move', label: 'move', run: (input, key) => setSelected((s) => clampIndex(clampIndex(s, entries.length) + (isUp(input, key) ? -1 : 1), entries.length)) },
      { id: 'choose', label: 'start / resume', run: () => choose(focusedEntry) },
      { id: 'filter', run: () => setFiltering(true) },
      { id: 'history', label: 'history', run: () => onOpen('history') },
      { id: 'backups', label: 'backups', run: () => onOpen('backups') },
      { id: 'logs', label: 'logs', run: () => onOpen('logs') },
      { id: 'audit', label: 'audit', run: () => onOpen('audit') },
      {
        id: 'reload',
        label: 'reload',
        run: () => {
          setRefreshes((n) => n + 1);
          onRefresh();
        },
      },
      { id: 'stop', label: 'discard this unfinished run (asks first)', when: focusedEntry?.kind === 'resume' && Boolean(services.discardRun), run: () => focusedEntry?.kind === 'resume' && setDiscarding(focusedEntry.run) },
      { id: 'back', label: 'clear the filter', when: Boolean(filter), run: () => setFilter('') },
    ],
    { active: !filtering && !discarding },
  );

  const focused = entries[current];
  const description = focused?.kind === 'runbook' ? clampLines(wrapText(focused.runbook.description, columns - 4), 3) : focused?.kind === 'drill' ? clampLines(wrapText(focused.drill.briefing, columns - 4), 3) : [];
  const errorsRows = list.errors.length ? 1 : 0;
  const filterRows = filtering || filter ? 1 : 0;
  const listHeight = Math.max(3, rows - 1 - TARGET_HEADER_ROWS - 1 - 1 - 3 - errorsRows - filterRows - (discardNotice ? 1 : 0) - 1);

  return (
    <Box flexDirection="column">
      <TargetHeader identity={identity} status={status} backup={backup} lastRead={status.state === 'error' ? lastRead : undefined} />
      <Line> </Line>
      {filtering ? (
        <TextField
          label="/ "
          value={filter}
          placeholder="filter runbooks"
          onChange={(value) => {
            setFilter(value);
            setSelected(0);
          }}
          onSubmit={() => setFiltering(false)}
          onCancel={() => {
            setFilter('');
            setFiltering(false);
          }}
        />
      ) : filter ? (
        <Line color={theme.muted}>filter: {filter} (esc clears)</Line>
      ) : null}
      <Line bold>
        Runbooks
        <Text color={theme.muted}>
          {resumable.length && !activeRun ? ` · ${resumable.length} unfinished run(s) to resume` : ''}
          {!catalog ? ' · loading…' : entries.length === 0 ? (list.runbooks.length ? ' · nothing matches the filter' : ' · none found in the runbooks folder') : ''}
        </Text>
      </Line>
      {discarding ? (
        <Dialog
          title={`Discard the unfinished run ${discarding.id}?`}
          lines={[
            `${discarding.runbook}, stopped at step ${discarding.currentStep + 1}/${discarding.stepCount}${discarding.stepTitle ? ` "${discarding.stepTitle}"` : ''}, ${formatAge(discarding.updatedAt)}.`,
            'It is no longer offered for resuming: its state is kept in the runs folder, marked discarded,',
            'and the audit trail records who discarded it. Nothing in the database is changed or undone.',
          ]}
          yes="discard it"
          no="keep it"
          onAnswer={(yes) => {
            const run = discarding;
            setDiscarding(undefined);
            if (!yes || !services.discardRun) return;
            try {
              services.discardRun(run.id);
              setDiscardNotice(`discarded run ${run.id} (kept in the runs folder, audited)`);
            } catch (error) {
              setDiscardNotice(`could not discard run ${run.id}: ${errorLine(error)}`);
            }
            onRefresh();
          }}
        />
      ) : (
        <SelectList items={entries} selected={current} height={listHeight} render={(entry, _i, isSelected) => <EntryRow entry={entry} selected={isSelected} />} />
      )}
      {discardNotice ? <Line color={theme.muted}>{discardNotice}</Line> : null}
      {description.map((line, i) => (
        <Line key={i} color={theme.muted}>
          {'  '}
          {line}
        </Line>
      ))}
      {list.errors.length ? (
        <Line color={theme.danger}>
          {SYMBOL.failed} {list.errors.length} runbook file(s) failed to load: {list.errors[0]}
        </Line>
      ) : null}
      <Footer keys={[...homeKeys.filter(([k]) => k !== KEYMAP.move.hint), ...HOME_TAIL]} />
    </Box>
  );
}

function EntryRow({ entry, selected }: { entry: Entry; selected: boolean }) {
  const theme = useTheme();
  const pointer = selected ? SYMBOL.pointer : ' ';
  if (entry.kind === 'active') {
    return (
      <Line inverse={selected} color={theme.accent}>
        {pointer} {SYMBOL.running} {entry.run.runbook} — {entry.run.status} (enter to return to it)
      </Line>
    );
  }
  if (entry.kind === 'resume') {
    const run = entry.run;
    return (
      <Line inverse={selected} color={theme.warn}>
        {pointer} ↻ resume {run.runbook} at step {run.currentStep + 1}/{run.stepCount}
        {run.stepTitle ? ` "${run.stepTitle}"` : ''} — {run.interrupted ? 'interrupted' : run.status === 'waiting' ? 'paused' : run.status} {formatAge(run.updatedAt)}
        {run.drill ? ' (drill)' : ''} · run {run.id.slice(0, 8)}
      </Line>
    );
  }
  if (entry.kind === 'drill') {
    const d = entry.drill;
    return (
      <Line inverse={selected} color={theme.accent}>
        {pointer} ◎ drill {d.name.padEnd(24)} {d.title}
        <Text color={theme.muted}> [practice on the sandbox]</Text>
      </Line>
    );
  }
  const r = entry.runbook;
  const emergency = r.category === 'emergency';
  return (
    <Line inverse={selected} color={!r.allowed ? theme.muted : emergency ? theme.danger : undefined}>
      {pointer} {emergency ? SYMBOL.warning : ' '} {r.name.padEnd(22)} {r.title}
      <Text color={theme.muted}>
        {' '}
        [{r.category}]{r.allowed ? '' : ' (not for this environment)'}
      </Text>
    </Line>
  );
}

export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const hint = (error as { hint?: string }).hint;
  return `${message.split('\n')[0]}${hint ? ` — ${hint}` : ''}`;
}
