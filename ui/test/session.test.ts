// The editor against a scripted server: when Run opens a session and when it only runs, instant re-tune of
// params (valid values only), node states, failures, problems from the server, and display frames.
import type { DisplayHeader } from '@emflow/engine/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import type { Rest } from '../src/api/rest';
import { RPC_ERRORS, RpcClient } from '../src/api/rpc';
import { addNode, connect, loadDocument, setParam } from '../src/model/document';
import { createEditor, type Editor } from '../src/state/editor';
import { MAX_LOG_LINES } from '../src/state/session';
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

/** the documents the fake server's folder holds (GET /api/pipelines) */
let listed: { name: string }[] = [];
const rest = {
  operators: async () => ({ runtime: 'process', operators: realSpecs(), problems: [], accepts }),
  validate: async () => ({ problems: [] }),
  pipelines: vi.fn(async () => ({ folder: '/p', pipelines: listed })),
  pipeline: vi.fn(async () => pipeline()),
  save: vi.fn(async (name: string) => ({ name, problems: [] })),
} as unknown as Rest & { pipelines: ReturnType<typeof vi.fn>; pipeline: ReturnType<typeof vi.fn>; save: ReturnType<typeof vi.fn> };

let editor: Editor;
let socket: FakeSocket;
/** what the user answers to the editor's confirm() questions, and the questions asked */
let answer = true;
let asked: string[] = [];
/** animation frames requested by the logs (run by hand: runFrames()) */
let frameCallbacks: (() => void)[] = [];
const runFrames = () => frameCallbacks.splice(0).forEach((callback) => callback());

/** A binary image display message of node `view` (1 × 1 pixels) */
const frame = (index: number, run = 1, node = 'view') => {
  const header: DisplayHeader = { kind: 'image', node, run, index, params: {}, width: 1, height: 1, source: { width: 1, height: 1 }, dtype: 'float32', min: 0, max: 0 };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((4 + json.length) / 8) * 8;
  const bytes = new Uint8Array(start + 4);
  new DataView(bytes.buffer).setUint32(0, json.length, true);
  bytes.set(json, 4);
  return bytes.buffer;
};
const settle = async () => {
  // the JSON-RPC library settles answers a few promise steps after the message: a macrotask flushes them all
  if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(0);
  else await new Promise((resolve) => setTimeout(resolve, 0));
  await nextTick();
};

beforeEach(async () => {
  answer = true;
  asked = [];
  listed = [];
  frameCallbacks = [];
  vi.clearAllMocks();
  editor = createEditor(rest, new RpcClient('ws://host/api/ws', (url) => new FakeSocket(url)), {
    confirm: (message) => {
      asked.push(message);
      return answer;
    },
    session: { scheduleFrame: (callback) => frameCallbacks.push(callback) },
  });
  await editor.start();
  socket = FakeSocket.last;
  socket.open();
  editor.docs.load(pipeline(), 'blur-view');
});
afterEach(() => {
  editor.rpc.stop();
  FakeSocket.all = [];
});

