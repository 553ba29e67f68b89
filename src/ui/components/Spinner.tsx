import { Text } from 'ink';
import React, { useEffect, useState } from 'react';
import { SPINNER_FRAMES } from '../theme';

/** Four frames a second: alive without redrawing the step list ten times a second. */
export const SPINNER_MS = 250;

/** Ticks only while mounted: nothing animates (and no timer runs) when nothing is running. */
export function Spinner({ color }: { color?: string }) {
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setFrame((f) => (f + 1) % SPINNER_FRAMES.length), SPINNER_MS);
    return () => clearInterval(timer);
  }, []);
  return <Text color={color}>{SPINNER_FRAMES[frame]}</Text>;
}
