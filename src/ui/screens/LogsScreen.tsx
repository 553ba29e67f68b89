import { Box, Text } from 'ink';
import React, { useEffect, useRef, useState } from 'react';
import type { LogEvent, LogStats } from '../../core/logs/types';
import { EnvironmentBanner } from '../components/TargetHeader';
import { Footer } from '../components/Footer';
import { Line } from '../components/Line';
import { TextField } from '../components/TextField';
import { useTerminalSize, useTheme } from '../context';
import { useScreenKeys } from '../help';
import { LineRing, type RingLine } from '../logs/ring';
import type { Services } from '../services';
import { SYMBOL } from '../theme';
import { errorLine } from './HomeScreen';

type ShownLine = RingLine;

const KEEP = 1000;
export const LOG_FLUSH_MS = 100;

/**
 * Follows the environment's log source. Lines land in fixed rings (all, matching) and the
 * screen copies the newest few on a timer, so 50k lines/s costs ten small renders a second.
 */
export function LogsScreen({ services, onBack, initialFilter = 'error' }: { services: Services; onBack: () => void; initialFilter?: string }) {
  const theme = useTheme();
  const { rows } = useTerminalSize();
  const identity = services.target();
  const [filter, setFilter] = useState(initialFilter);
  const [draft, setDraft] = useState<string | undefined>(undefined);
  const [showAll, setShowAll] = useState(false);
  const [paused, setPaused] = useState(false);
  const [source, setSource] = useState<string | undefined>(services.logSource());
  const [problem, setProblem] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [stats, setStats] = useState<LogStats | undefined>();
  const [shown, setShown] = useState<ShownLine[]>([]);
  const all = useRef(new LineRing(KEEP));
  const matching = useRef(new LineRing(KEEP));
  const view = useRef({ showAll, paused, height: 10 });
  const height = Math.max(1, rows - 1 - 1 - 1 - 1 - (draft !== undefined ? 1 : 0) - 1);
  view.current = { showAll, paused, height };

  const lastFilter = useRef(filter);
  // Only the all-lines view needs every line handed over (errors-only lets the scanner skip them).
  useEffect(() => {
    const controller = new AbortController();
    if (lastFilter.current !== filter) {
      lastFilter.current = filter;
      all.current.clear();
      matching.current.clear();
      setShown([]);
    }
    setProblem(undefined);
    let latestStats: LogStats | undefined;
    let seen = -1;
    const flush = () => {
      const ring = view.current.showAll ? all.current : matching.current;
      if (latestStats) {
        setStats(latestStats);
        latestStats = undefined;
      }
      if (view.current.paused || ring.version === seen) return;
      seen = ring.version;
      setShown(ring.last(view.current.height));
    };
    const timer = setInterval(flush, LOG_FLUSH_MS);
    let handle: { stop(): Promise<void> } | undefined;
    try {
      const follower = services.followLogs({
        filter,
        emitAll: showAll,
        signal: controller.signal,
        onEvent: (event: LogEvent) => {
          switch (event.type) {
            case 'line': {
              all.current.push(event.text, event.matched);
              if (event.matched) matching.current.push(event.text, true);
              break;
            }
            case 'stats':
              latestStats = event.stats;
              break;
            case 'waiting':
              setNotice(event.reason);
              break;
            case 'rotated':
              setNotice(`log rotated (${event.how})`);
              break;
            case 'error':
              if (event.fatal) setProblem(event.message);
              else setNotice(event.message);
              break;
            case 'end':
              if (event.summary.reason === 'exited') setNotice(`the log command exited (${event.summary.exitCode ?? event.summary.exitSignal})`);
              break;
          }
        },
      });
      handle = follower;
      setSource(follower.description);
    } catch (error) {
      setProblem(errorLine(error));
    }
    return () => {
      clearInterval(timer);
      controller.abort();
      void handle?.stop();
    };
  }, [services, filter, showAll]);

  // Switching views or un-pausing shows the newest lines at once.
  useEffect(() => {
    if (!paused) setShown((showAll ? all.current : matching.current).last(height));
  }, [showAll, paused, height]);

  const keys = useScreenKeys(
    'logs',
    [
      { id: 'space', label: 'pause/resume', run: () => setPaused((p) => !p) },
      { id: 'filter', label: 'edit the filter', run: () => setDraft(filter) },
      { id: 'matching', run: () => setShowAll((v) => !v) },
      { id: 'back', label: 'back', run: () => onBack() },
    ],
    { active: draft === undefined },
  );

  return (
    <Box flexDirection="column">
      <EnvironmentBanner identity={identity} />
      <Line>
        <Text bold>Logs</Text>
        <Text> {source ?? '(no log source)'}</Text>
        <Text color={theme.muted}> · filter /{filter}/ · showing {showAll ? 'all lines' : 'matching lines'}</Text>
        {paused ? <Text color={theme.warn} bold> · PAUSED</Text> : null}
      </Line>
      <Line>
        {stats ? (
          <Text>
            <Text color={stats.matchesLastMinute > 0 ? theme.danger : theme.ok} bold>
              {stats.matchesLastMinute} matches/min
            </Text>
            <Text color={theme.muted}>
              {' '}
              · {stats.matchedLines} matched of {stats.totalLines} lines · {stats.linesLastMinute} lines/min
            </Text>
          </Text>
        ) : (
          <Text color={theme.muted}>{problem ? '' : 'following…'}</Text>
        )}
        {notice ? <Text color={theme.muted}> · {notice}</Text> : null}
      </Line>
      {problem ? (
        <Line color={theme.danger}>
          {SYMBOL.failed} {problem}
        </Line>
      ) : null}
      {draft !== undefined ? (
        <TextField
          label="filter (regular expression): "
          value={draft}
          onChange={setDraft}
          onSubmit={(value) => {
            setDraft(undefined);
            setFilter(value);
          }}
          onCancel={() => setDraft(undefined)}
        />
      ) : null}
      <Box flexDirection="column" height={problem ? Math.max(0, height - 1) : height}>
        {shown.slice(-(problem ? Math.max(0, height - 1) : height)).map((line) => (
          <Line key={line.n} color={line.matched ? theme.danger : undefined} bold={line.matched && showAll}>
            {line.matched ? `${SYMBOL.failed} ` : '  '}
            {line.text}
          </Line>
        ))}
      </Box>
      <Footer keys={[...keys, ['?', 'help']]} />
    </Box>
  );
}
