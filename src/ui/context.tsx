import { useStdout } from 'ink';
import React, { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { makeTheme, type Theme } from './theme';

export interface TerminalSize {
  columns: number;
  rows: number;
}

interface UiSettings {
  theme: Theme;
  /** Fixed size (tests); otherwise the terminal's, following resizes. */
  size?: TerminalSize;
}

const UiContext = createContext<UiSettings>({ theme: makeTheme() });

export function UiProvider({ theme, size, children }: { theme?: Theme; size?: TerminalSize; children: ReactNode }) {
  const [value] = useState<UiSettings>(() => ({ theme: theme ?? makeTheme(), size }));
  return <UiContext.Provider value={size === value.size ? value : { ...value, size }}>{children}</UiContext.Provider>;
}

export function useTheme(): Theme {
  return useContext(UiContext).theme;
}

/** Columns × rows of the terminal, re-read on resize. Defaults to 80×24 when unknown. */
export function useTerminalSize(): TerminalSize {
  const fixed = useContext(UiContext).size;
  const { stdout } = useStdout();
  const read = (): TerminalSize => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed) return undefined;
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stdout, fixed]);
  return fixed ?? size;
}
