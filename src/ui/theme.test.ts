import { describe, expect, it } from 'vitest';
import { makeTheme } from './theme';

describe('theme', () => {
  it('NO_COLOR (set, not empty) turns every colour off', () => {
    const plain = makeTheme({ NO_COLOR: '1' });
    expect(plain.color).toBe(false);
    expect([plain.danger, plain.ok, plain.warn, plain.accent, plain.muted, plain.dangerBg]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(makeTheme({ NO_COLOR: '' }).color).toBe(true);
    expect(makeTheme({}).danger).toBe('red');
  });
});
