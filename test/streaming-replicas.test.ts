// Replicas: a slow node run as several warm operator processes that share its input queue; results stay in
// frame order; with max > min, replicas are added while the queue stays deep, and each change is reported.
import { describe, expect, it } from 'vitest';
import { RunError, validatePipeline, type Session } from '@emflow/engine';
import type { JsonFrame } from '@emflow/sdk';
import { synthesize } from '../operators/synthetic/src/patterns.js';
import { operatorDirs, pipeline, processesOf, referenceStats, root } from './helpers.js';
import { sessionOpener } from './sessions.js';

const open = sessionOpener();
const benchOperators = `${root}engine/bench-operators`;
const SIDE = 48;
const SLOW_MS = 100;

/** synthetic → test-slow (with `replicas`) → stats: the stats of each frame, in the order stats got them. */
function slowStream(frames: number, replicas: object, slow = 'test-slow', params: Record<string, unknown> = { ms: SLOW_MS }) {
  const document = pipeline(
    [
      { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: SIDE, height: SIDE, count: frames, seed: 3 } },
      { id: 'slow', operator: slow, params },
      { id: 'stats', operator: 'stats' },
    ],
    ['src.image->slow.image', 'slow.image->stats.image'],
  );
  Object.assign(document.nodes[1], { replicas });
  return document;
}

/** The means stats saw, against those of synthetic's frames 0..n−1 computed here. */
function expectFramesInOrder(session: Session, frames: number): void {
  const seen = (session.outputs('stats', 'stats') as JsonFrame<{ mean: number }>[]).map((f) => f.value.mean);
  const expected = Array.from({ length: frames }, (_, k) => referenceStats(synthesize('noise', SIDE, SIDE, 3, k)).mean);
  expect(seen).toHaveLength(frames);
  seen.forEach((mean, k) => expect(mean, `frame ${k}`).toBeCloseTo(expected[k], 6));
}

describe('a node with replicas', () => {
  it('runs min warm processes that share the frames, in frame order, about that many times faster', async () => {
    const FRAMES = 24;
    const session = await open(slowStream(FRAMES, { min: 3 }));
    // three operator processes for the slow node, each with a slot folder of its own
    const slowPids = () => processesOf(session.paths.dir).length;
    expect(slowPids()).toBe(2 + 3);
    const report = await session.run();
    expectFramesInOrder(session, FRAMES);
    expect(report.nodes.slow.frames).toBe(FRAMES);
    expect(report.nodes.slow.replicas).toEqual({ peak: 3, changes: [] });
    // one process would take FRAMES × SLOW_MS = 2.4 s; three take a third of that, plus start-up of the stream
    expect(report.wallMs).toBeLessThan((FRAMES * SLOW_MS) / 2);
    expect(report.wallMs).toBeGreaterThan((FRAMES * SLOW_MS) / 3 - 50);
    // warm across runs: the next run (cached upstream) uses the same processes
    const again = await session.run();
    expect(again.nodes.slow.cached).toBe(true);
  });

  it('with max > min adds replicas while its queue stays deep, reports each change, and keeps frame order', async () => {
    const FRAMES = 40;
    const session = await open(slowStream(FRAMES, { min: 1, max: 4, threshold: 2 }), { ringSize: 4 });
    const events: { node: string; replicas: number; reason: string }[] = [];
    session.on('replicas', (change) => events.push(change));
    const report = await session.run();
    expectFramesInOrder(session, FRAMES);
    const { peak, changes } = report.nodes.slow.replicas!;
    expect(peak).toBeGreaterThanOrEqual(2);
    expect(peak).toBeLessThanOrEqual(4);
    expect(changes.length).toBeGreaterThanOrEqual(peak - 1);
    expect(changes.map((c) => c.replicas).slice(0, peak - 1)).toEqual(Array.from({ length: peak - 1 }, (_, i) => i + 2));
    for (const c of changes.filter((c) => c.reason.includes('waiting'))) expect(c.reason).toMatch(/^\d+ frames waiting \(threshold 2\)$/);
    expect(events.map((e) => [e.node, e.replicas])).toEqual(changes.map((c) => ['slow', c.replicas]));
    // faster than one process alone (4 s)
    expect(report.wallMs).toBeLessThan(FRAMES * SLOW_MS * 0.85);
  });

  it('a failure in one replica fails the run naming the node, and the session runs again', async () => {
    const session = await open(slowStream(8, { min: 2 }, 'test-faulty', { mode: 'throw', at: 3 }));
    const error = (await session.run().catch((e: unknown) => e)) as RunError;
    expect(error).toBeInstanceOf(RunError);
    expect(error.failure.node).toBe('slow');
    expect(error.message).toMatch(/^node "slow" \(test-faulty\) on frame 3: RangeError: deliberate failure at frame 3/);
    session.setParams('slow', { mode: 'ok' });
    expect((await session.run()).nodes.stats.frames).toBe(8);
  });
});

