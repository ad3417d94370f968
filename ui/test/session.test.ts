// The editor against a scripted server: when Run opens a session and when it only runs, instant re-tune of
// params (valid values only), node states, failures, problems from the server, and display frames.
import type { DisplayHeader } from '@emflow/engine/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import type { Rest } from '../src/api/rest';
import { RpcClient } from '../src/api/rpc';
import { addNode, connect, loadDocument, setParam } from '../src/model/document';
import { createEditor, type Editor } from '../src/state/editor';
import { FakeSocket } from './fake-socket';
import { realAccepts, realSpec, realSpecs } from './real-specs';

const accepts = realAccepts();
const pipeline = () =>
  loadDocument({
    emflow: 1,
    name: 'blur and view',
    nodes: [
      { id: 'src', operator: 'synthetic', params: { count: 2 } },
      { id: 'blur', operator: 'gaussian-blur', params: { sigma: 2 } },
      { id: 'view', operator: 'image-view', params: {} },
    ],
    edges: [
      { from: { node: 'src', port: 'image' }, to: { node: 'blur', port: 'image' } },
      { from: { node: 'blur', port: 'image' }, to: { node: 'view', port: 'image' } },
    ],
  });

const rest = {
  operators: async () => ({ runtime: 'process', operators: realSpecs(), problems: [], accepts }),
  validate: async () => ({ problems: [] }),
  pipelines: async () => ({ folder: '/p', pipelines: [] }),
} as unknown as Rest;

let editor: Editor;
let socket: FakeSocket;
const settle = async () => {
  // the JSON-RPC library settles answers a few promise steps after the message: a macrotask flushes them all
  if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(0);
  else await new Promise((resolve) => setTimeout(resolve, 0));
  await nextTick();
};

beforeEach(async () => {
  editor = createEditor(rest, new RpcClient('ws://host/api/ws', (url) => new FakeSocket(url)));
  await editor.start();
  socket = FakeSocket.last;
  socket.open();
  editor.docs.load(pipeline(), 'blur-view');
});
afterEach(() => {
  editor.rpc.stop();
  FakeSocket.all = [];
});

async function runOnce(opened: boolean) {
  const run = editor.session.run();
  await settle();
  if (opened) {
    socket.answer('session.open', { session: 's', nodes: ['src', 'blur', 'view'] });
    await settle();
  }
  socket.answer('session.run', { run: 1, state: 'done', wallMs: 5, restarts: 0, nodes: {}, notes: [] });
  await run;
}

describe('Run', () => {
  it('opens a session on the document, then runs it; runs again without opening when only params changed', async () => {
    await runOnce(true);
    expect(socket.methods()).toEqual(['session.open', 'session.run']);
    expect(socket.sent[0].params.document).toEqual(editor.docs.doc.value);

    editor.setNodeParam('blur', 'sigma', 3, true);
    await settle();
    await runOnce(false);
    expect(socket.methods()).toEqual(['session.open', 'session.run', 'session.setParams', 'session.run']);
  });

  it('opens again when nodes, operators or edges changed', async () => {
    await runOnce(true);
    editor.docs.edit((d) => addNode(d, realSpec('stats'), { x: 0, y: 0 }).doc);
    editor.docs.edit((d) => connect(d, { from: { node: 'blur', port: 'image' }, to: { node: 'stats', port: 'image' } }));
    await runOnce(true);
    expect(socket.methods()).toEqual(['session.open', 'session.run', 'session.open', 'session.run']);
    expect((socket.sent[2].params.document as { nodes: unknown[] }).nodes).toHaveLength(4);
  });

  it('shows the problems of a document the server refuses', async () => {
    const run = editor.session.run();
    await settle();
    socket.fail('session.open', -32001, 'invalid', { problems: [{ pointer: '/nodes/1/params/sigma', message: 'expected a value >= 0, got -1' }] });
    await run;
    expect(socket.methods()).toEqual(['session.open']);
    expect(editor.problemIndex.value.params.get('blur')?.get('sigma')?.[0].message).toBe('expected a value >= 0, got -1');
    expect(editor.session.session.value).toBeUndefined();
  });
});

describe('documents', () => {
  it('another document closes the session and clears node states; its Run opens anew, never a re-tune', async () => {
    await runOnce(true);
    socket.notify('node.state', { run: 1, node: 'src', state: 'done', frames: 2 });
    const other = { ...pipeline(), nodes: pipeline().nodes.map((n) => (n.id === 'blur' ? { ...n, params: { sigma: 9 } } : n)) };
    editor.upload(JSON.stringify(other), 'other.json');
    await settle();
    expect(socket.methods()).toEqual(['session.open', 'session.run', 'session.close']);
    expect(editor.session.nodeStates.size).toBe(0);
    await runOnce(true);
    expect(socket.methods().slice(3)).toEqual(['session.open', 'session.run']);
  });

  it('says plainly why an upload is not a document', () => {
    editor.upload('{"emflow": 1, "nodes": [', 'broken.json');
    expect(editor.notice.value).toMatch(/^broken\.json is not JSON: /);
    editor.upload('{"emflow": 2, "nodes": []}', 'v2.json');
    expect(editor.notice.value).toBe('v2.json: not a pipeline document: "emflow" must be 1, got 2');
    expect(editor.docs.fileName.value).toBe('blur-view');
  });
});

