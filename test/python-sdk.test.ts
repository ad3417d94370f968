// Python operators (sdk/python, emflow_sdk) in real pipelines on the process runtime: zero-copy inputs and
// in-place outputs, slots that grow, generators, JSON, scalar and table frames to and from TypeScript operators,
// errors with their traceback, logs, setup/teardown, cancel, killed processes, the engine going away, and what
// `emflow operators` says about Python folders that cannot be used. The operators are test/operators/python/*.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunError, RunStopped, type Session } from '@emflow/engine';
import { NDArray, TENSOR_BODY_OFFSET, encodeFrame, readLines, type JsonFrame, type TableFrame } from '@emflow/sdk';
import { synthesize } from '../operators/synthetic/src/patterns.js';
import { firstDifference, operatorDirs, pipeline, processesOf, python, referenceStats, root } from './helpers.js';
import { sessionOpener } from './sessions.js';

const pythonOperators = resolve(root, 'test/operators/python');
const dirs = [...operatorDirs, pythonOperators];
const opener = sessionOpener();
const open = (document: object, options: Parameters<typeof opener>[1] = {}) => opener(document, { operatorDirs: dirs, ...options });
const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'emflow-python-sdk-')));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The pid of the operator process serving `node` (the process runtime sets EMFLOW_NODE). */
function pidOf(session: Session, node: string): number {
  const pids = processesOf(session.paths.dir).filter((pid) => readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`\0EMFLOW_NODE=${node}\0`));
  expect(pids, `operator process of node "${node}"`).toHaveLength(1);
  return pids[0];
}

const noise = (width: number, height: number, count: number, seed = 5) => ({ id: 'src', operator: 'synthetic', params: { pattern: 'noise', width, height, count, seed } });
/** float32 a·x + b, rounded once from float64 (what numpy's float64 arithmetic then astype(float32) gives). */
const affine = (x: Float32Array, a: number, b: number) => Float32Array.from(x, (v) => a * v + b);
/** Where a frame's values sit in its slot: the session maps slots from their first byte, and decoded arrays are views. */
const valuesOffset = (frame: NDArray) => frame.data.byteOffset;
/** A run error's first line: the engine adds the operator's last output lines below it. */
const firstLine = (error: Error) => error.message.split('\n')[0];

