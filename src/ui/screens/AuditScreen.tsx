import { Box, Text } from 'ink';
import React, { useMemo, useState } from 'react';
import type { AuditRecord } from '../../core/audit';
import { EnvironmentBanner } from '../components/TargetHeader';
import { Footer } from '../components/Footer';
import { Line } from '../components/Line';
import { TextField } from '../components/TextField';
import { useTerminalSize, useTheme } from '../context';
import { useScreenKeys } from '../help';
import { isUp } from '../keys';
import type { Services } from '../services';
import { SYMBOL } from '../theme';
import { terminalLine } from '../../core/terminalText';
import { databaseOfUrl } from '../../runbook/endSummary';

/** The latest audit records and whether the hash chain verifies (first bad record named). */
export function AuditScreen({ services, onBack }: { services: Services; onBack: () => void }) {
  const theme = useTheme();
  const { rows } = useTerminalSize();
  const identity = services.target();
  const [reloads, setReloads] = useState(0);
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState(false);
  const view = useMemo(() => services.audit(500), [services, reloads]);
  const records = useMemo(() => {
    const needle = filter.toLowerCase();
    return needle ? view.records.filter((r) => JSON.stringify(r).toLowerCase().includes(needle)) : view.records;
  }, [view, filter]);
  const height = Math.max(3, rows - 1 - 4 - 1 - (editing || filter ? 1 : 0));
  const [offset, setOffset] = useState(0);
  const maxOffset = Math.max(0, records.length - height);
  const shown = records.slice(Math.max(0, records.length - height - offset), records.length - offset);
  const keys = useScreenKeys(
    'audit',
    [
      { id: 'move', label: 'scroll', run: (input, key) => setOffset((o) => (isUp(input, key) ? Math.min(maxOffset, o + 1) : Math.max(0, o - 1))) },
      { id: 'page', run: (_input, key) => setOffset((o) => (key.pageUp ? Math.min(maxOffset, o + height) : Math.max(0, o - height))) },
      { id: 'filter', run: () => setEditing(true) },
      { id: 'reload', run: () => setReloads((n) => n + 1) },
      { id: 'back', label: filter ? 'clear the filter' : 'back', run: () => (filter ? setFilter('') : onBack()) },
    ],
    { active: !editing },
  );
  const v = view.verification;
  return (
    <Box flexDirection="column">
      <EnvironmentBanner identity={identity} />
      <Line>
        <Text bold>Audit trail</Text>
        <Text color={theme.muted}> · {view.file}</Text>
      </Line>
      {v.ok ? (
        <Line color={theme.ok} bold>
          {SYMBOL.done} chain verifies: {v.records} record(s), none edited, removed or reordered
        </Line>
      ) : (
        <Line color={theme.danger} bold>
          {SYMBOL.failed} chain BROKEN at line {v.firstBad?.line}
          {v.firstBad?.seq ? ` (record ${v.firstBad.seq})` : ''}: {v.firstBad?.reason}
        </Line>
      )}
      {editing ? (
        <TextField
          label="/ "
          value={filter}
          placeholder="action, run id, error…"
          onChange={(value) => {
            setFilter(value);
            setOffset(0);
          }}
          onSubmit={() => setEditing(false)}
          onCancel={() => {
            setFilter('');
            setEditing(false);
          }}
        />
      ) : filter ? (
        <Line color={theme.muted}>
          filter: {filter} · {records.length} of {view.records.length} (esc clears)
        </Line>
      ) : null}
      <Line color={theme.muted}>
        {'  '}seq  time                who               database       action · step{offset ? ` · scrolled back ${offset}` : ''}
      </Line>
      {shown.length === 0 ? <Line color={theme.muted}>no records yet</Line> : null}
      {shown.map((record) => (
        <RecordRow key={`${record.seq}-${record.hash}`} record={record} />
      ))}
      <Footer keys={[...keys, ['?', 'help']]} />
    </Box>
  );
}

function RecordRow({ record }: { record: AuditRecord }) {
  const theme = useTheme();
  const bad = record.outcome && record.outcome !== 'ok';
  const revs = record.revisions_before || record.revisions_after ? ` [${(record.revisions_before ?? []).join(',') || 'base'} → ${(record.revisions_after ?? []).join(',') || 'base'}]` : '';
  return (
    <Line color={bad ? theme.danger : undefined}>
      {bad ? `${SYMBOL.failed} ` : '  '}
      {String(record.seq).padStart(4)} {record.ts.slice(0, 19).replace('T', ' ')} {terminalLine(`${record.operator}@${record.host}`).slice(0, 17).padEnd(17)} {auditDatabase(record).padEnd(14)} {terminalLine(record.action)} {record.phase}
      {auditStep(record)}
      {record.outcome ? ` ${record.outcome}` : ''}
      {record.duration_ms !== undefined ? ` ${record.duration_ms} ms` : ''}
      {revs}
      {record.drill ? ' (drill)' : ''}
      {record.error ? ` — ${terminalLine(record.error)}` : ''}
    </Line>
  );
}

/** The database a record is about (the last path part of its redacted target URL); `-` when it names none. */
export function auditDatabase(record: AuditRecord): string {
  return record.target ? terminalLine(databaseOfUrl(record.target)) : '-';
}

/** The runbook step a run's record is about (`· step deploy/backup`), from its details. */
export function auditStep(record: AuditRecord): string {
  const details = record.details ?? {};
  const step = typeof details.step === 'string' ? details.step : undefined;
  const runbook = typeof details.runbook === 'string' ? details.runbook : typeof record.args?.runbook === 'string' ? (record.args.runbook as string) : undefined;
  if (step) return ` · step ${terminalLine(runbook ? `${runbook}/${step}` : step)}${typeof details.status === 'string' ? ` ${terminalLine(details.status)}` : ''}`;
  return runbook ? ` · ${terminalLine(runbook)}` : '';
}
