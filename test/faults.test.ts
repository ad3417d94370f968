// Operators that throw, exit, crash, hang, stay silent or send bad frames: each run fails with a message
// naming the node, the session stays usable, and nothing is left behind.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, openSession, RunError, spawnOperatorProcess, ValidationError, type Runtime, type Session } from '@emflow/engine';
import { expectNoLeaks, operatorDirs, pipeline } from './helpers.js';

const sessions: Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) {
    await s.close();
    await expectNoLeaks(s.paths.dir);
  }
});

async function faulty(mode: string, at = 1, options: Record<string, unknown> = {}) {
  const document = pipeline(
    [
      { id: 'src', operator: 'synthetic', params: { width: 16, height: 16, count: 3 } },
      { id: 'bad', operator: 'test-faulty', params: { mode, at } },
      { id: 'stats', operator: 'stats' },
    ],
    ['src.image->bad.image', 'bad.image->stats.image'],
  );
  const session = await openSession({ pipeline: document, operatorDirs, ...options });
  sessions.push(session);
  return session;
}

async function failure(session: Session): Promise<RunError> {
  const error = await session.run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunError);
  return error as RunError;
}

/** After a failure the session still works once the cause is gone. */
async function recovers(session: Session) {
  session.setParams('bad', { mode: 'ok' });
  const report = await session.run();
  expect(report.nodes.stats.frames).toBe(3);
}

describe('operator faults', () => {
  it('an operator that throws: its message, error type and stack come back', async () => {
    const session = await faulty('throw');
    const error = await failure(session);
    expect(error.message).toBe('node "bad" (test-faulty) on frame 1: RangeError: deliberate failure at frame 1');
    expect(error.failure.stack).toMatch(/RangeError: deliberate failure at frame 1\n\s+at Faulty\.process .*index\.ts:\d+/);
    await recovers(session);
  });

  it('an operator that exits: its exit code and last output, then a restart on the next run', async () => {
    const session = await faulty('exit');
    const error = await failure(session);
    expect(error.message).toContain('node "bad" (test-faulty) on frame 1: exited with code 3 while processing');
    expect(error.failure.log).toContain('about to exit with code 3');
    await recovers(session);
  });

  it('an operator that crashes writing into a read-only input frame', async () => {
    const session = await faulty('segv', 0);
    const error = await failure(session);
    expect(error.message).toContain('was killed by SIGSEGV');
    expect(error.message).toContain('input frames are read-only');
    await recovers(session);
  });

  it('an operator that hangs is stopped after the timeout', async () => {
    const session = await faulty('hang', 0, { timeoutMs: 1500 });
    const started = Date.now();
    const error = await failure(session);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error.message).toContain('node "bad" (test-faulty) on frame 0: did not answer within 1500 ms; it was stopped');
    await recovers(session);
  });

  it.each([
    ['wrong-type', 'TypeError: test-faulty: output "image" expected image2d, got a json frame'],
    ['wrong-port', 'TypeError: test-faulty: returned unknown output port "picture" (ports: image)'],
    ['not-a-frame', 'TypeError: test-faulty: output "image" must be an NDArray, TableFrame or JsonFrame (use json(value) or table(t)), got object'],
  ])('an operator returning %s is refused by the SDK', async (mode, message) => {
    const session = await faulty(mode);
    const error = await failure(session);
    expect(error.message).toBe(`node "bad" (test-faulty) on frame 1: ${message}`);
    await recovers(session);
  });

  it('an operator that never connects fails the session start and leaves nothing behind', async () => {
    const document = pipeline([{ id: 'mute', operator: 'test-silent' }], []);
    const before = readdirSync('/dev/shm').filter((n) => n.startsWith('emflow-'));
    const error = await openSession({ pipeline: document, operatorDirs, startTimeoutMs: 1500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunError);
    expect((error as Error).message).toMatch(/^node "mute" \(test-silent\): did not connect within 1500 ms \(pid \d+\); it was stopped$/);
    const after = readdirSync('/dev/shm').filter((n) => n.startsWith('emflow-') && !before.includes(n));
    for (const dir of after) await expectNoLeaks(`/dev/shm/${dir}`);
  });

  it('an invalid pipeline is refused before anything starts', async () => {
    const document = pipeline([{ id: 'blur', operator: 'gaussian-blur', params: { sigma: -1 } }], []);
    const error = await openSession({ pipeline: document, operatorDirs }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).problems).toEqual([
      { pointer: '/nodes/0/params/sigma', message: 'expected a value >= 0, got -1' },
      { pointer: '/nodes/0', message: 'required input "image" of node "blur" (gaussian-blur) is not connected' },
    ]);
  });

  it('a missing pipeline file is named', async () => {
    await expect(openSession({ pipeline: '/nonexistent/p.json', operatorDirs })).rejects.toThrow('/nonexistent/p.json: cannot read pipeline: no such file');
  });
});

/** The process runtime plus one operator speaking the wire protocol by hand (test/fixtures/raw-operator.mjs). */
function withRawOperator(): Runtime {
  const inner = createRuntime('process', { operatorDirs });
  const script = fileURLToPath(new URL('./fixtures/raw-operator.mjs', import.meta.url));
  const spec = {
    name: 'test-raw',
    version: '1.0.0',
    description: 'hand-written protocol client that sends bad frames',
    inputs: { image: { type: 'image2d' as const } },
    outputs: { image: { type: 'image2d' as const } },
    params: { mode: { type: 'string' as const, enum: ['garbage', 'out-of-bounds', 'type-change', 'huge-allocate', 'oversized'], default: 'garbage' } },
  };
  return {
    name: 'process+raw',
    async catalog() {
      const catalog = await inner.catalog();
      return { ...catalog, operators: [...catalog.operators, { spec, identity: 'raw', location: script }] };
    },
    async start(request) {
      if (request.operator.spec.name !== 'test-raw') return inner.start(request);
      const { session, token } = request;
      return spawnOperatorProcess(process.execPath, [script], { ...process.env, EMFLOW_SOCKET: session.socket, EMFLOW_SESSION_DIR: session.dir, EMFLOW_TOKEN: token });
    },
  };
}

describe('malformed frames from an operator outside the SDK', () => {
  it.each([
    ['garbage', 0, /sent a malformed frame on output "image": not an Arrow IPC stream/],
    ['out-of-bounds', 0, /sent a malformed frame on output "image": reference .* is not inside granted slot raw\/image\.0 \(\d+ bytes\)/],
    // every frame is checked, not only the first
    ['type-change', 1, /sent a malformed frame on output "image": expected image2d, got a json frame/],
    ['huge-allocate', 0, /output "image" of node "raw" needs a slot of 1073741824\.0 MiB, more than the per-frame maximum of 2048\.0 MiB \(maxFrameBytes\)/],
    // the control channel buffers at most one 16 MiB message
    ['oversized', 0, /on frame 0: sent a control message larger than 16 MiB$/],
  ] as const)('%s', async (mode, frame, message) => {
    const document = pipeline(
      [
        { id: 'src', operator: 'synthetic', params: { width: 16, height: 16, count: 2 } },
        { id: 'raw', operator: 'test-raw', params: { mode } },
        { id: 'stats', operator: 'stats' },
      ],
      ['src.image->raw.image', 'raw.image->stats.image'],
    );
    const session = await openSession({ pipeline: document, runtime: withRawOperator() });
    sessions.push(session);
    const error = await failure(session);
    expect(error.message).toMatch(new RegExp(`^node "raw" \\(test-raw\\) on frame ${frame}: `));
    expect(error.message).toMatch(message);
    expect(existsSync(session.paths.dir)).toBe(true);
  });
});