describe('Python filters', () => {
  it('compute into the output slot with ctx.alloc (zero copy) or return a new array (one copy), from read-only views of the input', async () => {
    const session = await open(
      pipeline(
        [noise(64, 48, 3), { id: 'inplace', operator: 'py-affine', params: { a: 2, b: -1 } }, { id: 'copy', operator: 'py-affine', params: { a: -0.5, b: 3, alloc: false } }, { id: 'stats', operator: 'stats' }],
        ['src.image->inplace.image', 'src.image->copy.image', 'inplace.image->stats.image'],
      ),
    );
    const report = await session.run();
    expect([report.nodes.inplace.frames, report.nodes.copy.frames, report.nodes.stats.frames]).toEqual([3, 3, 3]);
    const inplace = session.outputs('inplace', 'image') as NDArray[];
    const copy = session.outputs('copy', 'image') as NDArray[];
    for (let i = 0; i < 3; i++) {
      const x = synthesize('noise', 64, 48, 5, i);
      expect([inplace[i].dtype, inplace[i].shape, copy[i].dtype, copy[i].shape]).toEqual(['float32', [48, 64], 'float32', [48, 64]]);
      expect(firstDifference(inplace[i].data as Float32Array, affine(x, 2, -1)), `frame ${i} in place`).toBeUndefined();
      expect(firstDifference(copy[i].data as Float32Array, affine(x, -0.5, 3)), `frame ${i} copied`).toBeUndefined();
      // the values stayed where ctx.alloc put them, the header in front: the SlotRef's offset is 65536 − header length
      expect(valuesOffset(inplace[i])).toBe(TENSOR_BODY_OFFSET);
      // a new array is copied behind the header, at the header length rounded up to 64
      expect(valuesOffset(copy[i])).toBeLessThan(2048);
      expect(valuesOffset(copy[i]) % 64).toBe(0);
      // metadata: the input's, the operator's own on top, frame set by the SDK
      expect(inplace[i].meta).toMatchObject({ source: 'synthetic:noise', units: 'px', pixelSize: [1, 1], frame: i, affine: [2, -1] });
      expect(copy[i].meta).toMatchObject({ source: 'synthetic:noise', frame: i });
    }
    const stats = session.outputs('stats', 'stats') as JsonFrame<{ mean: number }>[];
    expect(stats[2].value.mean).toBeCloseTo(referenceStats(affine(synthesize('noise', 64, 48, 5, 2), 2, -1)).mean, 9);
  });

  it('write a frame larger than the first grant by growing the slot, in place or copied', async () => {
    for (const alloc of [true, false]) {
      const session = await open(pipeline([{ id: 'src', operator: 'py-ramp', params: { width: 2048, height: 2048, count: 2, alloc } }, { id: 'stats', operator: 'stats' }], ['src.image->stats.image']));
      await session.run();
      const frames = session.outputs('src', 'image') as NDArray[];
      expect(frames.map((f) => [f.dtype, f.shape, f.meta.frame])).toEqual([
        ['float32', [2048, 2048], 0],
        ['float32', [2048, 2048], 1],
      ]);
      frames.forEach((frame, k) => {
        const values = frame.data as Float32Array;
        let bad = -1;
        for (let i = 0; i < values.length && bad < 0; i++) if (values[i] !== i + k / 2) bad = i;
        expect(bad, `frame ${k} (alloc ${alloc}): first wrong element`).toBe(-1);
        if (alloc) expect(valuesOffset(frame)).toBe(TENSOR_BODY_OFFSET);
        else expect(valuesOffset(frame)).toBeLessThan(2048);
      });
      const stats = session.outputs('stats', 'stats') as JsonFrame<{ sum: number }>[];
      const n = 2048 * 2048;
      expect(stats.map((s) => s.value.sum)).toEqual([(n * (n - 1)) / 2, (n * (n - 1)) / 2 + n / 2]);
      await session.close();
    }
  });

  it('refuse a frame over the per-frame maximum with a message naming the node and port', async () => {
    const messages: string[] = [];
    for (const alloc of [true, false]) {
      const session = await open(pipeline([{ id: 'src', operator: 'py-ramp', params: { width: 2048, height: 2048, count: 1, alloc } }, { id: 'stats', operator: 'stats' }], ['src.image->stats.image']), {
        maxFrameBytes: 8 * 2 ** 20,
      });
      const error = (await session.run().catch((e: unknown) => e)) as RunError;
      expect(error).toBeInstanceOf(RunError);
      expect(error.failure).toMatchObject({ node: 'src', operator: 'py-ramp', frame: 0 });
      messages.push(firstLine(error));
      await session.close();
    }
    expect(messages[0]).toBe(
      'node "src" (py-ramp) on frame 0: ValueError: ctx.alloc: output "image" (float32 [2048, 2048]) needs 16842760 bytes, more than the 8388608 bytes the engine allows for one frame (its per-frame limit or the free shared memory)',
    );
    expect(messages[1]).toMatch(/^node "src" \(py-ramp\) on frame 0: \w+: output "image" of node "src" needs a slot of 16\.1 MiB, more than the per-frame maximum of 8\.0 MiB \(maxFrameBytes\)$/);
  });
});

