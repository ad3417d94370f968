// Live per-node status on a terminal while a pipeline runs (cli-progress multibar on stderr).
import cliProgress from 'cli-progress';
import type { NodeState } from '../session/run.js';

export interface Progress {
  update(node: string, state: NodeState, frames: number): void;
  stop(): void;
}

const quiet: Progress = { update() {}, stop() {} };

export function createProgress(nodes: { id: string; operator: string }[], enabled: boolean): Progress {
  if (!enabled) return quiet;
  const width = Math.max(...nodes.map((n) => n.id.length + n.operator.length + 3));
  const multibar = new cliProgress.MultiBar(
    {
      format: '{label} {state} {value} frames',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      fps: 10,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map(nodes.map((n) => [n.id, multibar.create(0, 0, { label: `${n.id} (${n.operator})`.padEnd(width), state: 'waiting'.padEnd(8) })]));
  let stopped = false;
  return {
    update(node, state, frames) {
      // after an interrupt, nodes still report their end: the display is gone by then
      if (!stopped) bars.get(node)?.update(frames, { state: state.padEnd(8) });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multibar.stop();
    },
  };
}
