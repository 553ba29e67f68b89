import { Box } from 'ink';
import React, { type ReactNode } from 'react';

/**
 * A window of `height` rows over a list, scrolled so the selected row is visible. Renders
 * only the rows in view (a catalog of thousands of records costs `height` rows).
 */
export function SelectList<T>({ items, selected, height, render }: { items: readonly T[]; selected: number; height: number; render: (item: T, index: number, isSelected: boolean) => ReactNode }) {
  const { start, end } = windowAround(items.length, selected, height);
  return (
    <Box flexDirection="column">
      {items.slice(start, end).map((item, i) => (
        <React.Fragment key={start + i}>{render(item, start + i, start + i === selected)}</React.Fragment>
      ))}
    </Box>
  );
}

export function windowAround(length: number, selected: number, height: number): { start: number; end: number } {
  const h = Math.max(0, height);
  if (length <= h) return { start: 0, end: length };
  const start = Math.min(Math.max(0, selected - Math.floor(h / 2)), length - h);
  return { start, end: start + h };
}

export function clampIndex(index: number, length: number): number {
  return length === 0 ? 0 : Math.min(Math.max(0, index), length - 1);
}