describe('a Python generator source', () => {
  it('is stopped by a frame limit, and the next run starts a new stream in the same warm process', async () => {
    const session = await open(pipeline([{ id: 'src', operator: 'py-ramp', params: { count: 5, alloc: true } }, { id: 'stats', operator: 'stats' }], ['src.image->stats.image']));
    const pid = pidOf(session, 'src');
    const limited = await session.run({ frames: 2 });
    expect([limited.nodes.src.frames, limited.nodes.stats.frames]).toEqual([2, 2]);
    expect((session.outputs('src', 'image') as NDArray[]).map((f) => f.meta.yielded)).toEqual([1, 2]);

    const full = await session.run();
    expect([full.nodes.src.frames, full.nodes.src.cached, full.nodes.stats.frames]).toEqual([5, false, 5]);
    const frames = session.outputs('src', 'image') as NDArray[];
    // a new generator from frame 0 (the cut one was not continued), in the same process (its count goes on)
    expect(frames.map((f) => [f.meta.frame, f.meta.yielded])).toEqual([0, 1, 2, 3, 4].map((k) => [k, k + 3]));
    frames.forEach((f, k) => expect(firstDifference(f.data as Float32Array, Float32Array.from({ length: 16 * 8 }, (_, i) => i + k / 2))).toBeUndefined());
    expect(pidOf(session, 'src')).toBe(pid);
  });

  it('that writes a frame into the slot of one it already yielded is refused, not sent with the earlier frame changed', async () => {
    const session = await open(pipeline([{ id: 'src', operator: 'py-ramp', params: { count: 3, reuse: true } }, { id: 'stats', operator: 'stats' }], ['src.image->stats.image']));
    const error = (await session.run().catch((e: unknown) => e)) as RunError;
    expect(error).toBeInstanceOf(RunError);
    expect(firstLine(error)).toMatch(
      /^node "src" \(py-ramp\) on frame 1: ValueError: py-ramp: output "image": the array lies in slot src\/image\.\d+, which is not this output's slot for this frame \(an earlier frame's, or another port's\): call ctx\.alloc for each frame and port, after each yield$/,
    );
  });

  it('that raises fails the run naming the frame, after the frames it yielded, and the next run works', async () => {
    const session = await open(pipeline([{ id: 'src', operator: 'py-ramp', params: { count: 4, failAt: 2 } }, { id: 'stats', operator: 'stats' }], ['src.image->stats.image']));
    let produced = 0;
    session.on('node', ({ node, frames }) => void (node === 'src' && (produced = Math.max(produced, frames))));
    const error = (await session.run().catch((e: unknown) => e)) as RunError;
    expect(error).toBeInstanceOf(RunError);
    expect(firstLine(error)).toBe('node "src" (py-ramp) on frame 2: ValueError: ramp stopped at frame 2');
    expect(error.failure.stack).toMatch(/py-ramp\/operator\.py", line \d+, in process\n\s+raise ValueError/);
    expect(produced).toBe(2);
    session.setParams('src', { failAt: -1 });
    expect((await session.run()).nodes.stats.frames).toBe(4);
  });
});

describe('JSON, scalar and table frames', () => {
  it('carry numpy reductions, numpy scalars and tables to TypeScript operators', async () => {
    const [width, height] = [8, 6];
    const session = await open(
      pipeline(
        [noise(width, height, 2, 11), { id: 'measure', operator: 'py-measure' }, { id: 'view', operator: 'table-view', params: { sortBy: 'mean', descending: true, limit: 3 } }],
        ['src.image->measure.image', 'measure.columns->view.table'],
      ),
    );
    await session.run();
    for (let k = 0; k < 2; k++) {
      const x = synthesize('noise', width, height, 11, k);
      const expected = referenceStats(x);
      const mean = session.outputs('measure', 'mean')[k] as JsonFrame<number>;
      const peak = session.outputs('measure', 'peak')[k] as JsonFrame<number>;
      const summary = session.outputs('measure', 'summary')[k] as JsonFrame<Record<string, unknown>>;
      expect(mean.value).toBeCloseTo(expected.mean, 12);
      expect(peak.value).toBe(expected.max);
      expect(mean.meta).toMatchObject({ source: 'synthetic:noise', frame: k });
      expect(summary.value).toMatchObject({ shape: [height, width], min: expected.min, dtype: 'float32' });
      expect(summary.value.sum as number).toBeCloseTo(expected.sum, 9);
      expect(summary.meta).toMatchObject({ kind: 'summary', frame: k });

      const columnMeans = Array.from({ length: width }, (_, c) => Array.from({ length: height }, (_, r) => x[r * width + c]).reduce((a, b) => a + b, 0) / height);
      const table = (session.outputs('measure', 'columns')[k] as TableFrame).table;
      expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['column:Int32', 'mean:Float64', 'label:Utf8', 'positive:Bool']);
      expect(Array.from(table.getChild('column')!.toArray() as Int32Array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      (Array.from(table.getChild('mean')!.toArray() as Float64Array)).forEach((m, c) => expect(m).toBeCloseTo(columnMeans[c], 12));
      expect(Array.from({ length: width }, (_, c) => table.getChild('label')!.get(c))).toEqual(columnMeans.map((_, c) => `c${c}`));
      expect(Array.from({ length: width }, (_, c) => table.getChild('positive')!.get(c))).toEqual(columnMeans.map((m) => m > 0));

      // the TypeScript table-view read the Python table: the three columns of largest mean, largest first
      const viewed = (session.outputs('view', 'table')[k] as TableFrame).table;
      const top = columnMeans.map((m, c) => [m, c]).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, c]) => c);
      expect(Array.from(viewed.getChild('column')!.toArray() as Int32Array)).toEqual(top);
      expect(Array.from({ length: 3 }, (_, r) => viewed.getChild('label')!.get(r))).toEqual(top.map((c) => `c${c}`));
    }
  });

  it('read a table written by the TypeScript histogram operator', async () => {
    const [width, height] = [40, 30];
    const session = await open(
      pipeline([noise(width, height, 1, 3), { id: 'hist', operator: 'histogram', params: { bins: 16 } }, { id: 'total', operator: 'py-histogram-total' }], ['src.image->hist.image', 'hist.histogram->total.histogram']),
    );
    await session.run();
    const x = synthesize('noise', width, height, 3, 0);
    const stats = referenceStats(x);
    const histogram = (session.outputs('hist', 'histogram')[0] as TableFrame).table;
    const counts = Array.from(histogram.getChild('count')!.toArray() as Float64Array);
    const fullest = counts.indexOf(Math.max(...counts));
    const total = session.outputs('total', 'total')[0] as JsonFrame<Record<string, unknown>>;
    expect(total.value).toEqual({
      total: width * height,
      bins: 16,
      columns: ['bin_start', 'bin_end', 'count'],
      first: stats.min,
      last: stats.max,
      fullest: [histogram.getChild('bin_start')!.get(fullest), histogram.getChild('bin_end')!.get(fullest), counts[fullest]],
    });
    expect(counts.reduce((a, b) => a + b, 0)).toBe(width * height);
  });
});

