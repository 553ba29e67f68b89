import type { Key } from 'ink';
import React, { createContext, useContext, useLayoutEffect, useRef, type ReactNode } from 'react';
import type { KeyHint } from './components/Footer';
import { hint, isKey, type ActionId } from './keymap';
import { LAYER, useKeys } from './keys';

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

/** One key of a screen: the action (from the key map), what it does here, and whether it is live now. */
export interface Binding {
  id: ActionId;
  /** Return false to let lower layers see the key after all (e.g. esc with nothing to clear). */
  run: (input: string, key: Key) => boolean | void;
  /** This screen's wording of the action (defaults to the key map's). */
  label?: string;
  /** Off: neither handled nor listed. */
  when?: boolean;
}

/**
 * A screen's keys from one list: the same bindings dispatch the keys and fill `?` help (and
 * the footer hints returned), so help never leaves out a key the screen handles.
 */
export function useScreenKeys(screen: string, bindings: readonly Binding[], options: { layer?: number; active?: boolean; help?: boolean } = {}): KeyHint[] {
  const live = bindings.filter((b) => b.when !== false);
  const hints = live.map((b) => hint(b.id, b.label));
  const set = useContext(HelpContext);
  const signature = `${screen}|${hints.map(([k, l]) => `${k}:${l}`).join(',')}`;
  const last = useRef('');
  const publish = options.help !== false && options.active !== false;
  useLayoutEffect(() => {
    if (!publish || last.current === signature) return;
    last.current = signature;
    set({ screen, keys: hints });
  });
  useKeys(
    (input, key) => {
      for (const binding of live) {
        if (isKey(binding.id, input, key) && binding.run(input, key) !== false) return true;
      }
      return false;
    },
    options.layer ?? LAYER.screen,
    options.active ?? true,
  );
  return hints;
}
