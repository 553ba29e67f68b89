import { render } from 'ink-testing-library';
import React from 'react';
import { describe, expect, it } from 'vitest';
import { OutputWindow } from './OutputWindow';

// Issue 15, item 13: a step's output (a command, a log line) never reaches the terminal raw.
describe('OutputWindow', () => {
  it('escapes control characters in output lines', () => {
    const hostile = 'deploy \u001b]0;owned\u0007 \u001b[2J done';
    const ui = render(<OutputWindow lines={[{ seq: 1, stepId: 's', line: hostile, stream: 'stdout' }] as never} total={1} height={3} />);
    const frame = ui.lastFrame() ?? '';
    expect(frame).toContain('deploy');
    expect(frame).toContain('\\x1b]0;owned\\x07');
    expect(frame).not.toContain('\u001b]0;');
    expect(frame).not.toContain('\u001b[2J');
    ui.unmount();
  });
});