const faulty = (params: Record<string, unknown>, count = 3) =>
  pipeline([noise(16, 16, count, 2), { id: 'bad', operator: 'py-faulty', params }, { id: 'stats', operator: 'stats' }], ['src.image->bad.image', 'bad.image->stats.image']);

/** The run completes with the operator back to normal, and stats of the source's frames. */
async function recovers(session: Session, count = 3) {
  session.setParams('bad', { mode: 'ok' });
  const report = await session.run();
  expect(report.nodes.stats.frames).toBe(count);
  const stats = session.outputs('stats', 'stats') as JsonFrame<{ mean: number }>[];
  stats.forEach((s, k) => expect(s.value.mean).toBeCloseTo(referenceStats(synthesize('noise', 16, 16, 2, k)).mean, 9));
}

describe('failures of Python operators', () => {
  it('an exception fails the run with its type, message and Python traceback, and the process serves on', async () => {
    const session = await open(faulty({ mode: 'raise', at: 1 }));
    const pid = pidOf(session, 'bad');
    const error = (await session.run().catch((e: unknown) => e)) as RunError;
    expect(error).toBeInstanceOf(RunError);
    expect(firstLine(error)).toBe('node "bad" (py-faulty) on frame 1: ValueError: deliberate failure at frame 1');
    expect(error.message).toContain('--- last output of bad ---\nINFO ');
    expect(error.failure.stack).toMatch(/^Traceback \(most recent call last\):\n/);
    expect(error.failure.stack).toMatch(/File ".*test\/operators\/python\/py-faulty\/operator\.py", line \d+, in faulty\n\s+check\(ctx\.frame\)\n/);
    expect(error.failure.stack).toMatch(/File ".*py-faulty\/operator\.py", line \d+, in check\n\s+raise ValueError\(f"deliberate failure at frame \{frame\}"\)\nValueError: deliberate failure at frame 1\n?$/);
    expect(error.failure.log).toContain('print line from frame 1');
    await recovers(session);
    expect(pidOf(session, 'bad')).toBe(pid);
  });

  it('the lines written just before the exception are in the report even when the engine reads the answer first', async () => {
    // Busy the engine's event loop after it has sent frame 1: the operator's output and its error answer then wait
    // together, and the kernel lists the control socket first (it was listed for frame 0's answer).
    for (let attempt = 0; attempt < 6; attempt++) {
      const session = await open(faulty({ mode: 'raise', at: 1 }));
      session.on('node', ({ node, frames }) => {
        if (node !== 'bad' || frames !== 1) return;
        setImmediate(() => {
          const until = Date.now() + 300;
          while (Date.now() < until);
        });
      });
      const error = (await session.run().catch((e: unknown) => e)) as RunError;
      expect(error.failure.log).toContain('print line from frame 1');
      expect(error.failure.log).toMatch(/log line from frame 1 of node bad/);
    }
  });

  it("logging and print() lines reach the engine's log events", async () => {
    const session = await open(faulty({ mode: 'ok' }, 2));
    const lines: { node: string; stream: string; line: string }[] = [];
    session.on('log', (event) => lines.push(event));
    await session.run();
    const of = (node: string) => lines.filter((l) => l.node === node).map((l) => `${l.stream}: ${l.line}`);
    expect(of('bad')).toEqual(expect.arrayContaining(['stdout: print line from frame 0', 'stdout: print line from frame 1']));
    expect(of('bad').filter((l) => l.startsWith('stderr:'))).toEqual([0, 1].map((k) => expect.stringMatching(new RegExp(`^stderr: INFO [\\w.]+: log line from frame ${k} of node bad$`))));
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`a process killed by ${signal} during a call fails the run with the signal, and is started again for the next run`, async () => {
      const session = await open(faulty({ mode: 'sleep', at: 1, seconds: 30 }));
      const pid = pidOf(session, 'bad');
      let killed = false;
      session.on('node', ({ node, frames }) => {
        if (node === 'bad' && frames === 1 && !killed) {
          killed = true;
          setTimeout(() => process.kill(pid, signal), 200);
        }
      });
      const started = performance.now();
      const error = (await session.run().catch((e: unknown) => e)) as RunError;
      expect(error).toBeInstanceOf(RunError);
      expect(firstLine(error)).toBe(`node "bad" (py-faulty) on frame 1: was killed by ${signal} while processing`);
      expect(performance.now() - started).toBeLessThan(5000);
      await recovers(session);
      expect(pidOf(session, 'bad')).not.toBe(pid);
    });
  }
});

