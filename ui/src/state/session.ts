// The tab's session on the server (JSON-RPC over the websocket): open and run, stop, instant re-tune of params,
// node states, run progress and operator logs.
import type { NodeStateNotification, PipelineDocument, Problem, RunProgress } from '@emflow/engine/protocol';
import { computed, ref, shallowReactive, shallowRef, watch } from 'vue';
import { NOT_CONNECTED, RPC_ERRORS, RpcError, type ConnectionState, type RpcClient } from '../api/rpc';
import { own, setParam, withOwn } from '../model/document';
import type { DocumentStore } from '../model/document-store';
import { acceptableValue } from '../model/fields';
import { locateProblems, type LocatedProblem } from '../model/problems';
import { paramChanges, structureKey } from '../model/session-plan';
import type { Catalog } from './catalog';
import type { Displays } from './displays';
import { createBatchedLog, type FrameScheduler } from './log-buffer';

export interface LogEntry {
  seq: number;
  time: number;
  node: string;
  stream: 'stdout' | 'stderr' | 'error';
  line: string;
}

/** log lines kept (a ring: the oldest go first) */
export const MAX_LOG_LINES = 5000;

interface OpenSession {
  id: string;
  structure: string;
  /** the document as the session knows it: opened with, plus the params sent since */
  sent: PipelineDocument;
  /** a param was cleared: setParams cannot express that, so the next run opens again */
  stale: boolean;
}

export interface SessionOptions {
  /** when the log list shown is brought up to date (default: the next animation frame) */
  scheduleFrame?: FrameScheduler;
}

