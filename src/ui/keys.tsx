import { useInput, type Key } from 'ink';
import React, { createContext, useContext, useLayoutEffect, useMemo, useRef, type ReactNode } from 'react';
import { useRedraw, useRedrawOnResize } from './redraw';

/**
 * One keyboard, many listeners: each keypress goes to the handlers from the top layer down
 * (a dialog before the prompt before the screen before the app's global keys) until one
 * returns true. A focused text field consumes every printable key, so `q` or `?` typed into
 * it never quits or opens help.
 */
export type KeyHandler = (input: string, key: Key) => boolean | void;

export const LAYER = {
  app: 10,
  screen: 20,
  prompt: 30,
  field: 40,
  dialog: 50,
  interrupt: 100,
} as const;

interface Registration {
  layer: number;
  order: number;
  handler: { current: KeyHandler };
}

export class KeyRegistry {
  private registrations: Registration[] = [];
  private counter = 0;

  add(layer: number, handler: { current: KeyHandler }): () => void {
    const registration = { layer, order: this.counter++, handler };
    this.registrations.push(registration);
    this.registrations.sort((a, b) => b.layer - a.layer || b.order - a.order);
    return () => {
      this.registrations = this.registrations.filter((r) => r !== registration);
    };
  }

  dispatch(input: string, key: Key): boolean {
    for (const registration of [...this.registrations]) {
      if (registration.handler.current(input, key) === true) return true;
    }
    return false;
  }
}

const KeyContext = createContext<KeyRegistry | null>(null);

export function KeyboardRoot({ children }: { children: ReactNode }) {
  const registry = useMemo(() => new KeyRegistry(), []);
  const redraw = useRedraw();
  useRedrawOnResize(redraw);
  useInput((input, key) => {
    if (isCtrlL(input, key)) redraw();
    // Ctrl+letter is not the letter (Ctrl+R must not roll back): only Ctrl+C and a text field's Ctrl+U go on.
    else if (key.ctrl && /^[a-z]$/.test(input) && input !== 'c' && input !== 'u') return;
    else registry.dispatch(input, key);
  });
  return <KeyContext.Provider value={registry}>{children}</KeyContext.Provider>;
}

/** Listens to keys while mounted (and `active`). Return true to stop lower layers seeing the key. */
export function useKeys(handler: KeyHandler, layer: number = LAYER.screen, active = true): void {
  const registry = useContext(KeyContext);
  const ref = useRef(handler);
  ref.current = handler;
  useLayoutEffect(() => {
    if (!registry || !active) return undefined;
    return registry.add(layer, ref);
  }, [registry, layer, active]);
}

export const isUp = (input: string, key: Key) => key.upArrow || (input === 'k' && !key.ctrl && !key.meta);
export const isDown = (input: string, key: Key) => key.downArrow || (input === 'j' && !key.ctrl && !key.meta);
export const isCtrlC = (input: string, key: Key) => key.ctrl && input === 'c';
export const isCtrlL = (input: string, key: Key) => key.ctrl && input === 'l';
