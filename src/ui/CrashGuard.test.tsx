import React from 'react';
import { render } from 'ink';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { App } from './App';
import type { Services } from './services';
import { makeTheme } from './theme';

describe('a render error', () => {
  it('ends the app with the error (no stack drawn over the screen), so the entry can restore the terminal and print one line', async () => {
    const services = {
      target: () => {
        throw new Error('boom in render');
      },
    } as unknown as Services;
    const stdout = Object.assign(new PassThrough(), { columns: 80, rows: 24, isTTY: false }) as unknown as NodeJS.WriteStream;
    let written = '';
    (stdout as unknown as PassThrough).on('data', (chunk: Buffer) => (written += chunk.toString()));
    const stdin = Object.assign(new PassThrough(), { isTTY: false, setRawMode: () => {}, ref: () => {}, unref: () => {} }) as unknown as NodeJS.ReadStream;
    const instance = render(<App services={services} theme={makeTheme({ NO_COLOR: '1' })} size={{ columns: 80, rows: 24 }} />, { stdout, stdin, stderr: stdout, exitOnCtrlC: false, patchConsole: false, debug: true });
    await expect(instance.waitUntilExit()).rejects.toThrow('boom in render');
    expect(written).not.toContain('at ');
    expect(written).not.toContain('boom in render');
  });
});