describe('an acquisition one replica cannot keep up with', () => {
  // bench-paced emits like a detector: frame k is due k / rate s after the start, and is late when the
  // pipeline holds it back; a 20 ms/frame operator manages 50 frames/s alone
  const RATE = 100;
  const FRAMES = 300;
  const acquisition = (replicas: object | undefined) => {
    const document = pipeline(
      [
        { id: 'detector', operator: 'bench-paced', params: { size: 1024, count: FRAMES, rate: RATE } },
        { id: 'slow', operator: 'bench-slow', params: { ms: 20 } },
        { id: 'stats', operator: 'stats' },
      ],
      ['detector.data->slow.data', 'slow.data->stats.image'],
    );
    if (replicas) Object.assign(document.nodes[1], { replicas });
    return document;
  };
  const due = (FRAMES - 1) / RATE; // 2.99 s

  it('is kept up with by replicas added as the queue deepens: every frame, in order, on time', async () => {
    const single = await open(acquisition(undefined), { operatorDirs: [...operatorDirs, benchOperators], ringSize: 3 });
    const alone = await single.run();
    // alone it falls behind: the detector is held back and the stream ends about FRAMES × 20 ms = 6 s in
    expect(alone.wallMs / 1000).toBeGreaterThan(due * 1.5);

    const scaled = await open(acquisition({ min: 1, max: 4, threshold: 2 }), { operatorDirs: [...operatorDirs, benchOperators], ringSize: 3 });
    const report = await scaled.run();
    const means = (scaled.outputs('stats', 'stats') as JsonFrame<{ mean: number }>[]).map((f) => f.value.mean);
    expect(means).toEqual(Array.from({ length: FRAMES }, (_, k) => k)); // bench-paced fills frame k with k
    expect(report.nodes.slow.replicas!.peak).toBeGreaterThanOrEqual(2);
    // the replicas catch up: the stream ends close to when its last frame was due, well before one replica alone
    expect(report.wallMs).toBeLessThan(alone.wallMs * 0.75);
    expect(report.wallMs / 1000).toBeLessThan(due * 1.5);
    expect(report.lag!.peakBehindFrames).toBeLessThanOrEqual(3 + report.nodes.slow.replicas!.peak + 1);
  });
});

describe('replicas are checked', () => {
  it('refuses them on a source, on a node with several inputs, and max below min', async () => {
    const problems = async (document: object) => (await validatePipeline(document, { operatorDirs })).map((p) => `${p.pointer}: ${p.message}`);
    const source = slowStream(4, { min: 1 });
    Object.assign(source.nodes[0], { replicas: { min: 2 } });
    expect(await problems(source)).toEqual(['/nodes/0/replicas: a source has no input frames to share among replicas']);
    expect(await problems(slowStream(4, { min: 3, max: 2 }))).toEqual(['/nodes/1/replicas/max: max (2) must be at least min (3)']);
    expect((await problems(slowStream(4, { min: 0 })))[0]).toMatch(/^\/nodes\/1\/replicas\/min: /);
  });
});
