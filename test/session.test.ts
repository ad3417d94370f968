// The engine end to end on the process runtime: real operator processes exchanging frames in /dev/shm.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@emflow/engine';
import type { JsonFrame, NDArray } from '@emflow/sdk';
import { synthesize } from '../operators/synthetic/src/patterns.js';
import { pipeline, processesOf, referenceStats } from './helpers.js';
import { sessionOpener } from './sessions.js';

const open = sessionOpener();

const chain = (count: number, a = 2, b = 1) =>
  pipeline(
    [
      { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 64, height: 48, count, seed: 5 } },
      { id: 'scale', operator: 'scale', params: { a, b } },
      { id: 'stats', operator: 'stats' },
    ],
    ['src.image->scale.image', 'scale.image->stats.image'],
  );

const scaled = (frame: number, a: number, b: number) => synthesize('noise', 64, 48, 5, frame).map((x) => Math.fround(a * x + b));

describe('a session on the process runtime', () => {
  it('runs every operator in its own process and moves real pixels between them', async () => {
    const session = await open(chain(3));
    expect(processesOf(session.paths.dir)).toHaveLength(3);
    const report = await session.run();
    expect(report.nodes).toMatchObject({ src: { frames: 3, cached: false }, scale: { frames: 3, cached: false }, stats: { frames: 3, cached: false } });
    const images = session.outputs('scale', 'image') as NDArray[];
    expect(images.map((f) => [f.dtype, f.shape, f.meta.frame])).toEqual([0, 1, 2].map((i) => ['float32', [48, 64], i]));
    for (let i = 0; i < 3; i++) expect(Array.from(images[i].data)).toEqual(Array.from(scaled(i, 2, 1)));
    const stats = session.outputs('stats', 'stats') as JsonFrame<Record<string, number>>[];
    stats.forEach((s, i) => {
      const expected = referenceStats(scaled(i, 2, 1));
      for (const key of ['mean', 'std', 'min', 'max', 'sum'] as const) expect(s.value[key]).toBeCloseTo(expected[key], 9);
    });
    expect(stats[0].meta).toMatchObject({ source: 'synthetic:noise', frame: 0 });
  });

  it('re-runs only the changed node and what is downstream of it, with the operators kept warm', async () => {
    const session = await open(chain(2));
    const pids = processesOf(session.paths.dir).sort();
    await session.run();
    session.setParams('scale', { a: -1 });
    const second = await session.run();
    expect([second.nodes.src.cached, second.nodes.scale.cached, second.nodes.stats.cached]).toEqual([true, false, false]);
    expect(second.nodes.src.frames).toBe(2);
    const mean = (session.outputs('stats', 'stats')[1] as JsonFrame<{ mean: number }>).value.mean;
    expect(mean).toBeCloseTo(referenceStats(scaled(1, -1, 1)).mean, 9);
    const third = await session.run();
    expect(Object.values(third.nodes).every((n) => n.cached)).toBe(true);
    expect(session.params('scale')).toEqual({ a: -1, b: 1 });
    expect(processesOf(session.paths.dir).sort()).toEqual(pids);
  });

  it('rejects bad params with the pointer of the param, and keeps the old ones', () =>
    open(chain(1)).then((session) => {
      expect(() => session.setParams('scale', { a: 'big' })).toThrow(ValidationError);
      expect(() => session.setParams('scale', { a: 'big' })).toThrow('/nodes/1/params/a: expected number, got "big"');
      expect(() => session.setParams('nope', {})).toThrow('unknown node "nope"');
      expect(session.params('scale')).toEqual({ a: 2, b: 1 });
    }));

  it('runs independent branches in parallel and zips two streams', async () => {
    const document = pipeline(
      [
        { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 64, height: 48, count: 3, seed: 5 } },
        { id: 'double', operator: 'scale', params: { a: 2, b: 0 } },
        { id: 'shift', operator: 'scale', params: { a: 1, b: 10 } },
        { id: 'sum', operator: 'test-sum' },
      ],
      ['src.image->double.image', 'src.image->shift.image', 'double.image->sum.a', 'shift.image->sum.b'],
    );
    const session = await open(document);
    const report = await session.run();
    expect(report.nodes.sum.frames).toBe(3);
    const sums = session.outputs('sum', 'sum') as NDArray[];
    expect(sums[2].dtype).toBe('float64');
    const x = synthesize('noise', 64, 48, 5, 2);
    expect(Array.from(sums[2].data)).toEqual(Array.from(x, (v) => Math.fround(2 * v) + Math.fround(v + 10)));
  });

  it('reuses a single-frame input against every frame of a stream', async () => {
    const document = pipeline(
      [
        { id: 'stream', operator: 'synthetic', params: { pattern: 'noise', width: 8, height: 8, count: 4, seed: 1 } },
        { id: 'reference', operator: 'synthetic', params: { pattern: 'noise', width: 8, height: 8, count: 1, seed: 2 } },
        { id: 'sum', operator: 'test-sum' },
      ],
      ['stream.image->sum.a', 'reference.image->sum.b'],
    );
    const session = await open(document);
    await session.run();
    const sums = session.outputs('sum', 'sum') as NDArray[];
    expect(sums).toHaveLength(4);
    const reference = synthesize('noise', 8, 8, 2, 0);
    const stream3 = synthesize('noise', 8, 8, 1, 3);
    expect(Array.from(sums[3].data)).toEqual(Array.from(stream3, (v, i) => v + reference[i]));
  });

  it('pipelines a long stream through rings of one slot, in order, and honours a frame limit', async () => {
    const session = await open(chain(6), { ringSize: 1 });
    const seen: number[] = [];
    const report = await session.run({ onFrame: ({ node, index, frame }) => void (node === 'stats' && seen.push(index, frame.meta.frame as number)) });
    expect(report.nodes.stats.frames).toBe(6);
    expect(seen).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    const limited = await session.run({ frames: 2 });
    expect([limited.nodes.src.frames, limited.nodes.stats.frames, limited.nodes.src.cached]).toEqual([2, 2, false]);
  });

  it('counts no frame for a source that emitted none, nor for its consumers', async () => {
    for (const as of ['generator', 'call']) {
      const session = await open(pipeline([{ id: 'src', operator: 'test-empty', params: { as } }, { id: 'stats', operator: 'stats' }], ['src.image->stats.image']));
      const report = await session.run();
      expect([report.nodes.src.frames, report.nodes.stats.frames], as).toEqual([0, 0]);
    }
  });

  it('keeps a warm operator process across runs (its state survives)', async () => {
    const document = pipeline(
      [
        { id: 'src', operator: 'synthetic', params: { width: 4, height: 4, count: 2 } },
        { id: 'count', operator: 'test-counter' },
      ],
      ['src.image->count.image'],
    );
    const session = await open(document);
    await session.run();
    session.setParams('src', { seed: 9 });
    await session.run();
    expect((session.outputs('count', 'calls') as JsonFrame<number>[]).map((f) => f.value)).toEqual([3, 4]);
  });

  it('explains what is wrong when outputs are asked for badly', async () => {
    const session = await open(chain(1));
    expect(() => session.outputs('stats', 'stats')).toThrow('node "stats" has not run yet');
    await session.run();
    expect(() => session.outputs('ghost', 'x')).toThrow('unknown node "ghost"');
    expect(() => session.outputs('stats', 'mean')).toThrow('node "stats" (stats) has no output port "mean" (ports: stats)');
  });

  it('drops cached frames beyond the cache budget and says so', async () => {
    const session = await open(chain(3), { cacheBytes: 200_000 });
    const report = await session.run();
    expect(report.nodes.stats.frames).toBe(3);
    expect(() => session.outputs('src', 'image')).toThrow('exceeded the cache budget of 200000 bytes');
    const again = await session.run();
    expect(again.nodes.src.cached).toBe(false);
  });
});
