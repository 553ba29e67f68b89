import { Box, Text } from 'ink';
import React from 'react';
import { useTerminalSize, useTheme } from '../context';
import { formatAge, plural } from '../format';
import type { BackupEntry, TargetIdentity, TargetStatus } from '../services';
import { SYMBOL } from '../theme';
import { Line } from './Line';

export type Loadable<T> = { state: 'loading' } | { state: 'ready'; value: T } | { state: 'error'; message: string };

/** The environment, loud when protected: a red banner that also says PROTECTED in words. */
export function EnvironmentBanner({ identity }: { identity: TargetIdentity }) {
  const theme = useTheme();
  const { columns } = useTerminalSize();
  const name = identity.environment ?? '(no environment: DATABASE_URL)';
  if (identity.protected) {
    const text = ` ${SYMBOL.warning} PROTECTED ENVIRONMENT: ${name} — ${identity.database}@${identity.host} `;
    return (
      <Text backgroundColor={theme.dangerBg} color={theme.color ? 'white' : undefined} bold inverse={!theme.color} wrap="truncate-end">
        {text.padEnd(Math.max(0, columns - 1))}
      </Text>
    );
  }
  return (
    <Line>
      <Text bold>environment: {name}</Text>
      <Text color={theme.muted}> · {identity.database}@{identity.host}:{identity.port}</Text>
    </Line>
  );
}

/** Rows the home header takes. */
export const TARGET_HEADER_ROWS = 4;

/** Home's header: where, which server, which revision vs head, backup age, lock. */
export function TargetHeader({ identity, status, backup, lastRead }: { identity: TargetIdentity; status: Loadable<TargetStatus>; backup: Loadable<BackupEntry | undefined>; /** When the database stopped answering: what it said last, and when. */ lastRead?: string }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column">
      <EnvironmentBanner identity={identity} />
      <Line>
        <Text>{identity.redacted}</Text>
        <Text color={theme.muted}>
          {status.state === 'ready' ? ` · PostgreSQL ${status.value.serverVersion}` : status.state === 'loading' ? ' · connecting…' : ''}
        </Text>
      </Line>
      {identity.problem || status.state === 'error' ? (
        <Box flexDirection="column">
          <Line color={theme.danger}>
            {SYMBOL.failed} {identity.problem ?? `cannot read the database: ${status.state === 'error' ? status.message : ''}`}
          </Line>
          <Line>
            <BackupAge backup={backup} />
            {lastRead ? <Text color={theme.warn}> · {lastRead}</Text> : null}
          </Line>
        </Box>
      ) : (
        <RevisionLine status={status} backup={backup} />
      )}
    </Box>
  );
}

function RevisionLine({ status, backup }: { status: Loadable<TargetStatus>; backup: Loadable<BackupEntry | undefined> }) {
  const theme = useTheme();
  if (status.state !== 'ready') {
    return (
      <Box flexDirection="column">
        <Line color={theme.muted}>revision …</Line>
        <Line color={theme.muted}> </Line>
      </Box>
    );
  }
  const s = status.value;
  const atHead = s.pending.length === 0 && s.current.length > 0;
  const current = s.current.length ? s.current.join('+') : 'base (empty)';
  const head = s.heads.join('+') || 'none';
  return (
    <Box flexDirection="column">
      <Line>
        <Text>revision {current}</Text>
        <Text color={atHead ? theme.ok : theme.warn}>{atHead ? ' (head)' : ` vs head ${head} · ${plural(s.pending.length, 'pending migration')}`}</Text>
        {s.drift ? <Text color={theme.danger}> · {SYMBOL.failed} {s.drift} changed since applied</Text> : null}
      </Line>
      <Line>
        <BackupAge backup={backup} />
        <Text> · </Text>
        {s.lockHolder ? <Text color={theme.danger}>{SYMBOL.warning} lock held by another mutx-ops: {s.lockHolder}</Text> : <Text color={theme.muted}>migration lock free</Text>}
      </Line>
    </Box>
  );
}

function BackupAge({ backup }: { backup: Loadable<BackupEntry | undefined> }) {
  const theme = useTheme();
  if (backup.state === 'loading') return <Text color={theme.muted}>backup …</Text>;
  if (backup.state === 'error') return <Text color={theme.warn}>backups unreadable</Text>;
  if (!backup.value) return <Text color={theme.warn}>{SYMBOL.warning} no verified backup</Text>;
  return <Text>verified backup {formatAge(backup.value.createdAt)}</Text>;
}
