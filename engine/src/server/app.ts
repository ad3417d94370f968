// The editor server: fastify with the built editor as static files, the REST routes for documents, operators
// and files, and one JSON-RPC websocket per tab. Every /api request passes the access checks (security.ts);
// bodies are parsed with the same limits as pipeline files; errors answer one line, never a stack.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import { PORT_TYPES, portAccepts } from '@emflow/sdk';
import { InputFileError, parseJsonDocument } from '../pipeline-file.js';
import { preparePipeline } from '../prepare.js';
import type { Runtime } from '../runtime/runtime.js';
import type { PathRoots } from '../validate/roots.js';
import { DocumentFolder, DocumentNameError, DocumentWriteError } from './documents.js';
import { listFiles, OutsideRootsError } from './files.js';
import type { ErrorResponse, HealthResponse, OperatorsResponse, PipelinesResponse, SaveResponse, ValidateResponse } from './protocol.js';
import { MAX_RPC_MESSAGE_BYTES, serveTab } from './rpc.js';
import { refusal, type AccessPolicy } from './security.js';
import type { EditorTab, TabOptions } from './tab.js';

export interface EditorServerOptions {
  runtime: Runtime;
  /** the runtime's name, as reported to the editor */
  runtimeName: string;
  /** the served folder: documents are read and saved here, and relative paths in them resolve against it */
  folder: string;
  /** the document the editor opens first */
  initial?: string;
  /** where file params may point and the file picker may look */
  roots: PathRoots;
  policy: AccessPolicy;
  /** the built editor (default: ui/dist of this installation) */
  uiDir?: string;
  version: string;
  /** for tests: session settings */
  session?: TabOptions['session'];
  /** sessions (editor tabs with a document open) the server runs at once (default 8) */
  maxSessions?: number;
}

export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../ui/dist', import.meta.url));
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** The routes @fastify/static serves the built editor on. */
const PUBLIC_ROUTES = new Set(['/', '/*']);

/** The accepts table of the type rule: for each input type, the output types that may feed it. */
function acceptsTable(): OperatorsResponse['accepts'] {
  return Object.fromEntries(PORT_TYPES.map((to) => [to, PORT_TYPES.filter((from) => portAccepts(to, from))])) as OperatorsResponse['accepts'];
}

/** A status for errors users cause; anything else is the server's fault (500). */
function statusOf(error: Error): number {
  if (error instanceof DocumentNameError) return 400;
  if (error instanceof OutsideRootsError) return 403;
  if (error instanceof DocumentWriteError) return 409;
  if (error instanceof InputFileError) return /no such (document|file)/.test(error.message) ? 404 : 400;
  const status = (error as FastifyError).statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

export async function createEditorServer(options: EditorServerOptions): Promise<FastifyInstance> {
  const uiDir = options.uiDir ?? DEFAULT_UI_DIR;
  if (!existsSync(`${uiDir}/index.html`)) throw new Error(`the editor is not built (no ${uiDir}/index.html): run npm install, or npm run build -w @emflow/ui`);
  const documents = new DocumentFolder(options.folder);
  const app = Fastify({ logger: false, bodyLimit: MAX_BODY_BYTES, forceCloseConnections: true });

  app.addHook('onRequest', async (request, reply) => {
    // deny by default, decided on the route the router matched (the raw URL may spell /api as /%61pi or in
    // absolute form): only the editor's static files are public
    const api = !PUBLIC_ROUTES.has(request.routeOptions.url ?? '');
    const query = request.query as Record<string, unknown> | undefined;
    const refused = refusal(
      options.policy,
      { host: request.headers.host, origin: request.headers.origin, authorization: request.headers.authorization, queryToken: typeof query?.token === 'string' ? query.token : undefined },
      api,
    );
    if (refused) {
      // a refused websocket upgrade answers and hangs up: the socket is no longer the HTTP server's to close
      if (request.headers.upgrade) reply.raw.once('finish', () => request.raw.socket?.destroy());
      return reply.code(refused.status).send({ error: refused.reason } satisfies ErrorResponse);
    }
    void reply.headers({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    });
  });

  // documents parsed as pipeline files are: nesting, duplicate keys and __proto__ refused with a clear message
  // and nothing but JSON: a form posting text/plain (a cross-site request without preflight) gets 415
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonDocument(body as string, 'request body'));
    } catch (error) {
      done(Object.assign(error as Error, { statusCode: 400 }), undefined);
    }
  });

  app.setErrorHandler((error: Error, _request, reply) => {
    const status = statusOf(error);
    const message = status === 500 ? `internal error: ${error.message.split('\n')[0]}` : error.message;
    void reply.code(status).send({ error: message } satisfies ErrorResponse);
  });
  app.setNotFoundHandler((request, reply) => void reply.code(404).send({ error: `no such route: ${request.method} ${request.url.split('?')[0].slice(0, 200)}` } satisfies ErrorResponse));

  app.get('/api/health', async (): Promise<HealthResponse> => ({ ok: true, version: options.version, runtime: options.runtimeName }));

  app.get('/api/operators', async (): Promise<OperatorsResponse> => {
    const catalog = await options.runtime.catalog();
    return { runtime: options.runtimeName, operators: catalog.operators.map((o) => o.spec), problems: catalog.problems.map((p) => ({ location: p.location, message: p.message })), accepts: acceptsTable() };
  });

  const validate = async (document: unknown) => (await preparePipeline(document, { runtime: options.runtime, baseDir: options.folder, roots: options.roots })).problems;

  app.post('/api/validate', async (request): Promise<ValidateResponse> => ({ problems: await validate(request.body) }));

  app.get('/api/pipelines', async (): Promise<PipelinesResponse> => ({ folder: options.folder, initial: options.initial, pipelines: await documents.list() }));

  app.get<{ Params: { name: string } }>('/api/pipelines/:name', async (request) => documents.read(request.params.name));

  app.put<{ Params: { name: string } }>('/api/pipelines/:name', async (request): Promise<SaveResponse> => {
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Object.assign(new Error('the body must be a pipeline document (a JSON object)'), { statusCode: 400 });
    const problems = await validate(body);
    // saved even with problems: half-finished work is not lost; the editor shows them
    return { name: documents.write(request.params.name, body), problems };
  });

  app.get<{ Querystring: { path?: string } }>('/api/files', async (request) => listFiles(options.roots, typeof request.query.path === 'string' ? request.query.path : undefined));

  await app.register(fastifyWebsocket, { options: { maxPayload: MAX_RPC_MESSAGE_BYTES } });
  // closing the server waits for every tab's session to close: no operator or shared memory outlives it
  const tabs = new Set<EditorTab>();
  const sessions = { open: 0, max: options.maxSessions ?? 8 };
  app.get('/api/ws', { websocket: true }, (socket) => {
    const tab = serveTab(socket, { runtime: options.runtime, baseDir: options.folder, roots: options.roots, session: options.session, sessions });
    tabs.add(tab);
    socket.on('close', () =>
      void tab
        .close()
        .catch((error: unknown) => process.stderr.write(`emflow serve: closing a tab's session: ${(error as Error).message}\n`))
        .finally(() => tabs.delete(tab)),
    );
  });
  app.addHook('onClose', async () => {
    await Promise.all([...tabs].map((tab) => tab.close()));
  });

  await app.register(fastifyStatic, { root: uiDir, prefix: '/', index: 'index.html', wildcard: true });
  return app;
}
