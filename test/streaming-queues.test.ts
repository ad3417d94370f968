// Edge queues for live viewing: a display branch on a dropping edge samples a stream without slowing the
// branch that processes every frame; drops are counted; blocking stays the default.
import { describe, expect, it } from 'vitest';
import { validatePipeline, type LagSnapshot, type Session } from '@emflow/engine';
import type { JsonFrame } from '@emflow/sdk';
import { synthesize } from '../operators/synthetic/src/patterns.js';
import { pipeline, referenceStats } from './helpers.js';
import { sessionOpener } from './sessions.js';

const open = sessionOpener();
type Stats = JsonFrame<{ mean: number; std: number }>;
const statsOf = (session: Session, node: string) => session.outputs(node, 'stats') as Stats[];

const FRAMES = 40;
const SLOW_MS = 60;
const SIDE = 64;

/** synthetic → stats (every frame), and synthetic → test-slow → view stats through an edge with `queue`. */
function sampled(queue: object | undefined) {
  const document = pipeline(
    [
      { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: SIDE, height: SIDE, count: FRAMES, seed: 5 } },
      { id: 'stats', operator: 'stats' },
      { id: 'slow', operator: 'test-slow', params: { ms: SLOW_MS } },
      { id: 'view', operator: 'stats' },
    ],
    ['src.image->stats.image', 'src.image->slow.image', 'slow.image->view.image'],
  );
  if (queue) Object.assign(document.edges[1], { queue });
  return document;
}

/** Which source frames the sampled branch saw: its stats matched to the main branch's (same operator, same values). */
function sourceFrames(session: Session): number[] {
  const means = statsOf(session, 'stats').map((f) => f.value.mean);
  return statsOf(session, 'view').map((f) => means.indexOf(f.value.mean));
}

/** When each node reached `done`, in ms from the start of the run. */
function doneTimes(session: Session): Map<string, number> {
  const started = performance.now();
  const done = new Map<string, number>();
  session.on('node', ({ node, state }) => void (state === 'done' && !done.has(node) && done.set(node, performance.now() - started)));
  return done;
}

describe('a dropping edge samples a stream', () => {
  it.each([
    ['latest', { policy: 'latest' }],
    ['drop-oldest, size 2', { policy: 'drop-oldest', size: 2 }],
  ])('%s: the main branch gets every frame at full speed, the slow branch the newest ones, and drops are counted', async (_, queue) => {
    const session = await open(sampled(queue));
    const done = doneTimes(session);
    const lags: LagSnapshot[] = [];
    session.on('lag', (snapshot) => lags.push(snapshot));
    const report = await session.run();
    // a frame the sampling branch dropped counts as finished: at the end nothing is behind
    expect(lags.at(-1)).toMatchObject({ acquired: FRAMES, finished: FRAMES, behindFrames: 0 });

    // every frame on the blocking branch, with the values synthetic makes
    const main = statsOf(session, 'stats');
    expect(main.map((f) => f.meta.frame)).toEqual([...Array(FRAMES).keys()]);
    for (const k of [0, 17, FRAMES - 1]) expect(main[k].value.mean).toBeCloseTo(referenceStats(synthesize('noise', SIDE, SIDE, 5, k)).mean, 5);

    // the sampled branch: some frames, in order, the last one among them; the rest dropped and counted
    const seen = sourceFrames(session);
    expect(seen.length).toBeLessThan(FRAMES / 2);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(FRAMES - 1);
    expect(report.nodes.slow.dropped).toEqual({ image: FRAMES - seen.length });
    expect(report.nodes.slow.frames).toBe(seen.length);

    // the slow branch never held the producer back: the main branch was done long before the slow one could
    // have processed every frame (FRAMES × SLOW_MS = 2.4 s)
    expect(done.get('stats')!).toBeLessThan((FRAMES * SLOW_MS) / 2);
    expect(done.get('stats')!).toBeLessThan(done.get('view')!);
  });

  it('without a queue the edge blocks: every frame reaches the slow branch and the producer waits for it', async () => {
    const session = await open(sampled(undefined));
    const done = doneTimes(session);
    const report = await session.run();
    expect(sourceFrames(session)).toEqual([...Array(FRAMES).keys()]);
    expect(report.nodes.slow.dropped).toBeUndefined();
    expect(done.get('stats')!).toBeGreaterThan((FRAMES - 3) * SLOW_MS * 0.9);
  });

  it('a sampling node is never served from the cache; what it samples from is', async () => {
    const session = await open(sampled({ policy: 'latest' }));
    await session.run();
    const again = await session.run();
    expect([again.nodes.src.cached, again.nodes.stats.cached]).toEqual([true, true]);
    expect([again.nodes.slow.cached, again.nodes.view.cached]).toEqual([false, false]);
    // replayed at once from the cache, the stream reaches the sampler as a burst: it sees the newest frame
    expect(sourceFrames(session)).toEqual([FRAMES - 1]);
  });
});

describe('queue settings are checked', () => {
  it('names the edge and what is wrong', async () => {
    const problems = async (queue: object) => (await validatePipeline(sampled(queue), { operatorDirs: (await import('./helpers.js')).operatorDirs })).map((p) => `${p.pointer}: ${p.message}`);
    expect(await problems({ policy: 'latest', size: 3 })).toEqual(['/edges/1/queue/size: "latest" keeps only the newest frame: leave size out (or use "drop-oldest" to keep more)']);
    expect((await problems({ policy: 'newest' }))[0]).toMatch(/^\/edges\/1\/queue\/policy: /);
    expect((await problems({ policy: 'drop-oldest', size: 0 }))[0]).toMatch(/^\/edges\/1\/queue\/size: /);
    expect((await problems({ size: 2 }))[0]).toMatch(/^\/edges\/1\/queue: .*policy/);
  });
});
