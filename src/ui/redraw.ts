import { useStdout } from 'ink';
import { useCallback, useEffect } from 'react';

/** Clears the whole (alternate) screen and puts the cursor home; Ink then writes its frame again. */
export const CLEAR_SCREEN = '\u001B[H\u001B[2J';

/** How long after the last resize event the screen is cleared and drawn again. */
export const RESIZE_REDRAW_MS = 100;

/**
 * Ctrl+L: draw the whole frame again on a cleared screen (after another program wrote over it,
 * or a terminal that lost lines). Ink's own write erases its frame, writes this, then the frame.
 */
export function useRedraw(): () => void {
  const { write } = useStdout();
  return useCallback(() => write(CLEAR_SCREEN), [write]);
}

/**
 * After the terminal is resized (large to small especially) the rows Ink drew at the old size
 * are not all where it believes: once the new layout is drawn, clear and draw it again, so no
 * stale line is left.
 */
export function useRedrawOnResize(redraw: () => void): void {
  const { stdout } = useStdout();
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onResize = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        redraw();
      }, RESIZE_REDRAW_MS);
    };
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
      if (timer) clearTimeout(timer);
    };
  }, [stdout, redraw]);
}
