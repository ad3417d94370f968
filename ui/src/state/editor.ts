// The editor's state, composed once per tab and handed to components through provide/inject.
import type { OperatorSpec, PipelineDocument, PipelinesResponse } from '@emflow/engine/protocol';
import { computed, inject, ref, watch, type InjectionKey } from 'vue';
import { rest as defaultRest, RestError, accessToken, type Rest } from '../api/rest';
import { RpcClient, socketUrl } from '../api/rpc';
import { connectionProblem, outputTypes, type Connection } from '../model/connections';
import { addNode, connect, emptyDocument, loadDocument, moveNodes, removeElements, setMeta, setParam, type Position } from '../model/document';
import { DocumentStore } from '../model/document-store';
import { indexLocated, locateProblems } from '../model/problems';
import { createCatalog } from './catalog';
import { createDisplays } from './displays';
import { createSession, type SessionOptions } from './session';
import { createValidation } from './validation';

/** HTTP 401: the server wants the access token this tab does not have (or a stale one) */
const UNAUTHORIZED = 401;

/** `rest` with every call watched for 401 answers (the error still reaches the caller). */
function watchUnauthorized(rest: Rest, onUnauthorized: () => void): Rest {
  const watched: Record<string, unknown> = {};
  for (const [name, call] of Object.entries(rest)) {
    watched[name] = async (...args: unknown[]) => {
      try {
        return await (call as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (e) {
        if (e instanceof RestError && e.status === UNAUTHORIZED) onUnauthorized();
        throw e;
      }
    };
  }
  return watched as Rest;
}

/** What saving under a name would do: write a new file, replace an existing one, or (the list failed) unknown. */
export type SaveCheck = { kind: 'new' } | { kind: 'replace'; existing: string } | { kind: 'unknown'; error: string };

export interface EditorOptions {
  /** asks the user a yes/no question (discarding unsaved changes); default window.confirm */
  confirm?: (message: string) => boolean;
  /** passed to the session (when the logs panel is brought up to date) */
  session?: SessionOptions;
}

export function createEditor(rest: Rest = defaultRest, rpc = new RpcClient(socketUrl(accessToken())), options: EditorOptions = {}) {
  /** the server answered 401: this page lacks the token `emflow serve` printed */
  const unauthorized = ref(false);
  rest = watchUnauthorized(rest, () => {
    if (unauthorized.value) return;
    unauthorized.value = true;
    // the websocket is refused as well, whatever the retries: stop knocking
    rpc.stop();
  });
  const confirm = options.confirm ?? ((message: string) => window.confirm(message));
  const docs = new DocumentStore();
  const catalog = createCatalog(rest);
  const validation = createValidation(docs, (doc, signal) => rest.validate(doc, signal));
  const displays = createDisplays((node, width, height) => rpc.request('display.configure', { node, width, height }));
  const session = createSession(rpc, docs, catalog, displays, options.session);
  /** a short message for the toolbar: what went wrong opening, saving or uploading */
  const notice = ref<string>();
  /** the served folder (documents live there; relative file params resolve against it) */
  const folder = ref<string>();
  const types = computed(() => outputTypes(docs.doc.value, catalog.specs.value));
  const allProblems = computed(() => [...validation.problems.value, ...session.problems.value]);
  const problemIndex = computed(() => indexLocated(allProblems.value));
  const hasErrors = computed(() => validation.problems.value.length > 0);
  const displayNodes = computed(() =>
    docs.doc.value.nodes.filter((n) => typeof catalog.specs.value.get(n.operator)?.display?.view === 'string'),
  );
  // a display node removed from the document: its pane, size and frames go with it
  watch(displayNodes, (now, before) => {
    const kept = new Set(now.map((n) => n.id));
    for (const n of before ?? []) if (!kept.has(n.id)) displays.forget(n.id);
  });

  const say = (message: string | undefined) => (notice.value = message);

  function addOperator(spec: OperatorSpec, position: Position): string {
    let id = '';
    docs.edit((doc) => {
      const added = addNode(doc, spec, position);
      id = added.id;
      return added.doc;
    });
    return id;
  }

  function connectPorts(c: Connection) {
    if (connectionProblem(c, docs.doc.value, catalog.specs.value, catalog.accepts.value)) return;
    docs.edit((doc) => connect(doc, { from: { node: c.source, port: c.sourceHandle! }, to: { node: c.target, port: c.targetHandle! } }));
  }

  /** `final`: the end of a gesture (slider released, field left): the next change starts a new undo step. */
  function setNodeParam(node: string, name: string, value: unknown, final: boolean) {
    docs.edit((doc) => setParam(doc, node, name, value), JSON.stringify(['param', node, name]));
    if (final) docs.seal();
  }

  function move(positions: ReadonlyMap<string, Position>, final: boolean) {
    docs.edit((doc) => moveNodes(doc, positions), 'move');
    if (final) docs.seal();
  }

  const remove = (nodes: ReadonlySet<string>, edges: ReadonlySet<string>) => docs.edit((doc) => removeElements(doc, nodes, edges));
  const setDocumentMeta = (meta: { name?: string; description?: string }) => docs.edit((doc) => setMeta(doc, meta), `meta:${Object.keys(meta).join()}`);

  function show(doc: PipelineDocument, fileName?: string) {
    session.forget();
    docs.load(doc, fileName);
    session.problems.value = [];
    say(undefined);
  }

  /**
   * True when nothing unsaved would be lost by replacing the document, or the user agreed to lose it. Only a
   * document changed since it was opened or saved asks.
   */
  function mayDiscard(what: string): boolean {
    if (!docs.dirty.value) return true;
    const current = docs.fileName.value ?? (docs.doc.value.name?.trim() || 'the current pipeline');
    return confirm(`${current} has unsaved changes. Discard them and ${what}?`);
  }

  /** New document; false when the user kept the current one. */
  function newDocument(): boolean {
    if (!mayDiscard('start a new pipeline')) return false;
    show(emptyDocument());
    return true;
  }

  /** Open a document of the served folder; false when the user kept the current one. */
  async function open(name: string): Promise<boolean> {
    if (!mayDiscard(`open ${name}`)) return false;
    try {
      show(loadDocument(await rest.pipeline(name)), name);
      return true;
    } catch (e) {
      say(`${name}: ${(e as Error).message}`);
      return false;
    }
  }

  /**
   * PUT always replaces: before saving under `name`, whether a document of that name already exists (the Open
   * list). Saving under the name the document was opened from or saved as is no surprise, and is never asked about.
   */
  async function checkSaveName(name: string): Promise<SaveCheck> {
    if (name === docs.fileName.value) return { kind: 'new' };
    let listed: PipelinesResponse;
    try {
      listed = await rest.pipelines();
    } catch (e) {
      return { kind: 'unknown', error: (e as Error).message };
    }
    // a file system that ignores case replaces "Untitled" when saving "untitled"
    const existing = listed.pipelines.find((p) => p.name === name) ?? listed.pipelines.find((p) => p.name.toLowerCase() === name.toLowerCase());
    return existing ? { kind: 'replace', existing: existing.name } : { kind: 'new' };
  }

  /** the document a save has sent and not heard back about: it is on the server already, not lost by a reload */
  let sending: PipelineDocument | undefined;

  async function save(name: string) {
    const doc = docs.doc.value;
    sending = doc;
    try {
      const { name: saved, problems } = await rest.save(name, doc);
      docs.markSaved(saved, doc);
      say(problems.length ? `saved as ${saved} (with ${problems.length} problem${problems.length === 1 ? '' : 's'})` : `saved as ${saved}`);
    } catch (e) {
      if (e instanceof RestError && e.problems.length) session.problems.value = locateProblems(e.problems, docs.doc.value);
      say(`not saved: ${(e as Error).message}`);
    } finally {
      if (sending === doc) sending = undefined;
    }
  }

  /** Show an uploaded JSON file; false when it is no document or the user kept the current one. */
  function upload(text: string, fileName: string): boolean {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      say(`${fileName} is not JSON: ${(e as Error).message}`);
      return false;
    }
    let loaded: PipelineDocument;
    try {
      loaded = loadDocument(raw);
    } catch (e) {
      say(`${fileName}: ${(e as Error).message}`);
      return false;
    }
    if (!mayDiscard(`open ${fileName}`)) return false;
    show(loaded);
    return true;
  }

  /** window's beforeunload: a reload or close of the tab asks first while there are unsaved changes. */
  function beforeUnload(event: BeforeUnloadEvent) {
    if (!docs.dirty.value || docs.doc.value === sending) return;
    event.preventDefault();
    // older browsers show the prompt only with a returnValue
    event.returnValue = '';
  }

  /** The full-resolution value at (x, y) of the frame (run, index) a pane shows. */
  const pixel = (node: string, x: number, y: number, frame: { run: number; index: number }) =>
    rpc.request('display.pixel', { node, x, y, index: frame.index, run: frame.run });

  async function start() {
    rpc.start();
    validation.schedule();
    await catalog.load();
    if (unauthorized.value) return;
    try {
      const { initial, folder: served } = await rest.pipelines();
      folder.value = served;
      if (initial !== undefined && docs.doc.value.nodes.length === 0) await open(initial);
    } catch (e) {
      say(`pipelines could not be listed: ${(e as Error).message}`);
    }
  }

  return {
    rest,
    rpc,
    docs,
    catalog,
    validation,
    displays,
    session,
    notice,
    folder,
    types,
    allProblems,
    problemIndex,
    hasErrors,
    displayNodes,
    say,
    addOperator,
    connectPorts,
    setNodeParam,
    move,
    remove,
    setDocumentMeta,
    newDocument,
    open,
    save,
    upload,
    checkSaveName,
    beforeUnload,
    pixel,
    unauthorized,
    start,
  };
}

export type Editor = ReturnType<typeof createEditor>;
export const EDITOR: InjectionKey<Editor> = Symbol('emflow editor');

export function useEditor(): Editor {
  const editor = inject(EDITOR);
  if (!editor) throw new Error('useEditor() outside the editor');
  return editor;
}
