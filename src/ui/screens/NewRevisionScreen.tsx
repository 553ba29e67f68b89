import { Box, Text } from 'ink';
import React, { useState } from 'react';
import { terminalLine } from '../../core/terminalText';
import { EnvironmentBanner } from '../components/TargetHeader';
import { Footer } from '../components/Footer';
import { Line } from '../components/Line';
import { TextField } from '../components/TextField';
import { useTerminalSize, useTheme } from '../context';
import { useScreenKeys } from '../help';
import { isUp } from '../keys';
import type { NewRevisionView, Services } from '../services';
import { SYMBOL } from '../theme';
import { errorLine } from './HomeScreen';

type Phase =
  | { name: 'message' }
  | { name: 'kind'; message: string }
  | { name: 'creating'; message: string; autogenerate: boolean }
  | { name: 'created'; created: NewRevisionView }
  | { name: 'failed'; problem: string };

/**
 * The seed's "create a new migration … review the generated file": asks for the message, lets
 * Alembic write the file (autogenerate compares the database with the models; it only reads the
 * database), then shows the whole new file before anything can apply it. `onDone` returns to
 * History, which reloads and shows the new revision as pending.
 */
export function NewRevisionScreen({ services, onDone }: { services: Services; onDone: (created?: NewRevisionView) => void }) {
  const theme = useTheme();
  const { rows } = useTerminalSize();
  const identity = services.target();
  const autogenerate = services.authoring?.().autogenerate ?? false;
  const [phase, setPhase] = useState<Phase>({ name: 'message' });
  const [message, setMessage] = useState('');
  const [top, setTop] = useState(0);

  const create = (text: string, auto: boolean) => {
    setPhase({ name: 'creating', message: text, autogenerate: auto });
    services.createRevision!({ message: text, autogenerate: auto }).then(
      (created) => setPhase({ name: 'created', created }),
      (error: unknown) => setPhase({ name: 'failed', problem: errorLine(error) }),
    );
  };

  const lines = phase.name === 'created' ? phase.created.content.replace(/\n$/, '').split('\n').map((line) => terminalLine(line.replace(/\t/g, '    '))) : [];
  const height = Math.max(3, rows - 1 - 4 - 1);
  const maxTop = Math.max(0, lines.length - height);

  const kind = phase.name === 'kind' ? phase : undefined;
  const created = phase.name === 'created' ? phase.created : undefined;
  const keys = useScreenKeys('new-revision', [
    // The kind of revision is a numbered choice, like a failure menu's: no letter gets a second meaning.
    { id: 'choice', label: '1 autogenerate from the models · 2 empty revision', when: Boolean(kind), run: (input) => (input === '1' ? create(kind!.message, true) : input === '2' ? create(kind!.message, false) : false) },
    { id: 'move', label: 'scroll', when: Boolean(created), run: (input, key) => setTop((t) => (isUp(input, key) ? Math.max(0, t - 1) : Math.min(maxTop, t + 1))) },
    { id: 'page', when: Boolean(created), run: (_input, key) => setTop((t) => (key.pageUp ? Math.max(0, t - height) : Math.min(maxTop, t + height))) },
    { id: 'space', label: 'next page', when: Boolean(created), run: () => setTop((t) => Math.min(maxTop, t + height)) },
    // While the message is typed its field has these keys; listed here all the same.
    { id: 'choose', label: created || phase.name === 'failed' ? 'back to history' : 'next', when: phase.name !== 'kind' && phase.name !== 'creating', run: () => (phase.name === 'message' ? false : onDone(created)) },
    { id: 'back', label: created || phase.name === 'failed' ? 'back to history' : 'cancel', when: phase.name !== 'creating', run: () => (phase.name === 'message' ? false : onDone(created)) },
  ]);

  return (
    <Box flexDirection="column">
      <EnvironmentBanner identity={identity} />
      <Line>
        <Text bold>New revision</Text>
        <Text color={theme.muted}> · written by {autogenerate ? 'Alembic' : 'mutx-ops'} into the project's migrations; nothing is applied</Text>
      </Line>
      {phase.name === 'message' ? (
        <TextField
          label="message: "
          value={message}
          onChange={setMessage}
          onSubmit={(text) => {
            if (text.trim() === '') return;
            if (autogenerate) setPhase({ name: 'kind', message: text.trim() });
            else create(text.trim(), false);
          }}
          onCancel={() => onDone()}
          placeholder="what the revision changes"
        />
      ) : null}
      {phase.name === 'kind' ? <Line>“{phase.message}”: 1 autogenerates the operations from the models (reads the database, changes nothing); 2 writes an empty revision</Line> : null}
      {phase.name === 'creating' ? <Line color={theme.muted}>{phase.autogenerate ? 'Alembic compares the database with the models…' : 'writing the revision file…'}</Line> : null}
      {phase.name === 'failed' ? (
        <Line color={theme.danger}>
          {SYMBOL.failed} {phase.problem}
        </Line>
      ) : null}
      {phase.name === 'created' ? (
        <>
          <Line color={theme.ok}>
            {SYMBOL.done} created {phase.created.file} (revision {phase.created.revision}, revises {phase.created.revises.join(', ') || '<base>'})
          </Line>
          <Line color={theme.warn}>review the generated file below before you apply it (lines {top + 1}–{Math.min(lines.length, top + height)} of {lines.length})</Line>
          <Box flexDirection="column" height={height}>
            {lines.slice(top, top + height).map((line, i) => (
              <Line key={top + i}>
                <Text color={theme.muted}>{String(top + i + 1).padStart(4)} </Text>
                {line}
              </Line>
            ))}
          </Box>
        </>
      ) : null}
      <Footer keys={keys} />
    </Box>
  );
}
