// The editor's instant re-tune, measured in a real browser: a 2048² image through gaussian-blur into image-view,
// the sigma slider moved again and again, each move timed from the input event to the pane's next drawn frame,
// minus the blur's own compute time. The measurement is the browser tests' script (Chromium driven by
// playwright-core), so it runs from a repository checkout.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface EditorBench {
  size: number;
  moves: number;
  /** slider input → frame drawn, minus the blur kernel's time for that sigma */
  overheadMs: { median: number; p90: number };
  totalMs: { median: number; p90: number };
  blurMs: { median: number; p90: number };
  target: string;
  met: boolean;
}

const SCRIPT = fileURLToPath(new URL('../../../test/browser/retune-latency.mjs', import.meta.url));
export const EDITOR_TARGET_MS = 150;

export async function editorBench(quick: boolean, say: (step: string) => void): Promise<EditorBench> {
  if (!existsSync(SCRIPT)) throw new Error(`emflow bench --editor runs ${SCRIPT}, which is part of a repository checkout (with chromium installed)`);
  say('editor re-tune latency in Chromium');
  const { measureRetuneLatency } = (await import(pathToFileURL(SCRIPT).href)) as {
    measureRetuneLatency(options: { moves: number; size: number }): Promise<Omit<EditorBench, 'target' | 'met'>>;
  };
  const result = await measureRetuneLatency(quick ? { moves: 3, size: 512 } : { moves: 12, size: 2048 });
  return { ...result, target: `≤ ${EDITOR_TARGET_MS} ms beyond the blur (median)`, met: result.overheadMs.median <= EDITOR_TARGET_MS };
}
