import { Text } from 'ink';
import React, { useRef } from 'react';
import { LAYER, useKeys } from '../keys';
import { useTheme } from '../context';

/**
 * A one-line text field. While it is mounted it takes every key (so `q` is a letter, not
 * quit); enter submits, esc cancels, backspace deletes. Controlled by its parent.
 */
export function TextField({
  label,
  value,
  onChange,
  onSubmit,
  onCancel,
  placeholder,
  active = true,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  onSubmit: (value: string) => void;
  onCancel?: () => void;
  placeholder?: string;
  active?: boolean;
}) {
  const theme = useTheme();
  // Keys can arrive faster than React re-renders: edit the latest text, not the rendered one.
  const latest = useRef(value);
  latest.current = value;
  const change = (next: string) => {
    latest.current = next;
    onChange(next);
  };
  useKeys(
    (input, key) => {
      if (key.ctrl && input === 'c') return false;
      if (key.return) onSubmit(latest.current);
      else if (key.escape) onCancel?.();
      else if (key.backspace || key.delete) change(latest.current.slice(0, -1));
      else if (key.ctrl && input === 'u') change('');
      else if (key.upArrow || key.downArrow) return false; // nothing to do in one line: a surrounding prompt may scroll
      else if (input && !key.ctrl && !key.meta && !key.tab && !key.leftArrow && !key.rightArrow) {
        // A paste (or fast typing over SSH) arrives as one chunk: text then Enter. The Enter submits.
        const enter = input.search(/[\r\n]/);
        const text = enter < 0 ? input : input.slice(0, enter);
        // eslint-disable-next-line no-control-regex
        change(latest.current + text.replace(/[\u0000-\u001f\u007f]/g, ''));
        if (enter >= 0) onSubmit(latest.current);
      }
      return true;
    },
    LAYER.field,
    active,
  );
  return (
    <Text wrap="truncate-start">
      <Text bold>{label}</Text>
      {value ? <Text>{value}</Text> : <Text color={theme.muted}>{placeholder ?? ''}</Text>}
      {active ? <Text inverse> </Text> : null}
    </Text>
  );
}
