import React, { createContext, useContext, useLayoutEffect, useRef, type ReactNode } from 'react';
import type { KeyHint } from './components/Footer';

/** Which screen is showing and its keys, for the `?` overlay. */
export interface HelpInfo {
  screen: string;
  keys: readonly KeyHint[];
}

type Setter = (info: HelpInfo) => void;
const HelpContext = createContext<Setter>(() => {});

export function HelpProvider({ onChange, children }: { onChange: Setter; children: ReactNode }) {
  return <HelpContext.Provider value={onChange}>{children}</HelpContext.Provider>;
}

export function useScreenHelp(screen: string, keys: readonly KeyHint[]): void {
  const set = useContext(HelpContext);
  const signature = `${screen}|${keys.map(([k, l]) => `${k}:${l}`).join(',')}`;
  const last = useRef('');
  useLayoutEffect(() => {
    if (last.current === signature) return;
    last.current = signature;
    set({ screen, keys });
  });
}