describe('setup and teardown of a Python class operator', () => {
  it('run once per process: setup before the first call, teardown when the session closes', async () => {
    const folder = mkdtempSync(join(scratch, 'lifecycle-'));
    const session = await open(pipeline([noise(8, 8, 3), { id: 'life', operator: 'py-lifecycle', params: { folder } }], ['src.image->life.image']));
    const pid = pidOf(session, 'life');
    await session.run();
    session.setParams('src', { seed: 6 });
    await session.run();
    const calls = (session.outputs('life', 'calls') as JsonFrame<{ calls: number; setups: number; pid: number }>[]).map((f) => f.value);
    expect(calls).toEqual([4, 5, 6].map((n) => ({ calls: n, setups: 1, pid })));
    expect(readdirSync(folder)).toEqual([]);
    await session.close();
    expect(readdirSync(folder)).toEqual([`teardown-${pid}.json`]);
    expect(JSON.parse(readFileSync(join(folder, `teardown-${pid}.json`), 'utf8'))).toEqual({ setups: 1, calls: 6 });
  });
});

describe('cancelling a Python operator', () => {
  it('a call still computing when the run stops is killed after cancelGraceMs and started again; the next run is prompt and right', async () => {
    const session = await open(faulty({ mode: 'sleep', at: 1, seconds: 30 }, 4), { cancelGraceMs: 500 });
    const pid = pidOf(session, 'bad');
    let stoppedAt = 0;
    session.on('node', ({ node, frames }) => {
      if (node === 'bad' && frames === 1 && !stoppedAt) {
        setTimeout(() => {
          stoppedAt = performance.now();
          session.stop();
        }, 200);
      }
    });
    await expect(session.run()).rejects.toBeInstanceOf(RunStopped);
    expect(performance.now() - stoppedAt).toBeLessThan(2500);
    const started = performance.now();
    await recovers(session, 4);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(pidOf(session, 'bad')).not.toBe(pid);
  });

  it('a call that finishes within cancelGraceMs answers the cancel and its process stays warm for the restarted run', async () => {
    const session = await open(faulty({ mode: 'sleep', at: 1, seconds: 0.4 }, 4));
    const pids = processesOf(session.paths.dir).sort();
    let changed = false;
    session.on('node', ({ node, frames }) => {
      if (node === 'bad' && frames === 1 && !changed) {
        changed = true;
        setTimeout(() => session.setParams('bad', { at: 3 }), 100);
      }
    });
    const report = await session.run();
    expect(report.restarts).toBe(1);
    expect(report.nodes.stats.frames).toBe(4);
    const stats = session.outputs('stats', 'stats') as JsonFrame<{ mean: number }>[];
    stats.forEach((s, k) => expect(s.value.mean).toBeCloseTo(referenceStats(synthesize('noise', 16, 16, 2, k)).mean, 9));
    expect(processesOf(session.paths.dir).sort()).toEqual(pids);
  });
});

