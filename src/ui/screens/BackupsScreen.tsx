import { Box, Text } from 'ink';
import React, { useEffect, useRef, useState } from 'react';
import { EnvironmentBanner } from '../components/TargetHeader';
import { Footer } from '../components/Footer';
import { Line } from '../components/Line';
import { clampIndex, SelectList } from '../components/SelectList';
import { Spinner } from '../components/Spinner';
import { useTerminalSize, useTheme } from '../context';
import { formatAge, formatBytes } from '../format';
import { useScreenKeys } from '../help';
import { isUp } from '../keys';
import type { BackupEntry, Services } from '../services';
import { SYMBOL } from '../theme';
import { errorLine } from './HomeScreen';
import { terminalLine } from '../../core/terminalText';

/**
 * The backup catalog, newest first: age, size, revision, verified or not. `v` verifies the
 * selected one here; `o` restores it through the restore runbook, with all its confirmations.
 */
export function BackupsScreen({ services, restoreRunbook, onRestore, onBack }: { services: Services; restoreRunbook?: string; onRestore: (file: string) => void; onBack: () => void }) {
  const theme = useTheme();
  const { rows } = useTerminalSize();
  const identity = services.target();
  const [backups, setBackups] = useState<BackupEntry[] | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [selected, setSelected] = useState(0);
  const [reloads, setReloads] = useState(0);
  const [verifying, setVerifying] = useState<string | undefined>();
  const [result, setResult] = useState<{ ok: boolean; message: string } | undefined>();
  const verifyAbort = useRef<AbortController | undefined>(undefined);

  useEffect(() => {
    let live = true;
    services.backups().then(
      (list) => live && setBackups([...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt))),
      (error: unknown) => live && setProblem(errorLine(error)),
    );
    return () => {
      live = false;
    };
  }, [services, reloads]);
  useEffect(() => () => verifyAbort.current?.abort(), []);

  const list = backups ?? [];
  const current = clampIndex(selected, list.length);
  const backup = list[current];
  const verify = (entry: BackupEntry) => {
    const controller = new AbortController();
    verifyAbort.current = controller;
    setVerifying(entry.file);
    setResult(undefined);
    services.verifyBackup(entry.file, controller.signal).then(
      (outcome) => {
        setVerifying(undefined);
        setResult(outcome);
        setReloads((n) => n + 1);
      },
      (error: unknown) => {
        setVerifying(undefined);
        setResult({ ok: false, message: errorLine(error) });
      },
    );
  };
  const keys = useScreenKeys('backups', [
    { id: 'move', label: 'move', run: (input, key) => setSelected((s) => clampIndex(clampIndex(s, list.length) + (isUp(input, key) ? -1 : 1), list.length)) },
    { id: 'verify', label: 'verify', run: () => backup && !verifying && verify(backup) },
    {
      id: 'restore',
      label: restoreRunbook ? `restore (${restoreRunbook})` : 'restore (no restore runbook found)',
      run: () => {
        if (!backup) return;
        if (restoreRunbook) onRestore(backup.file);
        else setResult({ ok: false, message: 'no restore runbook (one with a restore step from a selected backup) was found' });
      },
    },
    { id: 'reload', label: 'reload', run: () => setReloads((n) => n + 1) },
    { id: 'back', label: 'back', run: () => onBack() },
  ]);

  const listHeight = Math.max(3, rows - 1 - 2 - 1 - 3 - 1);
  return (
    <Box flexDirection="column">
      <EnvironmentBanner identity={identity} />
      <Line>
        <Text bold>Backups</Text>
        <Text color={theme.muted}>{backups ? ` · ${backups.length} in the catalog · ${backups.filter((b) => b.verified).length} verified` : ' · loading…'}</Text>
      </Line>
      {problem ? (
        <Line color={theme.danger}>
          {SYMBOL.failed} {problem}
        </Line>
      ) : backups && backups.length === 0 ? (
        <Line color={theme.warn}>{SYMBOL.warning} no backups yet — a runbook's backup step (or `mutx-ops backup`) takes one</Line>
      ) : (
        <Line color={theme.muted}>{'  '}age        size      revision      verified  label / file</Line>
      )}
      <SelectList
        items={list}
        selected={current}
        height={listHeight}
        render={(b, _i, isSelected) => (
          <Line inverse={isSelected}>
            {isSelected ? SYMBOL.pointer : ' '} {formatAge(b.createdAt).padEnd(10)} {formatBytes(b.sizeBytes).padEnd(9)} {(b.revisions.join('+') || 'base').padEnd(13)}{' '}
            <Text color={b.verified ? theme.ok : theme.warn}>{b.verified ? `${SYMBOL.done} yes    ` : `${SYMBOL.failed} no     `}</Text> {b.label ? `[${b.label}] ` : ''}
            {b.name}
          </Line>
        )}
      />
      <Box flexDirection="column" height={3}>
        {backup ? (
          <Line color={theme.muted}>
            {backup.file} · {backup.createdAt}
            {backup.database ? ` · db ${backup.database}` : ''}
            {backup.environment ? ` · env ${backup.environment}` : ''}
          </Line>
        ) : null}
        {verifying ? (
          <Line>
            <Spinner color={theme.accent} /> verifying {verifying}… (pg_restore --list and a checksum of the file)
          </Line>
        ) : result ? (
          <Line color={result.ok ? theme.ok : theme.danger}>
            {result.ok ? SYMBOL.done : SYMBOL.failed} {terminalLine(result.message)}
          </Line>
        ) : null}
      </Box>
      <Footer keys={[...keys, ['?', 'help']]} />
    </Box>
  );
}
