// The REST half of the wire contract (engine/src/server/protocol.ts), same origin under api/.
import type {
  ErrorResponse,
  FilesResponse,
  OperatorsResponse,
  PipelineDocument,
  PipelinesResponse,
  Problem,
  SaveResponse,
  ValidateResponse,
} from '@emflow/engine/protocol';

const TOKEN_KEY = 'emflow.token';

/** The access token: from ?token= of the page (kept for the tab, so reloads and links without it still work). */
export function accessToken(): string | undefined {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** A REST call that failed: the server's one-line message, and problems when it sent some. */
export class RestError extends Error {
  override name = 'RestError';
  constructor(
    message: string,
    readonly status: number,
    readonly problems: Problem[] = [],
  ) {
    super(message);
  }
}

async function call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = {};
  const token = accessToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(new URL(`api/${path}`, document.baseURI), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const error = json as Partial<ErrorResponse> | undefined;
    throw new RestError(error?.error ?? `${method} /api/${path}: HTTP ${response.status}`, response.status, error?.problems ?? []);
  }
  if (json === undefined) throw new RestError(`${method} /api/${path}: the answer is not JSON`, response.status);
  return json as T;
}

const named = (name: string) => `pipelines/${encodeURIComponent(name)}`;

export const rest = {
  operators: () => call<OperatorsResponse>('GET', 'operators'),
  validate: (doc: PipelineDocument, signal?: AbortSignal) => call<ValidateResponse>('POST', 'validate', doc, signal),
  pipelines: () => call<PipelinesResponse>('GET', 'pipelines'),
  pipeline: (name: string) => call<unknown>('GET', named(name)),
  save: (name: string, doc: PipelineDocument) => call<SaveResponse>('PUT', named(name), doc),
  files: (path?: string) => call<FilesResponse>('GET', path === undefined ? 'files' : `files?path=${encodeURIComponent(path)}`),
};

export type Rest = typeof rest;