describe('a Python operator in a long call (the engine side of the protocol spoken here: the session API sends shutdown only after cancelling calls)', () => {
  it.each([
    ['its first call (the listener thread asleep until it)', [1]],
    ['a call right after a short one (the listener thread looking every 20 ms)', [0, 1]],
  ])('hears shutdown during %s, answers it and exits at once (sdk/PROTOCOL.md §3)', async (_, frames) => {
    const dir = mkdtempSync(join(scratch, 'wire-'));
    const input = encodeFrame(NDArray.zeros('float32', [4, 4]));
    writeFileSync(join(dir, 'in'), input);
    writeFileSync(join(dir, 'out'), Buffer.alloc(2 * TENSOR_BODY_OFFSET));
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'control.sock'), resolve));
    const operator = spawn(python, ['-m', 'emflow_sdk', 'operator.py'], {
      cwd: join(root, 'test/operators/python/py-faulty'),
      env: { ...process.env, PYTHONPATH: join(root, 'sdk/python'), EMFLOW_SOCKET: join(dir, 'control.sock'), EMFLOW_SESSION_DIR: dir, EMFLOW_TOKEN: 'test' },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => operator.on('exit', (code) => resolve(code)));
    try {
      const socket = await new Promise<Socket>((resolve) => server.once('connection', resolve));
      const messages: Record<string, unknown>[] = [];
      const waiters: (() => void)[] = [];
      readLines(socket, (line) => {
        messages.push(JSON.parse(line) as Record<string, unknown>);
        waiters.splice(0).forEach((w) => w());
      });
      const message = async (id: number) => {
        for (;;) {
          const found = messages.find((m) => m.id === id);
          if (found) return found;
          await new Promise<void>((resolve) => waiters.push(resolve));
        }
      };
      const send = (m: object) => socket.write(JSON.stringify({ jsonrpc: '2.0', ...m }) + '\n');
      expect(await message(1)).toMatchObject({ method: 'hello', params: { operator: 'py-faulty' } });
      send({ id: 1, result: { session: 'test', node: 'bad' } });
      for (const frame of frames) {
        const params = { mode: 'sleep', at: 1, seconds: 30 };
        const ref = { slot: 'in', size: input.length, offset: 0, length: input.length };
        send({ id: 10 + frame, method: 'process', params: { run: 1, frame, grants: { image: { slot: 'out', size: 2 * TENSOR_BODY_OFFSET } }, inputs: { image: ref }, params } });
      }
      if (frames.length > 1) expect(await message(10)).toMatchObject({ result: { more: false, outputs: { image: { slot: 'out' } } } });
      await new Promise((resolve) => setTimeout(resolve, 300)); // frame 1 is sleeping
      const asked = performance.now();
      send({ id: 99, method: 'shutdown', params: {} });
      expect(await message(99)).toMatchObject({ result: null });
      expect(await exited).toBe(0);
      expect(performance.now() - asked).toBeLessThan(1000); // not when the 30 s call ends
    } finally {
      operator.kill('SIGKILL');
      server.close();
    }
  });
});

