import { Text, type TextProps } from 'ink';
import React from 'react';

/** One terminal row: never wraps, so a screen's height is the number of rows it renders. */
export function Line(props: TextProps) {
  return <Text wrap="truncate-end" {...props} />;
}
