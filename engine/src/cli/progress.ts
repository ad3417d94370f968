// Live per-node status on a terminal while a pipeline runs (cli-progress multibar on stderr), or one plain line
// per node state change (`--progress plain`: a Slurm job's log, a file, a pipe).
import cliProgress from 'cli-progress';
import type { LagSnapshot } from '../session/lag.js';
import type { NodeState } from '../session/run.js';

export interface Progress {
  update(node: string, state: NodeState, frames: number): void;
  /** how far the run is behind its acquisition (every second while it goes) */
  lag(snapshot: LagSnapshot): void;
  /** a streaming alert: always shown, whatever the style */
  alert(message: string): void;
  stop(): void;
}

const writeAlert = (message: string) => void process.stderr.write(`emflow: alert: ${message}\n`);
const quiet: Progress = { update() {}, lag() {}, alert: writeAlert, stop() {} };

/** One line of run-wide lag: what a facility watches. */
export function lagLine(s: LagSnapshot): string {
  return `acquired ${s.acquired}, finished ${s.finished}, ${s.behindFrames} behind (${s.behindSeconds.toFixed(1)} s)`;
}

/**
 * One line per state change of a node on `write` (stderr by default): `emflow: node blur (gaussian-blur) running`,
 * `emflow: node blur (gaussian-blur) done 4 frames 12.3 ms` (the time from running to its end, on this clock).
 */
export function plainProgress(nodes: { id: string; operator: string }[], write: (line: string) => void = (line) => void process.stderr.write(line)): Progress {
  const operators = new Map(nodes.map((n) => [n.id, n.operator]));
  const last = new Map<string, NodeState>();
  const started = new Map<string, number>();
  let stopped = false;
  let lastLag = { frames: 0, at: -Infinity };
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
    // a batch log gets the lag only when it changes by a frame or more, at most every 10 s
    lag(snapshot) {
      const now = performance.now();
      if (stopped || snapshot.behindFrames === lastLag.frames || now - lastLag.at < 10_000) return;
      lastLag = { frames: snapshot.behindFrames, at: now };
      write(`emflow: lag: ${lagLine(snapshot)}\n`);
    },
    alert: (message) => write(`emflow: alert: ${message}\n`),
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
      format: '{label} {state} {value} frames{lag}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      fps: 10,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map(nodes.map((n) => [n.id, multibar.create(0, 0, { label: `${n.id} (${n.operator})`.padEnd(width), state: 'waiting'.padEnd(8), lag: '' })]));
  let run: cliProgress.SingleBar | undefined;
  let stopped = false;
  return {
    update(node, state, frames) {
      // after an interrupt, nodes still report their end: the display is gone by then
      if (!stopped) bars.get(node)?.update(frames, { state: state.padEnd(8) });
    },
    lag(snapshot) {
      if (stopped) return;
      for (const [id, n] of Object.entries(snapshot.nodes)) {
        const figures = `  ${n.waiting} waiting  ${n.fps.toFixed(1)}/s${n.oldestSeconds ? `  oldest ${n.oldestSeconds.toFixed(1)} s` : ''}`;
        bars.get(id)?.update({ lag: figures });
      }
      run ??= multibar.create(0, 0, { label: 'lag'.padEnd(width), state: ''.padEnd(8), lag: '' }, { format: '{label} {lag}' });
      run.update({ lag: lagLine(snapshot) });
    },
    alert(message) {
      if (stopped) writeAlert(message);
      else multibar.log(`emflow: alert: ${message}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multibar.stop();
    },
  };
}