describe('instant re-tune', () => {
  it('sends every change of a param of an open session at once, valid values only, nothing before a session', async () => {
    editor.setNodeParam('blur', 'sigma', 4, true);
    await settle();
    expect(socket.methods()).toEqual([]);
    await runOnce(true);

    for (const sigma of [5, 6, -1, 7]) {
      editor.setNodeParam('blur', 'sigma', sigma, false);
      await settle();
    }
    editor.setNodeParam('blur', 'sigma', 7, true);
    await settle();
    const sent = socket.sent.filter((m) => m.method === 'session.setParams').map((m) => m.params);
    expect(sent).toEqual([5, 6, 7].map((sigma) => ({ node: 'blur', params: { sigma } })));
    // the whole slider drag is one undo step
    editor.docs.undo();
    expect(editor.docs.doc.value.nodes[1].params.sigma).toBe(4);
  });

  it('sends params changed while the session was opening, without starting a second run', async () => {
    const run = editor.session.run();
    await settle();
    editor.docs.edit((d) => setParam(d, 'src', 'seed', 9));
    await settle();
    socket.answer('session.open', { session: 's', nodes: [] });
    await settle();
    expect(socket.sent.find((m) => m.method === 'session.setParams')?.params).toEqual({ node: 'src', params: { seed: 9 }, rerun: false });
    socket.answer('session.run', { run: 1, state: 'done', wallMs: 1, restarts: 0, nodes: {}, notes: [] });
    await run;
  });

  it('a cleared param cannot be sent: the next Run opens the session again', async () => {
    await runOnce(true);
    editor.setNodeParam('src', 'count', undefined, true);
    await settle();
    await runOnce(true);
    expect(socket.methods()).toEqual(['session.open', 'session.run', 'session.open', 'session.run']);
  });
});

describe('progress from the server', () => {
  it('node states, logs, and a failure on its node and in the logs', async () => {
    await runOnce(true);
    socket.notify('node.state', { run: 2, node: 'src', state: 'done', frames: 2, ms: 12 });
    socket.notify('log', { node: 'blur', stream: 'stderr', line: 'warming up' });
    socket.notify('run.progress', { run: 2, state: 'failed', frames: 2, wallMs: 40, error: { message: 'sigma too large', node: 'blur' } });
    expect(editor.session.nodeStates.get('src')).toMatchObject({ state: 'done', frames: 2, ms: 12 });
    expect(editor.session.nodeStates.get('blur')).toMatchObject({ state: 'failed', message: 'sigma too large' });
    expect(editor.session.logs.value.map((l) => [l.node, l.stream, l.line])).toEqual([
      ['blur', 'stderr', 'warming up'],
      ['blur', 'error', 'sigma too large'],
    ]);
    expect(editor.session.running.value).toBe(false);
  });

  it('routes display frames to their node, keeps the last 100, and configures panes once a session is open', async () => {
    editor.displays.configure('view', 300.4, 200);
    await runOnce(true);
    const configure = socket.sent.find((m) => m.method === 'display.configure');
    expect(configure?.params).toEqual({ node: 'view', width: 300, height: 200 });

    const frame = (index: number) => {
      const header: DisplayHeader = { kind: 'image', node: 'view', run: 1, index, params: {}, width: 1, height: 1, source: { width: 1, height: 1 }, dtype: 'float32', min: 0, max: 0 };
      const json = new TextEncoder().encode(JSON.stringify(header));
      const start = Math.ceil((4 + json.length) / 8) * 8;
      const bytes = new Uint8Array(start + 4);
      new DataView(bytes.buffer).setUint32(0, json.length, true);
      bytes.set(json, 4);
      return bytes.buffer;
    };
    for (let i = 0; i < 105; i++) socket.receiveBinary(frame(i));
    const frames = editor.displays.frames.get('view')!;
    expect(frames.length).toBe(100);
    expect([frames[0].header.index, frames[99].header.index]).toEqual([5, 104]);
  });

  it('loses the session with the connection: the next Run opens again', async () => {
    vi.useFakeTimers();
    try {
      await runOnce(true);
      socket.drop();
      expect(editor.session.connection.value.status).toBe('closed');
      expect(editor.session.session.value).toBeUndefined();
      vi.advanceTimersByTime(1000);
      socket = FakeSocket.last;
      socket.open();
    } finally {
      vi.useRealTimers();
    }
    await runOnce(true);
    expect(socket.methods()).toEqual(['session.open', 'session.run']);
  });
});
