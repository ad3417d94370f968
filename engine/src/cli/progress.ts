// Live per-node status on a terminal while a pipeline runs (cli-progress multibar on stderr), or one plain line
// per node state change (`--progress plain`: a Slurm job's log, a file, a pipe).
import cliProgress from 'cli-progress';
import type { NodeState } from '../session/run.js';

export interface Progress {
  update(node: string, state: NodeState, frames: number): void;
  stop(): void;
}

const quiet: Progress = { update() {}, stop() {} };

/**
 * One line per state change of a node on `write` (stderr by default): `emflow: node blur (gaussian-blur) running`,
 * `emflow: node blur (gaussian-blur) done 4 frames 12.3 ms` (the time from running to its end, on this clock).
 */
export function plainProgress(nodes: { id: string; operator: string }[], write: (line: string) => void = (line) => void process.stderr.write(line)): Progress {
  const operators = new Map(nodes.map((n) => [n.id, n.operator]));
  const last = new Map<string, NodeState>();
  const started = new Map<string, number>();
  let stopped = false;
  return {
    update(node, state, frames) {
      if (stopped || last.get(node) === state) return;
      last.set(node, state);
      if (state === 'running') started.set(node, performance.now());
      const since = started.get(node);
      const ended = state === 'done' || state === 'failed' || state === 'cancelled' || state === 'cached';
      const figures = ended ? ` ${frames} frame${frames === 1 ? '' : 's'}${since !== undefined && state !== 'cached' ? ` ${(performance.now() - since).toFixed(1)} ms` : ''}` : '';
      write(`emflow: node ${node} (${operators.get(node) ?? '?'}) ${state}${figures}\n`);
    },
    stop() {
      stopped = true;
    },
  };
}

export function createProgress(nodes: { id: string; operator: string }[], enabled: boolean | 'plain'): Progress {
  if (enabled === 'plain') return plainProgress(nodes);
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
