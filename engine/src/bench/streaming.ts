// The streaming benchmark: the highest acquisition rate a pipeline keeps up with, for a 20 ms/frame operator
// run as one replica and as four. A paced source emits frames at a set rate; the pipeline keeps up when the
// stream ends on time (the source was never held back by backpressure) and its lag stayed small.
import { Session } from '../session/session.js';
import type { Runtime } from '../runtime/runtime.js';

export interface StreamingRate {
  replicas: number;
  /** the highest rate kept up with (frames/s), and the peak lag at that rate */
  rate: number;
  peakBehindSeconds: number;
}

export interface StreamingBench {
  operatorMs: number;
  /** one replica, then four */
  configurations: StreamingRate[];
  /** four replicas' rate over one replica's */
  ratio: number;
  target: string;
  met: boolean;
}

const OPERATOR_MS = 20;

/** One paced stream through bench-slow: did the pipeline keep up, and how far behind did it fall? */
async function trial(runtime: Runtime, replicas: number, rate: number, seconds: number): Promise<{ keptUp: boolean; peakBehindSeconds: number }> {
  const count = Math.max(20, Math.round(rate * seconds));
  const pipeline = {
    emflow: 1,
    nodes: [
      { id: 'detector', operator: 'bench-paced', params: { size: 4096, count, rate } },
      { id: 'slow', operator: 'bench-slow', params: { ms: OPERATOR_MS }, ...(replicas > 1 ? { replicas: { min: replicas } } : {}) },
      { id: 'sink', operator: 'bench-sink', params: {} },
    ],
    edges: [
      { from: { node: 'detector', port: 'data' }, to: { node: 'slow', port: 'data' } },
      { from: { node: 'slow', port: 'data' }, to: { node: 'sink', port: 'data' } },
    ],
  };
  const session = await Session.open({ pipeline, runtime, cacheBytes: 0, ringSize: 3 });
  try {
    const report = await session.run();
    const due = (count - 1) / rate + OPERATOR_MS / 1000;
    // kept up: done within 10 % (and 100 ms) of when the last frame was due plus its processing
    const keptUp = report.wallMs / 1000 <= due * 1.1 + 0.1;
    return { keptUp, peakBehindSeconds: report.lag?.peakBehindSeconds ?? 0 };
  } finally {
    await session.close();
  }
}

/** Bisect the rate (frames/s) between what surely works and what surely cannot, a few steps. */
async function highestRate(runtime: Runtime, replicas: number, steps: number, seconds: number): Promise<StreamingRate> {
  let low = 5;
  let high = (1000 / OPERATOR_MS) * replicas * 1.5; // above the operator's own limit
  let peak = 0;
  for (let i = 0; i < steps; i++) {
    const rate = Math.round((low + high) / 2);
    const result = await trial(runtime, replicas, rate, seconds);
    if (result.keptUp) {
      low = rate;
      peak = result.peakBehindSeconds;
    } else {
      high = rate;
    }
  }
  return { replicas, rate: low, peakBehindSeconds: peak };
}

export async function streamingBench(runtime: Runtime, quick: boolean): Promise<StreamingBench> {
  const steps = quick ? 3 : 6;
  const seconds = quick ? 0.5 : 2;
  const configurations = [await highestRate(runtime, 1, steps, seconds), await highestRate(runtime, 4, steps, seconds)];
  const ratio = configurations[1].rate / configurations[0].rate;
  return { operatorMs: OPERATOR_MS, configurations, ratio, target: '4 replicas keep up with ≥ 2.5 × the rate of 1', met: ratio >= 2.5 };
}
