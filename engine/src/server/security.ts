// Who may talk to the editor server. Pure checks of a request's Host, Origin and token; the server applies
// them to every API request and websocket upgrade. Static files (the editor's code) are public, but still
// need an allowed Host.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface AccessPolicy {
  /** required on /api (REST and websocket): `Authorization: Bearer TOKEN` or `?token=TOKEN`; undefined: none */
  token?: string;
  /**
   * Host names (without port) a request may be addressed to; undefined: any. On loopback without a token this
   * stops DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends `Host: evil.example`.
   */
  hostnames?: ReadonlySet<string>;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '::1', '[::1]'];

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.includes(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

export function generateToken(): string {
  return randomBytes(24).toString('hex');
}

/**
 * The policy for a server bound to `host`. A token is required unless `token` is false: the one given, or one
 * generated as Jupyter does (on loopback too: other users of a shared machine, an HPC login node, reach
 * 127.0.0.1 as well). Without a token only loopback is allowed, and only loopback Host names are accepted.
 */
export function accessPolicy(host: string, token?: string | false): AccessPolicy {
  const loopback = isLoopback(host);
  if (token === false && !loopback) throw new Error(`a server on ${host} (not loopback) requires a token`);
  return { token: token === false ? undefined : (token ?? generateToken()), hostnames: loopback ? new Set([...LOOPBACK_NAMES, host]) : undefined };
}

export interface RequestFacts {
  /** the Host header */
  host?: string;
  origin?: string;
  authorization?: string;
  /** the `token` query parameter */
  queryToken?: string;
}

/** The name in a Host header, without the port (IPv6 literals keep their brackets). */
export function hostnameOf(host: string): string {
  const bracketed = /^(\[[^\]]*\])(:\d+)?$/.exec(host);
  if (bracketed) return bracketed[1].toLowerCase();
  return host.replace(/:\d+$/, '').toLowerCase();
}

const digest = (text: string) => createHash('sha256').update(text).digest();
/** Compared in constant time: the token cannot be guessed a character at a time. */
export function sameToken(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

function bearer(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return match?.[1];
}

/**
 * Why a request is refused (status and a one-line reason), or undefined when allowed. `api` requests need the
 * token and, when they come from a page, a same-origin Origin: no other site's page may drive the server, and
 * no CORS header is ever sent.
 */
export function refusal(policy: AccessPolicy, request: RequestFacts, api: boolean): { status: number; reason: string } | undefined {
  const host = request.host ?? '';
  if (policy.hostnames && !policy.hostnames.has(hostnameOf(host))) {
    return { status: 403, reason: `requests must be addressed to this machine's loopback address, not to "${host.slice(0, 80)}"` };
  }
  if (!api) return undefined;
  if (request.origin !== undefined && request.origin !== `http://${host}` && request.origin !== `https://${host}`) {
    return { status: 403, reason: `cross-origin requests are refused (Origin "${request.origin.slice(0, 80)}" is not this server)` };
  }
  if (policy.token !== undefined && !sameToken(bearer(request.authorization) ?? request.queryToken, policy.token)) {
    return { status: 401, reason: 'a valid token is required: open the URL emflow serve printed (it carries ?token=…)' };
  }
  return undefined;
}