describe('the engine going away', () => {
  it('a Python operator exits when the engine is killed in the middle of its call', async () => {
    const script = `
      import { openSession } from '@emflow/engine';
      const session = await openSession({ pipeline: ${JSON.stringify(faulty({ mode: 'sleep', at: 0, seconds: 60 }))}, operatorDirs: ${JSON.stringify(dirs)} });
      session.on('node', ({ node, state }) => { if (node === 'bad' && state === 'running') console.log('running ' + session.paths.dir); });
      await session.run();`;
    const engine = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const dir = await new Promise<string>((resolveDir, reject) => {
      let out = '';
      engine.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /running (\S+)\n/.exec(out);
        if (match) resolveDir(match[1]);
      });
      engine.on('exit', (code) => reject(new Error(`the engine exited (${code}) before the run started: ${out}`)));
    });
    const python = processesOf(dir).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('emflow_sdk'));
    expect(python).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    engine.kill('SIGKILL');
    const killedAt = performance.now();
    while (processesOf(dir).length && performance.now() - killedAt < 5000) await new Promise((r) => setTimeout(r, 50));
    expect(processesOf(dir)).toEqual([]);
    expect(performance.now() - killedAt).toBeLessThan(2000);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("the slot files a Python operator maps", () => {
  it('are regular files only: a link is not followed, a FIFO in a slot\'s place is refused at once instead of blocking', () => {
    const dir = mkdtempSync(join(scratch, 'slots-'));
    writeFileSync(join(dir, 'secret'), 'not a frame');
    symlinkSync(join(dir, 'secret'), join(dir, 'link'));
    spawnSync('mkfifo', [join(dir, 'fifo')]);
    writeFileSync(join(dir, 'ok'), Buffer.alloc(4096, 7));
    const script = [
      'import sys',
      'from emflow_sdk.slots import Slots',
      'slots = Slots(sys.argv[1])',
      'print(int(slots.bytes("ok", 4096, False)[100]))',
      'for name in ("link", "fifo"):',
      '    try:',
      '        slots.bytes(name, 11, False)',
      '        print(name, "mapped")',
      '    except OSError as error:',
      '        print(name, error.strerror)',
    ].join('\n');
    const result = spawnSync(python, ['-c', script, dir], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, PYTHONPATH: resolve(root, 'sdk/python') } });
    expect(result.error).toBeUndefined(); // no timeout: the FIFO did not block the open
    expect(result.stdout.trim().split('\n')).toEqual(['7', 'link Too many levels of symbolic links', 'fifo not a regular file, cannot map']);
  });
});

