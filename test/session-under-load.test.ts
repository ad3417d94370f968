// The session engine under the load an editor and a facility put on it: a stream into a slow consumer,
// params changed while a run is going, files changing between runs, a failure beside a watching source.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunError, RunStopped, type Session } from '@emflow/engine';
import type { JsonFrame } from '@emflow/sdk';
import { synthesize } from '../operators/synthetic/src/patterns.js';
import { expectNoLeaks, pipeline, processesOf, referenceStats, root, type NodeSketch } from './helpers.js';
import { sessionOpener } from './sessions.js';

const open = sessionOpener();
const scratch = mkdtempSync(join(tmpdir(), 'emflow-load-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Stats = JsonFrame<{ mean: number; std: number }>;
/** A source feeding a `stats` node from its output `port`. */
const intoStats = (source: NodeSketch, port: string) => pipeline([source, { id: 'stats', operator: 'stats' }], [`${source.id}.${port}->stats.image`]);
const statsOf = (session: Session, node = 'stats') => (session.outputs(node, 'stats') as Stats[]).map((f) => f.value);

/** Slot files in the session directory (one folder per node) right now: how many, and their bytes. */
function slotUse(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const folder of readdirSync(dir, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    for (const name of readdirSync(join(dir, folder.name))) {
      const stat = statSync(join(dir, folder.name, name), { throwIfNoEntry: false });
      if (!stat) continue; // deleted meanwhile
      bytes += stat.size;
      files++;
    }
  }
  return { files, bytes };
}

describe('backpressure holds with the result cache on', () => {
  const SIDE = 256;
  const FRAMES = 30;
  const RING = 2;
  // one slot of a 256² float32 frame: the values behind 64 KiB of header room, in whole pages
  const SLOT = Math.ceil((65536 + SIDE * SIDE * 4 + 8) / 4096) * 4096;

  async function streamIntoSlowConsumer(cacheBytes?: number) {
    const document = pipeline(
      [
        { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: SIDE, height: SIDE, count: FRAMES, seed: 1 } },
        { id: 'slow', operator: 'test-slow', params: { ms: 40 } },
        { id: 'stats', operator: 'stats' },
      ],
      ['src.image->slow.image', 'slow.image->stats.image'],
    );
    const session = await open(document, { ringSize: RING, ...(cacheBytes === undefined ? {} : { cacheBytes }) });
    const frames = { src: 0, slow: 0 };
    const peak = { ahead: 0, files: 0, bytes: 0 };
    session.on('node', ({ node, frames: n }) => {
      if (node !== 'src' && node !== 'slow') return;
      frames[node] = n;
      const use = slotUse(session.paths.dir);
      peak.ahead = Math.max(peak.ahead, frames.src - frames.slow);
      peak.files = Math.max(peak.files, use.files);
      peak.bytes = Math.max(peak.bytes, use.bytes);
    });
    const report = await session.run();
    expect(report.nodes.stats.frames).toBe(FRAMES);
    return { peak, report, session };
  }

  it('keeps the producer at most its ring ahead with the default cache, which keeps the whole stream', async () => {
    const { peak, session } = await streamIntoSlowConsumer();
    expect(peak.ahead).toBeLessThanOrEqual(RING);
    // every frame of src and slow is kept by the cache (it fits the default budget), served on the next run
    expect(statsOf(session)).toHaveLength(FRAMES);
    const again = await session.run();
    expect(Object.values(again.nodes).every((n) => n.cached)).toBe(true);
  });

  it('keeps the producer at most its ring ahead with the cache off, with no more slot files than the rings', async () => {
    const { peak } = await streamIntoSlowConsumer(0);
    expect(peak.ahead).toBeLessThanOrEqual(RING);
    // src and slow own a ring each; stats' small JSON slots sit in its own ring
    expect(peak.files).toBeLessThanOrEqual(3 * RING);
    expect(peak.bytes).toBeLessThanOrEqual(2 * RING * SLOT + RING * 69632);
  });

  it('bounds shared memory by the rings plus the cache budget, and says once that a stream did not fit', async () => {
    const budget = 8 * SLOT;
    const { peak, report } = await streamIntoSlowConsumer(budget);
    expect(peak.ahead).toBeLessThanOrEqual(RING);
    expect(peak.bytes).toBeLessThanOrEqual(2 * RING * SLOT + RING * 69632 + budget);
    expect(report.notes.length).toBeGreaterThanOrEqual(1);
    for (const note of report.notes) expect(note).toMatch(/^the outputs of node "(src|slow|stats)" \(30 frames\) exceed the result cache budget of 2654208 bytes/);
  });
});

describe('setParams during a run', () => {
  const chain = (count: number) =>
    pipeline(
      [
        { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 64, height: 48, count, seed: 3 } },
        { id: 'scale', operator: 'scale', params: { a: 1, b: 0 } },
        { id: 'slow', operator: 'test-slow', params: { ms: 25 } },
        { id: 'stats', operator: 'stats' },
      ],
      ['src.image->scale.image', 'scale.image->slow.image', 'slow.image->stats.image'],
    );
  const expectedStd = (count: number, a: number) => Array.from({ length: count }, (_, i) => referenceStats(synthesize('noise', 64, 48, 3, i).map((x) => Math.fround(a * x))).std);
  const expectStd = (session: Session, count: number, a: number) => {
    const stds = statsOf(session).map((s) => s.std);
    expect(stds).toHaveLength(count);
    expectedStd(count, a).forEach((std, i) => expect(stds[i]).toBeCloseTo(std, 6));
  };

  it('never mixes values: the latest wins, and a cache entry holds only frames of its own params', async () => {
    const session = await open(chain(6));
    let changed = false;
    session.on('node', ({ node, frames }) => {
      if (node === 'scale' && frames === 2 && !changed) {
        changed = true;
        session.setParams('scale', { a: 100 });
      }
    });
    const report = await session.run();
    expect(changed).toBe(true);
    expect(report.restarts).toBe(1);
    expectStd(session, 6, 100);
    // back to a = 1: computed again, never served from frames of the abandoned pass
    session.setParams('scale', { a: 1 });
    const back = await session.run();
    expect(back.nodes.scale.cached).toBe(false);
    expectStd(session, 6, 1);
  });

  it('coalesces a burst of 50 changes during a 20-frame stream into few passes, ending on the last value', async () => {
    const session = await open(chain(20));
    const pids = processesOf(session.paths.dir).sort();
    let burst: Promise<void> | undefined;
    session.on('node', ({ node, frames }) => {
      if (node !== 'scale' || frames !== 3 || burst) return;
      burst = (async () => {
        for (let a = 1; a <= 50; a++) {
          session.setParams('scale', { a });
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
    });
    const report = await session.run();
    await burst;
    expect(report.restarts).toBeGreaterThanOrEqual(1);
    expect(report.restarts).toBeLessThanOrEqual(3);
    expectStd(session, 20, 50);
    // abandoned calls were cancelled, not killed: the same operator processes serve on
    expect(processesOf(session.paths.dir).sort()).toEqual(pids);
  });
});

describe('stop() during a run', () => {
  it('ends a stream at once with RunStopped, keeps the operators warm, and the next run completes', async () => {
    const session = await open(
      pipeline(
        [
          { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 64, height: 48, count: 40, seed: 3 } },
          { id: 'slow', operator: 'test-slow', params: { ms: 25 } },
          { id: 'stats', operator: 'stats' },
        ],
        ['src.image->slow.image', 'slow.image->stats.image'],
      ),
    );
    const pids = processesOf(session.paths.dir).sort();
    expect(session.stop()).toBe(false);
    let stoppedAt = 0;
    session.on('node', ({ node, frames }) => {
      if (node === 'slow' && frames === 3 && !stoppedAt) {
        stoppedAt = performance.now();
        expect(session.stop()).toBe(true);
      }
    });
    await expect(session.run()).rejects.toBeInstanceOf(RunStopped);
    // far from the 40 × 25 ms the stream would have taken
    expect(performance.now() - stoppedAt).toBeLessThan(500);
    expect(processesOf(session.paths.dir).sort()).toEqual(pids);
    const report = await session.run({ frames: 5 });
    expect(report.nodes.stats.frames).toBe(5);
    expect(statsOf(session)[4].std).toBeCloseTo(referenceStats(synthesize('noise', 64, 48, 3, 4)).std, 6);
  });
});

describe('files named by path params are part of the cache key', () => {
  const micrographs = join(root, 'data/micrographs');
  const [first, second, third] = readdirSync(micrographs).filter((n) => n.endsWith('.mrc')).sort();

  it('re-runs a folder source when a file is added, overwritten, or replaced by one of the same size', async () => {
    const folder = mkdtempSync(join(scratch, 'folder-'));
    copyFileSync(join(micrographs, first), join(folder, 'a.mrc'));
    copyFileSync(join(micrographs, second), join(folder, 'b.mrc'));
    const session = await open(intoStats({ id: 'src', operator: 'folder-source', params: { folder, pattern: '*.mrc' } }, 'image'));
    await session.run();
    const [meanA, meanB] = statsOf(session).map((s) => s.mean);
    expect(meanA).not.toBeCloseTo(meanB, 6);
    expect((await session.run()).nodes.src.cached).toBe(true);

    copyFileSync(join(micrographs, third), join(folder, 'c.mrc'));
    const added = await session.run();
    expect([added.nodes.src.cached, added.nodes.src.frames]).toEqual([false, 3]);

    // b overwritten in place with a's bytes (same size): b's frame now has a's mean
    writeFileSync(join(folder, 'b.mrc'), readFileSync(join(folder, 'a.mrc')));
    const overwritten = await session.run();
    expect(overwritten.nodes.src.cached).toBe(false);
    expect(statsOf(session)[1].mean).toBeCloseTo(meanA, 9);

    // a replaced by renaming another file of the same size over it
    writeFileSync(join(folder, 'new.tmp'), readFileSync(join(micrographs, second)));
    renameSync(join(folder, 'new.tmp'), join(folder, 'a.mrc'));
    const replaced = await session.run();
    expect(replaced.nodes.src.cached).toBe(false);
    expect(statsOf(session)[0].mean).toBeCloseTo(meanB, 9);
  });

  it('re-runs a file reader when the file at its path changes', async () => {
    const path = join(mkdtempSync(join(scratch, 'file-')), 'm.mrc');
    copyFileSync(join(micrographs, first), path);
    const session = await open(intoStats({ id: 'read', operator: 'mrc-reader', params: { path, sections: 'frames' } }, 'section'));
    await session.run();
    const before = statsOf(session)[0].mean;
    writeFileSync(path, readFileSync(join(micrographs, second)));
    const after = await session.run();
    expect(after.nodes.read.cached).toBe(false);
    expect(statsOf(session)[0].mean).not.toBeCloseTo(before, 6);
  });

  it('never serves a source cut short by a frame limit as a complete result', async () => {
    const folder = mkdtempSync(join(scratch, 'watch-'));
    copyFileSync(join(micrographs, first), join(folder, 'a.mrc'));
    const session = await open(intoStats({ id: 'src', operator: 'folder-source', params: { folder, pattern: '*.mrc', watch: true, interval: 20 } }, 'image'));
    expect((await session.run({ frames: 1 })).nodes.src.cached).toBe(false);
    const again = await session.run({ frames: 1 });
    expect([again.nodes.src.cached, again.nodes.stats.cached]).toEqual([false, false]);
  });
});

describe('a failure ends the run promptly', () => {
  it('rejects within 100 ms of the failure while a watching source waits on a parallel branch, and keeps the operators warm', async () => {
    const folder = mkdtempSync(join(scratch, 'empty-'));
    const session = await open(
      pipeline(
        [
          { id: 'watch', operator: 'folder-source', params: { folder, pattern: '*.mrc', watch: true, interval: 20 } },
          { id: 'watched', operator: 'stats' },
          { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 32, height: 32, count: 3 } },
          { id: 'bad', operator: 'test-faulty', params: { mode: 'throw', at: 1 } },
          { id: 'after', operator: 'stats' },
        ],
        ['watch.image->watched.image', 'src.image->bad.image', 'bad.image->after.image'],
      ),
      { timeoutMs: 20_000 },
    );
    const pids = processesOf(session.paths.dir).sort();
    let failedAt = 0;
    session.on('node', ({ node, state }) => {
      if (node === 'bad' && state === 'failed') failedAt = performance.now();
    });
    const error = await session.run().catch((e: unknown) => e);
    const rejectedAt = performance.now();
    expect(error).toBeInstanceOf(RunError);
    expect((error as RunError).failure).toMatchObject({ node: 'bad', frame: 1 });
    expect(failedAt).toBeGreaterThan(0);
    expect(rejectedAt - failedAt).toBeLessThan(100);
    expect(processesOf(session.paths.dir).sort()).toEqual(pids);

    // the next run works with the same operators: a file arrives for the watcher, the fault is switched off
    session.setParams('bad', { mode: 'ok' });
    copyFileSync(join(root, 'data/micrographs', readdirSync(join(root, 'data/micrographs')).filter((n) => n.endsWith('.mrc'))[0]), join(folder, 'a.mrc'));
    const report = await session.run({ frames: 1 });
    expect([report.nodes.watched.frames, report.nodes.after.frames]).toEqual([1, 1]);
    expect(processesOf(session.paths.dir).sort()).toEqual(pids);
  });
});

describe('frames of any size are written in place or refused before anything is written', () => {
  const probe = (width: number, count: number) =>
    pipeline(
      [
        { id: 'src', operator: 'synthetic', params: { pattern: 'gaussian-blobs', width, height: width, count, seed: 2 } },
        { id: 'probe', operator: 'test-alloc-probe' },
        { id: 'stats', operator: 'stats' },
      ],
      ['src.image->probe.image', 'probe.image->stats.image'],
    );

  it('writes the first frame of every port straight into its slot, as every later one', async () => {
    const session = await open(probe(512, 3));
    await session.run();
    expect(session.outputs('probe', 'probe').map((f) => (f as JsonFrame<{ inSlot: boolean }>).value.inSlot)).toEqual([true, true, true]);
    // the values are the source's, recomputed here
    statsOf(session).forEach((s, i) => expect(s.mean).toBeCloseTo(referenceStats(synthesize('gaussian-blobs', 512, 512, 2, i)).mean, 9));
  });

  it('carries metadata larger than the 64 KiB header room', async () => {
    const session = await open(
      pipeline(
        [
          { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 64, height: 64, count: 2, seed: 9 } },
          { id: 'meta', operator: 'test-big-meta', params: { bytes: 200_000 } },
          { id: 'stats', operator: 'stats' },
        ],
        ['src.image->meta.image', 'meta.image->stats.image'],
      ),
    );
    await session.run();
    const frames = session.outputs('stats', 'stats') as JsonFrame<{ mean: number }>[];
    expect(frames.map((f) => (f.meta as { note?: string }).note?.length)).toEqual([200_000, 200_000]);
    frames.forEach((f, i) => expect(f.value.mean).toBeCloseTo(referenceStats(synthesize('noise', 64, 64, 9, i)).mean, 9));
  });

  it('refuses a frame above the per-frame maximum, naming node, port and limit', async () => {
    const session = await open(probe(2048, 1), { maxFrameBytes: 8 * 2 ** 20 });
    const error = (await session.run().catch((e: unknown) => e)) as RunError;
    expect(error).toBeInstanceOf(RunError);
    expect(error.failure.node).toBe('src');
    expect(error.message).toMatch(/output "image" .*needs 16842760 bytes, more than the 8388608 bytes the engine allows for one frame/);
    expect(slotUse(session.paths.dir).bytes).toBeLessThan(2 ** 20);
  });

  it('refuses a frame that does not fit the free shared memory instead of dying of SIGBUS', async () => {
    const shm = mkdtempSync(join(scratch, 'small-shm-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'emflow-test-shm', shm]);
    const previous = process.env.EMFLOW_SHM_DIR;
    process.env.EMFLOW_SHM_DIR = shm;
    try {
      const session = await open(probe(2048, 1), { cacheBytes: 0 });
      const error = (await session.run().catch((e: unknown) => e)) as RunError;
      expect(error).toBeInstanceOf(RunError);
      expect(error.message).toMatch(/output "image" .*needs 16842760 bytes, more than the \d+ bytes the engine allows for one frame \(its per-frame limit or the free shared memory\)/);
      await session.close();
      await expectNoLeaks(session.paths.dir);
      expect(readdirSync(shm)).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.EMFLOW_SHM_DIR;
      else process.env.EMFLOW_SHM_DIR = previous;
      execFileSync('umount', [shm]);
    }
  });
});

describe('the session directory', () => {
  it('has a control socket only its user may connect to, and a private slot folder per node', async () => {
    const previous = process.umask(0);
    try {
      const session = await open(pipeline([{ id: 'src', operator: 'synthetic', params: { width: 8, height: 8 } }], []));
      expect(statSync(join(session.paths.dir, 'control.sock')).mode & 0o777).toBe(0o600);
      expect(statSync(join(session.paths.dir, 'src')).mode & 0o777).toBe(0o700);
      await session.run();
      expect(readdirSync(join(session.paths.dir, 'src')).every((name) => /^image\.\d+$/.test(name))).toBe(true);
    } finally {
      process.umask(previous);
    }
  });
});