async function runOnce(opened: boolean, number = 1) {
  const run = editor.session.run();
  await settle();
  if (opened) {
    socket.answer('session.open', { session: 's', nodes: ['src', 'blur', 'view'] });
    await settle();
  }
  socket.answer('session.run', { run: number, state: 'done', wallMs: 5, restarts: 0, nodes: {}, notes: [] });
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
    // the list shown is brought up to date once per animation frame
    expect(editor.session.logs.value).toEqual([]);
    expect(frameCallbacks).toHaveLength(1);
    runFrames();
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

    for (let i = 0; i < 105; i++) socket.receiveBinary(frame(i));
    const frames = editor.displays.frames.get('view')!;
    expect(frames.length).toBe(100);
    expect([frames[0].header.index, frames[99].header.index]).toEqual([5, 104]);
  });

  it('a frame sent again (same run and index, as after each display.configure) replaces the one kept instead of filling the scrubber', async () => {
    await runOnce(true);
    for (let i = 0; i < 3; i++) socket.receiveBinary(frame(i));
    const third = editor.displays.frames.get('view')![2];
    for (let again = 0; again < 50; again++) socket.receiveBinary(frame(2));
    let frames = editor.displays.frames.get('view')!;
    expect(frames.map((f) => f.header.index)).toEqual([0, 1, 2]);
    expect(frames[2]).not.toBe(third);
    // the same index of another run is another frame
    socket.receiveBinary(frame(2, 2));
    frames = editor.displays.frames.get('view')!;
    expect(frames.map((f) => [f.header.run, f.header.index])).toEqual([
      [1, 0],
      [1, 1],
      [1, 2],
      [2, 2],
    ]);
  });

  it('clears node states (idle again) when the connection drops with a session open: no badge stays running', async () => {
    vi.useFakeTimers();
    try {
      await runOnce(true);
      socket.notify('node.state', { run: 2, node: 'src', state: 'done', frames: 2 });
      socket.notify('node.state', { run: 2, node: 'blur', state: 'running', frames: 1 });
      expect(editor.session.nodeStates.get('blur')?.state).toBe('running');
      socket.drop();
      expect(editor.session.nodeStates.size).toBe(0);
      expect(editor.session.progress.value).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
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

describe('late messages of a closed session', () => {
  it('are ignored while no session is live, and when their run is from before the current session opened', async () => {
    await runOnce(true);
    socket.notify('run.progress', { run: 1, state: 'running', frames: 0, wallMs: 0 });
    socket.receiveBinary(frame(0, 1));
    expect(editor.displays.frames.get('view')).toHaveLength(1);

    // another document with a node of the same id: the old session is closed
    editor.upload(JSON.stringify(pipeline()), 'again.json');
    await settle();
    expect(socket.methods().at(-1)).toBe('session.close');
    socket.receiveBinary(frame(1, 1));
    socket.notify('node.state', { run: 1, node: 'view', state: 'running', frames: 1 });
    socket.notify('run.progress', { run: 1, state: 'running', frames: 1, wallMs: 3 });
    socket.notify('log', { node: 'view', stream: 'stdout', line: 'late' });
    runFrames();
    expect(editor.displays.frames.get('view')).toBeUndefined();
    expect(editor.session.nodeStates.size).toBe(0);
    expect(editor.session.progress.value).toBeUndefined();
    expect(editor.session.logs.value).toEqual([]);

    // Run opens a new session; what the old one sent late (run 1) is still ignored, its own run 2 is shown
    const run = editor.session.run();
    await settle();
    socket.receiveBinary(frame(2, 1));
    socket.answer('session.open', { session: 's2', nodes: ['src', 'blur', 'view'] });
    await settle();
    socket.receiveBinary(frame(3, 1));
    socket.notify('node.state', { run: 1, node: 'blur', state: 'running', frames: 1 });
    expect(editor.displays.frames.get('view')).toBeUndefined();
    expect(editor.session.nodeStates.size).toBe(0);

    socket.notify('run.progress', { run: 2, state: 'running', frames: 0, wallMs: 0 });
    socket.notify('node.state', { run: 2, node: 'blur', state: 'running', frames: 1 });
    socket.receiveBinary(frame(0, 2));
    expect(editor.session.progress.value?.run).toBe(2);
    expect(editor.session.nodeStates.get('blur')?.run).toBe(2);
    expect(editor.displays.frames.get('view')!.map((f) => [f.header.run, f.header.index])).toEqual([[2, 0]]);
    socket.answer('session.run', { run: 2, state: 'done', wallMs: 5, restarts: 0, nodes: {}, notes: [] });
    await run;
  });

  it('a new connection counts runs from 1 again: its first run is shown', async () => {
    vi.useFakeTimers();
    try {
      await runOnce(true, 7);
      socket.drop();
      vi.advanceTimersByTime(1000);
      socket = FakeSocket.last;
      socket.open();
    } finally {
      vi.useRealTimers();
    }
    const run = editor.session.run();
    await settle();
    socket.answer('session.open', { session: 's', nodes: ['src', 'blur', 'view'] });
    await settle();
    socket.notify('node.state', { run: 1, node: 'src', state: 'running', frames: 0 });
    socket.receiveBinary(frame(0, 1));
    expect(editor.session.nodeStates.get('src')?.state).toBe('running');
    expect(editor.displays.frames.get('view')).toHaveLength(1);
    socket.answer('session.run', { run: 1, state: 'done', wallMs: 5, restarts: 0, nodes: {}, notes: [] });
    await run;
  });
});

describe('the value under the cursor', () => {
  it('display.pixel names the frame shown: its run and index', async () => {
    await runOnce(true);
    const asked = editor.pixel('view', 3, 4, { run: 1, index: 7 });
    await settle();
    expect(socket.sent.at(-1)).toMatchObject({ method: 'display.pixel', params: { node: 'view', x: 3, y: 4, index: 7, run: 1 } });
    socket.fail('display.pixel', RPC_ERRORS.noFrame, 'frame 7 of run 1 of display "view" is no longer kept');
    await expect(asked).rejects.toMatchObject({ code: RPC_ERRORS.noFrame });
  });
});

describe('logs', () => {
  it('a flood is kept in a ring of MAX_LOG_LINES and shown once per animation frame', async () => {
    await runOnce(true);
    for (let i = 0; i < MAX_LOG_LINES + 1000; i++) socket.notify('log', { node: 'src', stream: 'stdout', line: `line ${i}` });
    expect(frameCallbacks).toHaveLength(1);
    expect(editor.session.logs.value).toEqual([]);
    runFrames();
    const logs = editor.session.logs.value;
    expect(logs).toHaveLength(MAX_LOG_LINES);
    expect([logs[0].line, logs.at(-1)!.line]).toEqual(['line 1000', `line ${MAX_LOG_LINES + 999}`]);
    socket.notify('log', { node: 'src', stream: 'stdout', line: 'one more' });
    expect(frameCallbacks).toHaveLength(1);
    editor.session.clearLogs();
    expect(editor.session.logs.value).toEqual([]);
    // a frame asked for before the clear brings nothing back
    runFrames();
    expect(editor.session.logs.value).toEqual([]);
  });
});

describe('unsaved changes', () => {
  it('the dirty flag: set by an edit, cleared by saving and by undoing back to the saved document', async () => {
    expect(editor.docs.dirty.value).toBe(false);
    editor.setNodeParam('blur', 'sigma', 5, true);
    expect(editor.docs.dirty.value).toBe(true);
    editor.docs.undo();
    expect(editor.docs.dirty.value).toBe(false);
    editor.setNodeParam('blur', 'sigma', 5, true);
    await editor.save('blur-view');
    expect(rest.save).toHaveBeenCalledWith('blur-view', editor.docs.doc.value);
    expect(editor.docs.dirty.value).toBe(false);
  });

  it('an edit made while the save is on its way stays unsaved', async () => {
    let finish!: (r: { name: string; problems: [] }) => void;
    rest.save.mockImplementationOnce(() => new Promise((resolve) => (finish = resolve)));
    editor.setNodeParam('blur', 'sigma', 5, true);
    const saving = editor.save('blur-view');
    editor.setNodeParam('blur', 'sigma', 6, true);
    finish({ name: 'blur-view', problems: [] });
    await saving;
    expect(editor.docs.dirty.value).toBe(true);
  });

  it('New, Open and Upload ask only when unsaved changes would be lost, and keep the document when told no', async () => {
    const other = JSON.stringify({ ...pipeline(), name: 'other' });
    // nothing to lose: no question
    expect(editor.upload(other, 'other.json')).toBe(true);
    expect(await editor.open('blur-view')).toBe(true);
    expect(editor.newDocument()).toBe(true);
    expect(asked).toEqual([]);

    editor.docs.load(pipeline(), 'blur-view');
    editor.setNodeParam('blur', 'sigma', 5, true);
    const changed = editor.docs.doc.value;
    answer = false;
    expect(editor.newDocument()).toBe(false);
    expect(await editor.open('other')).toBe(false);
    expect(rest.pipeline).toHaveBeenCalledTimes(1);
    expect(editor.upload(other, 'other.json')).toBe(false);
    // a file that is no document replaces nothing: no question
    expect(editor.upload('{', 'broken.json')).toBe(false);
    expect(asked).toHaveLength(3);
    expect(asked[0]).toMatch(/^blur-view has unsaved changes/);
    expect(editor.docs.doc.value).toBe(changed);
    expect(editor.docs.fileName.value).toBe('blur-view');

    answer = true;
    expect(editor.newDocument()).toBe(true);
    expect(editor.docs.doc.value.nodes).toEqual([]);
    expect(asked).toHaveLength(4);
  });

  it('a reload or close asks (beforeunload) only while there are unsaved changes', () => {
    const unload = () => {
      const event = new Event('beforeunload', { cancelable: true }) as BeforeUnloadEvent;
      editor.beforeUnload(event);
      return event.defaultPrevented;
    };
    expect(unload()).toBe(false);
    editor.setNodeParam('blur', 'sigma', 5, true);
    expect(unload()).toBe(true);
  });

  it('a reload right after Save does not ask: the document sent is on the server, whether or not its answer came yet', async () => {
    const unload = () => {
      const event = new Event('beforeunload', { cancelable: true }) as BeforeUnloadEvent;
      editor.beforeUnload(event);
      return event.defaultPrevented;
    };
    let finish!: (r: { name: string; problems: [] }) => void;
    rest.save.mockImplementationOnce(() => new Promise((resolve) => (finish = resolve)));
    editor.setNodeParam('blur', 'sigma', 5, true);
    const saving = editor.save('blur-view');
    expect(unload()).toBe(false);
    // an edit after it was sent would be lost
    editor.setNodeParam('blur', 'sigma', 6, true);
    expect(unload()).toBe(true);
    editor.docs.undo();
    expect(unload()).toBe(false);
    finish({ name: 'blur-view', problems: [] });
    await saving;
    expect(unload()).toBe(false);
  });
});

describe('saving under a name', () => {
  it('asks the Open list only for a name other than its own, and says which existing document would be replaced', async () => {
    listed = [{ name: 'blur-view' }, { name: 'untitled' }];
    rest.pipelines.mockClear(); // start() listed them once
    expect(await editor.checkSaveName('blur-view')).toEqual({ kind: 'new' });
    expect(rest.pipelines).not.toHaveBeenCalled();
    expect(await editor.checkSaveName('untitled')).toEqual({ kind: 'replace', existing: 'untitled' });
    expect(await editor.checkSaveName('Untitled')).toEqual({ kind: 'replace', existing: 'untitled' });
    expect(await editor.checkSaveName('fresh')).toEqual({ kind: 'new' });
    rest.pipelines.mockRejectedValueOnce(new Error('offline'));
    expect(await editor.checkSaveName('fresh')).toEqual({ kind: 'unknown', error: 'offline' });
  });
});
