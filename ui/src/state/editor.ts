// The editor's state, composed once per tab and handed to components through provide/inject.
import type { OperatorSpec, PipelineDocument } from '@emflow/engine/protocol';
import { computed, inject, ref, watch, type InjectionKey } from 'vue';
import { rest as defaultRest, RestError, accessToken, type Rest } from '../api/rest';
import { RpcClient, socketUrl } from '../api/rpc';
import { connectionProblem, outputTypes, type Connection } from '../model/connections';
import { addNode, connect, emptyDocument, loadDocument, moveNodes, removeElements, setMeta, setParam, type Position } from '../model/document';
import { DocumentStore } from '../model/document-store';
import { indexLocated, locateProblems } from '../model/problems';
import { createCatalog } from './catalog';
import { createDisplays } from './displays';
import { createSession } from './session';
import { createValidation } from './validation';

export function createEditor(rest: Rest = defaultRest, rpc = new RpcClient(socketUrl(accessToken()))) {
  const docs = new DocumentStore();
  const catalog = createCatalog(rest);
  const validation = createValidation(docs, (doc, signal) => rest.validate(doc, signal));
  const displays = createDisplays((node, width, height) => rpc.request('display.configure', { node, width, height }));
  const session = createSession(rpc, docs, catalog, displays);
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

  const newDocument = () => show(emptyDocument());

  async function open(name: string) {
    try {
      show(loadDocument(await rest.pipeline(name)), name);
    } catch (e) {
      say(`${name}: ${(e as Error).message}`);
    }
  }

  async function save(name: string) {
    try {
      const { name: saved, problems } = await rest.save(name, docs.doc.value);
      docs.markSaved(saved);
      say(problems.length ? `saved as ${saved} (with ${problems.length} problem${problems.length === 1 ? '' : 's'})` : `saved as ${saved}`);
    } catch (e) {
      if (e instanceof RestError && e.problems.length) session.problems.value = locateProblems(e.problems, docs.doc.value);
      say(`not saved: ${(e as Error).message}`);
    }
  }

  function upload(text: string, fileName: string) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      say(`${fileName} is not JSON: ${(e as Error).message}`);
      return;
    }
    try {
      show(loadDocument(raw));
    } catch (e) {
      say(`${fileName}: ${(e as Error).message}`);
    }
  }

  async function start() {
    rpc.start();
    validation.schedule();
    await catalog.load();
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
