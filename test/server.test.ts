// The editor server end to end, without a browser: REST through fastify's inject, JSON-RPC through a real
// websocket, `emflow serve` as a process stopped by signals. Values are checked against NumPy/SciPy.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { accessPolicy, createEditorServer, ProcessRuntime, validatePipeline, type PathRoots } from '@emflow/engine';
import { EditorTab } from '../engine/src/server/tab.js';
import type { ImageDisplay, OperatorsResponse, PipelinesResponse } from '@emflow/engine/protocol';
import { synthesize } from '../operators/synthetic/src/patterns.js';
import { NDArray } from '@emflow/sdk';
import { EditorClient } from './editor-client.js';
import { expectNoLeaks, operatorDirs, pipeline, processesOf, root, saveNpy } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-server-'));
const folder = join(scratch, 'pipelines');
const outputs = join(scratch, 'out');
const outside = join(scratch, 'outside');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
mkdirSync(folder);
mkdirSync(outputs);
mkdirSync(outside);
cpSync(join(root, 'pipelines/blur-stats.json'), join(folder, 'blur-stats.json'));
writeFileSync(join(outside, 'secret.json'), JSON.stringify({ emflow: 1, name: 'not yours', nodes: [], edges: [] }));
symlinkSync(join(outside, 'secret.json'), join(folder, 'link.json'));

const largest = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => Math.max(a, b), -Infinity);
const smallest = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => Math.min(a, b), Infinity);

const roots: PathRoots = { read: [join(root, 'data'), folder], write: [outputs] };
const runtime = new ProcessRuntime({ operatorDirs });
const cli = join(root, 'engine/dist/cli/main.js');

async function server(token?: string, session = {}): Promise<FastifyInstance> {
  return createEditorServer({ runtime, runtimeName: 'process', folder, roots, policy: accessPolicy('127.0.0.1', token ?? false), version: 'test', session });
}

/** The blurred image as SciPy computes it (scipy.ndimage.gaussian_filter, mode reflect, truncate 4). */
function scipyBlur(image: NDArray, sigma: number): Float64Array {
  const file = join(scratch, `in-${sigma}.npy`);
  saveNpy(file, image);
  const out = execFileSync('python3', ['-c', `import sys, numpy as np, scipy.ndimage as nd\na = np.load(sys.argv[1]).astype(np.float64)\nsys.stdout.buffer.write(nd.gaussian_filter(a, ${sigma}, mode='reflect', truncate=4.0).astype(np.float32).astype(np.float64).tobytes())`, file], { maxBuffer: 1 << 28 });
  return new Float64Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
}