export function createSession(rpc: RpcClient, docs: DocumentStore, catalog: Catalog, displays: Displays, options: SessionOptions = {}) {
  const connection = ref<ConnectionState>({ status: 'connecting' });
  const session = shallowRef<OpenSession>();
  const nodeStates = shallowReactive(new Map<string, NodeStateNotification>());
  const progress = shallowRef<RunProgress>();
  const requested = ref(false);
  const running = computed(() => requested.value || progress.value?.state === 'running');
  const logBuffer = createBatchedLog<LogEntry>(MAX_LOG_LINES, options.scheduleFrame);
  const logs = logBuffer.list;
  const problems = shallowRef<LocatedProblem[]>([]);
  const notice = ref<string>();
  let seq = 0;
  /**
   * Run numbers count per connection (the server's tab), across its sessions: `latestRun` is the highest seen on
   * this connection, `runFloor` the highest seen before the current session opened. Messages of runs up to the
   * floor belong to a closed session (late frames, throttled node states) and are dropped.
   */
  let latestRun = 0;
  let runFloor = 0;
  /** a session.open is awaiting its answer (the problems of the document it sent arrive meanwhile) */
  let opening = false;

  /** Whether a message of run `run` belongs to the session open now. */
  function current(run: number): boolean {
    if (Number.isFinite(run) && run > latestRun) latestRun = run;
    return session.value !== undefined && run > runFloor;
  }

  function log(node: string, stream: LogEntry['stream'], line: string) {
    logBuffer.push({ seq: seq++, time: Date.now(), node, stream, line });
  }

  function fail(e: unknown, doc: PipelineDocument) {
    const error = e instanceof RpcError ? e : new RpcError(0, (e as Error).message);
    const data = (error.data ?? {}) as { problems?: Problem[]; node?: string };
    if (error.code === RPC_ERRORS.invalid && data.problems) {
      problems.value = locateProblems(data.problems, doc);
      notice.value = `${data.problems.length} problem${data.problems.length === 1 ? '' : 's'}: see Problems`;
    } else if (error.code === RPC_ERRORS.stopped) {
      notice.value = 'stopped';
    } else if (error.code === RPC_ERRORS.runFailed) {
      // the failure itself arrives as run.progress and node.state; this only names it when they did not
      if (progress.value?.state !== 'failed') notice.value = data.node ? `${data.node}: ${error.message}` : error.message;
    } else if (error.code === RPC_ERRORS.noSession) {
      session.value = undefined;
      notice.value = 'the session was closed: run again';
    } else {
      notice.value = error.code === NOT_CONNECTED ? error.message : `server error: ${error.message}`;
    }
  }

  async function open(doc: PipelineDocument) {
    session.value = undefined;
    displays.setLive(false);
    displays.clear();
    nodeStates.clear();
    opening = true;
    let id: string;
    try {
      ({ session: id } = await rpc.request('session.open', { document: doc }));
    } finally {
      opening = false;
    }
    // every run this connection started so far belongs to an earlier session
    runFloor = latestRun;
    session.value = { id, structure: structureKey(doc), sent: doc, stale: false };
    displays.setLive(true);
    // params edited while the session was opening; the run that follows uses them
    retune(docs.doc.value, false);
  }

  /** Run: open first when there is no session or the document changed in more than params. */
  async function run() {
    const doc = docs.doc.value;
    problems.value = [];
    notice.value = undefined;
    requested.value = true;
    try {
      const s = session.value;
      if (!s || s.stale || structureKey(doc) !== s.structure) await open(doc);
      const summary = await rpc.request('session.run', {});
      if (summary.run > latestRun) latestRun = summary.run;
    } catch (e) {
      fail(e, doc);
    } finally {
      requested.value = false;
    }
  }

  async function stop() {
    try {
      await rpc.request('session.stop', {});
    } catch (e) {
      fail(e, docs.doc.value);
    }
  }

  /** Send params that changed since the session last heard of them: valid values only, the latest wins on the server. */
  function retune(doc: PipelineDocument, rerun = true) {
    const s = session.value;
    if (!s || s.stale || structureKey(doc) !== s.structure) return;
    let sent = s.sent;
    let stale = false;
    for (const change of paramChanges(s.sent, doc)) {
      if (change.cleared.length) stale = true;
      const spec = catalog.specs.value.get(doc.nodes.find((n) => n.id === change.node)!.operator);
      let params: Record<string, unknown> = {};
      for (const [name, value] of change.set) {
        const paramSpec = own(spec?.params, name);
        if (!paramSpec || !acceptableValue(paramSpec, value)) continue;
        params = withOwn(params, name, value);
        sent = setParam(sent, change.node, name, value);
      }
      if (Object.keys(params).length === 0) continue;
      rpc.request('session.setParams', { node: change.node, params, ...(rerun ? {} : { rerun: false }) }).catch((e) => fail(e, doc));
    }
    session.value = { ...s, sent, stale };
  }

  watch(docs.doc, (doc) => retune(doc));

  /** Another document replaces this one: its session (operators, states, frames) is of no more use. */
  function forget() {
    if (session.value) rpc.request('session.close', {}).catch(() => undefined);
    session.value = undefined;
    displays.setLive(false);
    displays.clear();
    nodeStates.clear();
    progress.value = undefined;
    problems.value = [];
    notice.value = undefined;
  }

  rpc.onState((state) => {
    if (state.status !== 'open' && connection.value.status === 'open') {
      // the server's session belongs to the socket: it is gone with it, and so is any run it was doing
      if (session.value) nodeStates.clear();
      session.value = undefined;
      displays.setLive(false);
      progress.value = undefined;
    }
    // a new connection is a new tab on the server: its runs count from 1 again
    if (state.status === 'open') latestRun = runFloor = 0;
    connection.value = state;
  });
  rpc.on('node.state', (n) => {
    if (!current(n.run)) return;
    nodeStates.set(n.node, n);
    if (n.state === 'failed' && n.message) log(n.node, 'error', n.message);
  });
  rpc.on('run.progress', (p) => {
    if (!current(p.run)) return;
    progress.value = p;
    if (p.state !== 'failed' || !p.error) return;
    const node = p.error.node;
    if (node !== undefined && nodeStates.get(node)?.state !== 'failed') {
      nodeStates.set(node, { run: p.run, node, state: 'failed', frames: nodeStates.get(node)?.frames ?? 0, message: p.error.message });
      log(node, 'error', p.error.message);
    } else if (node === undefined) log('', 'error', p.error.message);
    if (p.error.problems) problems.value = locateProblems(p.error.problems, session.value?.sent ?? docs.doc.value);
  });
  // log lines carry no run: those arriving while no session is live are of one closed (or not yet open)
  rpc.on('log', (l) => {
    if (session.value) log(l.node, l.stream, l.line);
  });
  rpc.on('problems', ({ problems: found }) => {
    if (!session.value && !opening) return;
    problems.value = locateProblems(found, session.value?.sent ?? docs.doc.value);
  });
  rpc.onBinary((data) => displays.receive(data, (header) => current(header.run)));

  return {
    connection,
    session,
    nodeStates,
    progress,
    running,
    logs,
    problems,
    notice,
    run,
    stop,
    forget,
    clearLogs: () => logBuffer.clear(),
  };
}