describe('emflow operators on Python folders that cannot be used', () => {
  const cli = join(root, 'engine/dist/cli/main.js');
  const folders = join(scratch, 'problems');
  // specs are cached by the hash of a folder's files (not of the interpreter or the SDK): a line of its own per
  // folder and test run keeps every folder here from being served from the cache
  const folder = (name: string, script: string | undefined, toml = 'operator = "operator.py"') => {
    mkdirSync(join(folders, name), { recursive: true });
    writeFileSync(join(folders, name, 'pyproject.toml'), `[project]\nname = "${name}"\nversion = "1.0.0"\n\n[tool.emflow]\n${toml}\n`);
    if (script !== undefined) writeFileSync(join(folders, name, 'operator.py'), `# ${scratch}\n${script}`);
    return join(folders, name);
  };
  const valid = (name: string, version = '1.0.0') =>
    `from emflow_sdk import operator\n\n@operator(name="${name}", version="${version}", description="a test operator", outputs={"value": {"type": "json"}})\ndef op(inputs, params, ctx):\n    return {"value": 1}\n`;

  function operators(env: Record<string, string> = {}) {
    const result = spawnSync(process.execPath, [cli, 'operators', '--json', '--operators', folders], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, EMFLOW_OPERATORS_PATH: '', ...env } });
    const catalog = JSON.parse(result.stdout) as { operators: { spec: { name: string }; location: string }[]; problems: { location: string; message: string }[] };
    return { code: result.status, stderr: result.stderr, names: catalog.operators.filter((o) => o.location.startsWith(folders)).map((o) => o.spec.name).sort(), problems: Object.fromEntries(catalog.problems.map((p) => [p.location, p.message])) };
  }

  it('names the folder and what is wrong, and lists the good ones', () => {
    folder('good', valid('py-good'));
    folder('junk', `print("hello from import time")\nimport sys\nsys.stdout.write("no newline")\n${valid('py-junk')}`);
    const missing = folder('missing', undefined, 'operator = "missing.py"');
    const raises = folder('raises', `${valid('py-raises')}\nraise RuntimeError("cannot find the calibration file")\n`);
    const badSpec = folder('bad-spec', valid('py-bad-spec', 'one'));
    const wrapper = join(scratch, 'python-without-numpy');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${process.env.EMFLOW_PYTHON || 'python3'} -S "$@"\n`);
    chmodSync(wrapper, 0o755);
    const noNumpy = folder('no-numpy', valid('py-no-numpy'), `operator = "operator.py"\npython = "${wrapper}"`);

    const listed = operators();
    expect(listed.code).toBe(1);
    expect(listed.names).toEqual(['py-good', 'py-junk']);
    expect(Object.keys(listed.problems).filter((p) => p.startsWith(folders)).sort()).toEqual([badSpec, missing, noNumpy, raises].sort());
    expect(listed.problems[missing]).toBe('pyproject.toml: [tool.emflow] operator names missing.py, which does not exist');
    expect(listed.problems[raises]).toMatch(/^emflow-operator: cannot load operator script .*raises\/operator\.py: RuntimeError: cannot find the calibration file$/m);
    expect(listed.problems[raises]).toMatch(/operator\.py", line 8, in <module>\n/);
    expect(listed.problems[badSpec]).toMatch(/^invalid spec of operator "py-bad-spec":\n.*\/version/);
    expect(listed.problems[noNumpy]).toMatch(/numpy/);
    expect(listed.problems[noNumpy].split('\n').length).toBeLessThanOrEqual(6);
    expect(listed.stderr).toContain(`emflow: cannot load operator at ${missing}: pyproject.toml: [tool.emflow] operator names missing.py`);

    // an interpreter that does not exist: every Python folder not in the cache says so
    rmSync(folders, { recursive: true });
    const fresh = folder('fresh', valid('py-fresh'));
    const noPython = operators({ EMFLOW_PYTHON: '/nonexistent/python3' });
    expect(noPython.names).toEqual([]);
    expect(noPython.problems[fresh]).toBe('cannot run /nonexistent/python3: no such program (install Python 3 with numpy, or name the interpreter with EMFLOW_PYTHON)');
  });

  it("never imports modules from the engine's working folder (json.py, emflow_sdk.py there are someone else's)", () => {
    const marker = join(scratch, 'imported-from-cwd');
    const cwd = join(scratch, 'hostile-cwd');
    mkdirSync(cwd, { recursive: true });
    const plant = `open(${JSON.stringify(marker)}, "a").write(__name__ + "\\n")\n`;
    for (const module of ['json.py', 'emflow_sdk.py', 'numpy.py']) writeFileSync(join(cwd, module), plant);
    rmSync(folders, { recursive: true, force: true });
    folder('cwd-probe', valid('py-cwd-probe'));
    const result = spawnSync(process.execPath, [cli, 'operators', '--json', '--operators', folders], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, EMFLOW_OPERATORS_PATH: '' } });
    const names = (JSON.parse(result.stdout) as { operators: { spec: { name: string } }[] }).operators.map((o) => o.spec.name);
    expect(names).toContain('py-cwd-probe');
    expect(existsSync(marker) ? readFileSync(marker, 'utf8') : '').toBe('');
  });
});