describe('REST', () => {
  let app: FastifyInstance;
  beforeAll(async () => (app = await server()));
  afterAll(() => app.close());
  const get = (url: string) => app.inject({ url, headers: { host: '127.0.0.1:8000' } });
  const send = (method: 'POST' | 'PUT', url: string, body: unknown) => app.inject({ method, url, headers: { host: '127.0.0.1:8000', 'content-type': 'application/json' }, payload: typeof body === 'string' ? body : JSON.stringify(body) });

  it('lists the operator specs and the type rule the editor checks connections with', async () => {
    const response = await get('/api/operators');
    expect(response.statusCode).toBe(200);
    const body = response.json<OperatorsResponse>();
    const blur = body.operators.find((o) => o.name === 'gaussian-blur');
    expect(blur?.params?.sigma).toMatchObject({ type: 'number', minimum: 0, default: 1, units: 'px' });
    expect(body.accepts.ndarray).toEqual(expect.arrayContaining(['ndarray', 'image2d', 'volume3d', 'stack', 'spectrum']));
    expect(body.accepts.image2d).toEqual(['image2d']);
    expect(body.accepts.json).toEqual(['scalar', 'json']);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('validates a document with the same problems as the library, JSON pointers included', async () => {
    const document = pipeline([{ id: 'src', operator: 'synthetic', params: { width: -4 } }, { id: 'blur', operator: 'gaussian-blur', params: { sigma: 'wide' } }], ['src.image->blur.image']);
    const response = await send('POST', '/api/validate', document);
    const expected = await validatePipeline(document, { runtime, baseDir: folder, roots });
    expect(response.json().problems).toEqual(expected);
    expect(expected.map((p) => p.pointer)).toEqual(['/nodes/0/params/width', '/nodes/1/params/sigma']);
  });

  it('refuses file params outside the data folders and documents naming operator folders, before any file is read', async () => {
    const document = { ...pipeline([{ id: 'read', operator: 'mrc-reader', params: { path: '/etc/shadow' } }, { id: 'stats', operator: 'stats' }], ['read.volume->stats.image']), operators: ['/tmp'] };
    const { problems } = (await send('POST', '/api/validate', document)).json<{ problems: { pointer: string; message: string }[] }>();
    expect(problems).toEqual([
      { pointer: '/operators', message: expect.stringContaining('may not name operator folders') },
      { pointer: '/nodes/0/params/path', message: expect.stringContaining('"/etc/shadow" is outside the allowed folders for reading') },
    ]);
  });

  it('lists, reads and saves documents of the served folder only, with node positions, never through a link', async () => {
    const list = (await get('/api/pipelines')).json<PipelinesResponse>();
    expect(list.pipelines.map((p) => p.name)).toEqual(['blur-stats']);
    const document = (await get('/api/pipelines/blur-stats')).json<{ nodes: { position: unknown }[] }>();
    expect(document.nodes[1].position).toEqual({ x: 240, y: 0 });
    document.nodes[1].position = { x: 300, y: 50 };
    const saved = await send('PUT', '/api/pipelines/my run', document);
    expect(saved.json()).toEqual({ name: 'my run', problems: [] });
    expect(JSON.parse(readFileSync(join(folder, 'my run.json'), 'utf8')).nodes[1].position).toEqual({ x: 300, y: 50 });
    // a document with problems is saved all the same (work is not lost) and the problems come back
    const broken = await send('PUT', '/api/pipelines/draft', { emflow: 1, name: 'draft', nodes: [{ id: 'a', operator: 'gaussian-blur' }], edges: [] });
    expect(broken.json().problems).toEqual([{ pointer: '/nodes/0', message: 'required input "image" of node "a" (gaussian-blur) is not connected' }]);
    expect(existsSync(join(folder, 'draft.json'))).toBe(true);
    expect((await get('/api/pipelines/link')).statusCode).toBe(404);
    const through = await send('PUT', '/api/pipelines/link', document);
    expect(through.statusCode).toBe(409);
    expect(through.json().error).toContain('symbolic link');
    expect(JSON.parse(readFileSync(join(outside, 'secret.json'), 'utf8')).name).toBe('not yours');
    for (const name of ['..%2Fsecret', '.hidden', '%2Fetc%2Fpasswd', 'a%00b']) {
      const response = await get(`/api/pipelines/${name}`);
      expect(response.statusCode, name).toBe(400);
      expect(response.json().error).toContain('is not a document name');
    }
  });

  it('answers bad bodies with one line and the right status, never a stack', async () => {
    const deep = await send('POST', '/api/validate', '['.repeat(500) + ']'.repeat(500));
    expect(deep.statusCode).toBe(400);
    expect(deep.json().error).toMatch(/^request body: nested deeper than/);
    // "__proto__" is a name like any other: reported as an unknown property, never merged into a prototype
    const polluted = await send('POST', '/api/validate', '{"__proto__": {"admin": true}, "emflow": 1, "nodes": [], "edges": []}');
    expect(polluted.json().problems).toEqual([expect.objectContaining({ message: expect.stringContaining('__proto__') })]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect((await send('POST', '/api/validate', 'x'.repeat(5 * 1024 * 1024))).statusCode).toBe(413);
    const notJson = await app.inject({ method: 'POST', url: '/api/validate', headers: { host: '127.0.0.1', 'content-type': 'text/plain' }, payload: '{}' });
    expect(notJson.statusCode).toBe(415);
    for (const response of [deep, polluted, notJson]) expect(response.body).not.toMatch(/\n\s+at /);
  });

  it('lets the file picker list the data folders and nothing outside them', async () => {
    const top = (await get('/api/files')).json();
    expect(top.entries.map((e: { path: string }) => e.path)).toEqual([join(root, 'data'), folder, outputs]);
    const data = (await get(`/api/files?path=${encodeURIComponent(join(root, 'data'))}`)).json();
    expect(data.entries.some((e: { name: string; kind: string }) => e.name === 'micrographs' && e.kind === 'folder')).toBe(true);
    expect(data.parent).toBeUndefined();
    for (const path of ['/etc', join(root, 'data/..'), join(folder, 'link.json/..', '..')]) {
      const response = await get(`/api/files?path=${encodeURIComponent(path)}`);
      expect(response.statusCode, path).toBe(403);
    }
  });

  it('sends no CORS headers and refuses other origins and Host names', async () => {
    const preflight = await app.inject({ method: 'OPTIONS', url: '/api/validate', headers: { host: '127.0.0.1:8000', origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.statusCode).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect((await app.inject({ url: '/api/health', headers: { host: 'evil.example' } })).statusCode).toBe(403);
    expect((await app.inject({ url: '/', headers: { host: '127.0.0.1:8000' } })).statusCode).toBe(200);
  });
});

describe('with a token', () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    app = await server('s3cret-token');
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(() => app.close());

  it('requires it on REST and on the websocket, but serves the editor page without it', async () => {
    expect((await fetch(`http://${url}/api/health`)).status).toBe(401);
    expect((await fetch(`http://${url}/api/health`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    expect((await fetch(`http://${url}/api/health?token=s3cret-token`)).status).toBe(200);
    expect((await fetch(`http://${url}/`)).status).toBe(200);
    await expect(EditorClient.connect(`ws://${url}/api/ws`)).rejects.toThrow('refused: 401');
    await expect(EditorClient.connect(`ws://${url}/api/ws?token=nope`)).rejects.toThrow('refused: 401');
    const client = await EditorClient.connect(`ws://${url}/api/ws?token=s3cret-token`);
    await client.close();
  });

  it('cannot be bypassed by spelling the API path differently (percent-encoding, absolute form)', async () => {
    for (const path of ['/%61pi/pipelines', '/ap%69/health', '/api%2Fhealth', '//api/health']) {
      const response = await fetch(`http://${url}${path}`);
      expect(response.status, path).not.toBe(200);
      expect([401, 403, 404], path).toContain(response.status);
    }
    const put = await fetch(`http://${url}/%61pi/pipelines/pwned`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"emflow":1,"name":"x","nodes":[],"edges":[]}' });
    expect(put.status).toBe(401);
    expect(existsSync(join(folder, 'pwned.json'))).toBe(false);
    await expect(EditorClient.connect(`ws://${url}/%61pi/ws`, { origin: 'http://evil.example' })).rejects.toThrow(/refused: 40[13]/);
    const absolute = await new Promise<number>((resolve, reject) => {
      const socket = connectTcp(Number(url.split(':')[1]), '127.0.0.1', () => socket.write(`GET http://${url}/api/pipelines HTTP/1.1\r\nHost: ${url}\r\nConnection: close\r\n\r\n`));
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1])));
      socket.on('error', reject);
    });
    expect(absolute).not.toBe(200);
  });

  it('refuses a websocket opened by a page of another origin', async () => {
    await expect(EditorClient.connect(`ws://${url}/api/ws?token=s3cret-token`, { origin: 'http://evil.example' })).rejects.toThrow('refused: 403');
  });
});

describe('JSON-RPC sessions', () => {
  let app: FastifyInstance;
  let url: string;
  const clients: EditorClient[] = [];
  beforeAll(async () => {
    app = await server(undefined, { retuneQuietMs: 10 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/api/ws`;
  });
  afterAll(() => app.close());
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
  });
  const connect = async () => {
    const client = await EditorClient.connect(url);
    clients.push(client);
    return client;
  };
  const sessionDir = (id: string) => join('/dev/shm', `emflow-${id}`);

  const width = 512;
  const height = 384;
  const source = new NDArray(synthesize('gaussian-blobs', width, height, 11, 0), [height, width]);
  const viewer = pipeline(
    [
      { id: 'src', operator: 'synthetic', params: { pattern: 'gaussian-blobs', width, height, seed: 11 } },
      { id: 'blur', operator: 'gaussian-blur', params: { sigma: 2 } },
      { id: 'view', operator: 'image-view', params: { colormap: 'magma' } },
    ],
    ['src.image->blur.image', 'blur.image->view.image'],
  );

  it('runs a document, sends the display downsampled to the pane, and answers full-resolution values', async () => {
    const client = await connect();
    const { session, nodes } = await client.call('session.open', { document: viewer });
    expect(nodes).toEqual(['src', 'blur', 'view']);
    await client.call('display.configure', { node: 'view', width: 128, height: 128 });
    const summary = await client.call('session.run', {});
    expect(summary).toMatchObject({ state: 'done', nodes: { src: { frames: 1, cached: false }, blur: { frames: 1 }, view: { frames: 1 } } });
    expect(client.of('node.state').filter((n) => n.node === 'blur').map((n) => n.state)).toEqual(expect.arrayContaining(['queued', 'running', 'done']));
    const display = await client.until(() => client.displays.find((d) => d.header.node === 'view'));
    const header = display.header as ImageDisplay;
    // 512 × 384 into 128 × 128: factor 4, exact blocks
    expect(header).toMatchObject({ kind: 'image', width: 128, height: 96, source: { width, height }, params: { colormap: 'magma' } });
    const blurred = scipyBlur(source, 2);
    const pixels = new Float32Array(display.payload);
    const mean = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => a + b, 0) / values.length;
    expect(mean(pixels)).toBeCloseTo(mean(blurred), 5);
    expect(header.min).toBeCloseTo(smallest(blurred), 6);
    // image-view's own display range: numpy.percentile 1 and 99 of the full-resolution image
    const file = join(scratch, 'blurred.npy');
    saveNpy(file, new NDArray(Float32Array.from(blurred), [height, width]));
    const [p1, p99] = JSON.parse(execFileSync('python3', ['-c', 'import sys, json, numpy as np; print(json.dumps(np.percentile(np.load(sys.argv[1]).astype(np.float64), [1, 99]).tolist()))', file], { encoding: 'utf8' })) as number[];
    expect(header.range?.min).toBeCloseTo(p1, 9);
    expect(header.range?.max).toBeCloseTo(p99, 9);
    expect(header.max).toBeCloseTo(largest(blurred), 6);
    // block (10, 7): the mean of source pixels y 28..31, x 40..43
    let block = 0;
    for (let y = 28; y < 32; y++) for (let x = 40; x < 44; x++) block += blurred[y * width + x];
    expect(pixels[7 * 128 + 10]).toBeCloseTo(block / 16, 5);
    const value = await client.call('display.pixel', { node: 'view', x: 301, y: 200 });
    expect(value.value).toBeCloseTo(blurred[200 * width + 301], 6);
    await expect(client.call('display.pixel', { node: 'view', x: width, y: 0 })).rejects.toMatchObject({ code: -32001, message: expect.stringContaining(`outside the ${width} × ${height} image`) });
    const peek = await client.call('edge.peek', { node: 'src', port: 'image' });
    expect(peek).toMatchObject({ kind: 'ndarray', dtype: 'float32', shape: [height, width], thumbnail: { width: 128, height: 96 } });
    expect(existsSync(sessionDir(session))).toBe(true);
    await client.call('session.close', {});
    await expectNoLeaks(sessionDir(session));
  });

  it('re-runs only the changed cone when a param changes, and refuses invalid values with their pointer', async () => {
    const client = await connect();
    await client.call('session.open', { document: viewer });
    await client.call('session.run', {});
    const before = client.displays.length;
    expect(await client.call('session.setParams', { node: 'blur', params: { sigma: 6 } })).toEqual({ rerun: true });
    const progress = await client.until(() => client.of('run.progress').find((p) => p.run === 2 && p.state === 'done'));
    expect(progress.summary?.nodes).toMatchObject({ src: { cached: true }, blur: { cached: false }, view: { cached: false } });
    const latest = await client.until(() => client.displays.length > before && client.displays.at(-1));
    const blurred = scipyBlur(source, 6);
    expect((latest.header as ImageDisplay).max).toBeCloseTo(largest(blurred), 6);
    // values under the cursor come from the frame the pane shows: the first run's frame 0 was replaced
    expect(latest.header.run).toBe(2);
    expect((await client.call('display.pixel', { node: 'view', x: 3, y: 5, index: 0, run: 2 })).value).toBeCloseTo(blurred[5 * width + 3], 6);
    await expect(client.call('display.pixel', { node: 'view', x: 3, y: 5, index: 0, run: 1 })).rejects.toMatchObject({ code: -32005, message: expect.stringContaining('frame 0 of run 1 of display "view" is no longer kept') });
    await expect(client.call('session.setParams', { node: 'blur', params: { sigma: -1 } })).rejects.toMatchObject({ code: -32001, data: { problems: [{ pointer: '/nodes/1/params/sigma' }] } });
    await expect(client.call('session.setParams', { node: 'constructor', params: {} })).rejects.toMatchObject({ code: -32001, message: 'unknown node "constructor"' });
    await expect(client.call('session.setParams', { node: 'blur', params: 'sigma=3' as never })).rejects.toMatchObject({ code: -32602, message: 'params must be an object' });
  });

  it('keeps file params inside the data folders when they change too', async () => {
    const client = await connect();
    await client.call('session.open', {
      document: pipeline([{ id: 'read', operator: 'mrc-reader', params: { path: join(root, 'data/emd_3001.map') } }, { id: 'stats', operator: 'stats' }], ['read.volume->stats.image']),
    });
    await expect(client.call('session.setParams', { node: 'read', params: { path: '/etc/passwd' }, rerun: false })).rejects.toMatchObject({
      code: -32001,
      data: { problems: [{ pointer: '/nodes/0/params/path', message: expect.stringContaining('outside the allowed folders') }] },
    });
  });

  it('stops a long stream at once, operators kept warm, and reports invalid documents as problems', async () => {
    const client = await connect();
    const { session } = await client.call('session.open', {
      document: pipeline(
        [
          { id: 'src', operator: 'synthetic', params: { width: 32, height: 32, count: 1000 } },
          { id: 'slow', operator: 'test-slow', params: { ms: 30 } },
        ],
        ['src.image->slow.image'],
      ),
    });
    const pids = processesOf(sessionDir(session)).sort();
    const run = client.call('session.run', {});
    await client.until(() => client.of('node.state').find((n) => n.node === 'slow' && n.frames >= 2));
    const t0 = performance.now();
    expect(await client.call('session.stop', {})).toEqual({ stopped: true });
    expect(await run).toMatchObject({ state: 'stopped' });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(processesOf(sessionDir(session)).sort()).toEqual(pids);
    const failed = await client.call('session.open', { document: { emflow: 1, name: 'x', nodes: [{ id: 'a', operator: 'no-such-op', params: {} }], edges: [] } }).catch((error: unknown) => error);
    expect(failed).toMatchObject({ code: -32001, data: { problems: [{ pointer: '/nodes/0/operator' }] } });
    expect(client.of('problems').at(-1)?.problems[0].pointer).toBe('/nodes/0/operator');
    // the failed open closed the previous session first
    await expectNoLeaks(sessionDir(session));
    await expect(client.call('session.run', {})).rejects.toMatchObject({ code: -32002 });
  });

  it('closes the session of a tab whose websocket drops', async () => {
    const client = await connect();
    const { session } = await client.call('session.open', { document: viewer });
    expect(processesOf(sessionDir(session)).length).toBe(3);
    client.socket.terminate();
    await expectNoLeaks(sessionDir(session));
  });
});

describe('emflow serve', () => {
  async function serve(args: string[]) {
    const child = spawn(process.execPath, [cli, 'serve', folder, '--port', '0', '--operators', join(root, 'test/operators'), '--data', join(root, 'data'), ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const match = /emflow editor: (http:\/\/\S+)/.exec(out);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, url, exited, stderr: () => stderr };
  }

  async function streaming(url: string) {
    const address = new URL(url);
    const client = await EditorClient.connect(`ws://${address.host}/api/ws${address.search}`);
    const { session } = await client.call('session.open', {
      document: pipeline(
        [
          { id: 'src', operator: 'synthetic', params: { width: 64, height: 64, count: 100000 } },
          { id: 'slow', operator: 'test-slow', params: { ms: 20 } },
        ],
        ['src.image->slow.image'],
      ),
    });
    void client.call('session.run', {}).catch(() => undefined);
    await client.until(() => client.of('node.state').find((n) => n.node === 'slow' && n.frames >= 1));
    return { client, dir: join('/dev/shm', `emflow-${session}`) };
  }

  for (const [how, send] of [
    ['Ctrl-C in a terminal (SIGINT to the whole process group)', (pid: number) => process.kill(-pid, 'SIGINT')],
    ['a supervisor stopping the server alone (SIGTERM)', (pid: number) => process.kill(pid, 'SIGTERM')],
  ] as const) {
    it(`stops cleanly on ${how}: exit 0, no operator, no shared memory left`, async () => {
      const server = await serve([]);
      // a token even on loopback, as Jupyter does
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
      const { dir } = await streaming(server.url);
      expect(processesOf(dir).length).toBe(2);
      send(server.child.pid!);
      expect(await server.exited).toBe(0);
      expect(server.stderr()).toContain('stopping operators');
      await expectNoLeaks(dir);
    });
  }

  it('prints a URL with a generated token when listening beyond loopback, and says so when the port is taken', async () => {
    const server = await serve(['--host', '0.0.0.0']);
    expect(server.url).toMatch(/\?token=[0-9a-f]{48}$/);
    const port = new URL(server.url).port;
    const taken = spawn(process.execPath, [cli, 'serve', folder, '--port', port, '--host', '0.0.0.0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    taken.stderr.on('data', (d) => (stderr += d));
    expect(await new Promise((resolve) => taken.once('exit', resolve))).toBe(2);
    expect(stderr.trim()).toBe(`emflow: port ${port} on 0.0.0.0 is in use: choose another with --port (0: any free port)`);
    process.kill(server.child.pid!, 'SIGINT');
    expect(await server.exited).toBe(0);
  });
});

describe('limits', () => {
  it('runs at most maxSessions sessions at once, and says so to the tab that asks for one more', async () => {
    const app = await createEditorServer({ runtime, runtimeName: 'process', folder, roots, policy: accessPolicy('127.0.0.1', false), version: 'test', maxSessions: 1 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/api/ws`;
    const [first, second] = [await EditorClient.connect(url), await EditorClient.connect(url)];
    try {
      const document = pipeline([{ id: 'src', operator: 'synthetic', params: { width: 8, height: 8 } }], []);
      await first.call('session.open', { document });
      await expect(second.call('session.open', { document })).rejects.toMatchObject({ code: -32002, message: expect.stringContaining('already runs 1 sessions') });
      await first.call('session.close', {});
      expect((await second.call('session.open', { document })).nodes).toEqual(['src']);
    } finally {
      await first.close();
      await second.close();
      await app.close();
    }
  });
});

describe('a browser slower than the stream', () => {
  it('skips display frames while the socket is full and sends the latest once it drains', async () => {
    const sent: number[] = [];
    let full = true;
    const tab = new EditorTab({
      runtime,
      baseDir: folder,
      roots,
      notify: () => undefined,
      canSendBinary: () => !full,
      sendBinary: (message) => {
        const length = Buffer.from(message).readUInt32LE(0);
        sent.push((JSON.parse(Buffer.from(message).subarray(4, 4 + length).toString()) as { index: number }).index);
      },
    });
    try {
      const { session } = await tab.open(pipeline([{ id: 'src', operator: 'synthetic', params: { width: 64, height: 64, count: 12 } }, { id: 'view', operator: 'image-view' }], ['src.image->view.image']));
      const run = tab.run();
      // the socket drains while the run goes: frames after that are sent, the skipped ones are not replayed
      setTimeout(() => (full = false), 5).unref();
      expect(await run).toMatchObject({ state: 'done', nodes: { view: { frames: 12 } } });
      expect(sent.at(-1)).toBe(11);
      expect(sent.length).toBeLessThan(12 + 1);
      full = true;
      tab.setParams('view', { colormap: 'magma' }, false);
      await tab.run();
      const before = sent.length;
      full = false;
      // the second run skipped every frame: the latest goes once the socket takes it
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(sent.slice(before)).toEqual([11]);
      await tab.close();
      await expectNoLeaks(join('/dev/shm', `emflow-${session}`));
    } finally {
      await tab.close();
    }
  });
});
