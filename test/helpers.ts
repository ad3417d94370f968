// Shared helpers of the integration tests: pipelines built in code, and leak checks against /proc and /dev/shm.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const operatorDirs = [resolve(root, 'operators'), resolve(root, 'test/operators')];

export interface NodeSketch {
  id: string;
  operator: string;
  params?: Record<string, unknown>;
}

/** A pipeline document from nodes and "from.port->to.port" edges. */
export function pipeline(nodes: NodeSketch[], edges: string[]) {
  return {
    emflow: 1 as const,
    name: 'test',
    nodes: nodes.map((n) => ({ params: {}, ...n })),
    edges: edges.map((e) => {
      const [from, to] = e.split('->');
      const [fn, fp] = from.split('.');
      const [tn, tp] = to.split('.');
      return { from: { node: fn, port: fp }, to: { node: tn, port: tp } };
    }),
  };
}

/** PIDs of live processes whose environment points at this session directory. */
export function processesOf(sessionDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (env.includes(`EMFLOW_SESSION_DIR=${sessionDir}\0`) && !/\) Z /.test(stat)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** Nothing of the session is left: no directory, no operator process. */
export async function expectNoLeaks(sessionDir: string): Promise<void> {
  for (let i = 0; i < 50 && processesOf(sessionDir).length; i++) await new Promise((r) => setTimeout(r, 100));
  if (existsSync(sessionDir)) throw new Error(`session directory ${sessionDir} was left behind`);
  const left = processesOf(sessionDir);
  if (left.length) throw new Error(`operator processes left behind: ${left.join(', ')}`);
}

/** float64 statistics computed here, independently of the stats operator. */
export function referenceStats(values: ArrayLike<number>) {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  const mean = sum / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length), min, max, sum };
}
