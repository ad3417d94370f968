// Messages of the emflow control plane (JSON-RPC 2.0, one JSON object per line, over a Unix socket).
// PROTOCOL.md is the normative description; these types mirror it.

export const PROTOCOL_VERSION = 1;

export const METHODS = {
  /** operator → engine, first message on a connection */
  hello: 'hello',
  /** operator → engine: a bigger slot for an output that did not fit its grant */
  allocate: 'allocate',
  /** engine → operator: run the operator on one set of input frames */
  process: 'process',
  /** engine → operator: the next frame of a call that answered `more: true` */
  next: 'next',
  /** engine → operator (notification): these slot files are gone; unmap them */
  release: 'release',
  /** engine → operator: finish, tear down and exit */
  shutdown: 'shutdown',
  /** engine → operator (notification): abandon the call in progress and answer it now */
  cancel: 'cancel',
} as const;

/** JSON-RPC error codes used by emflow (application range). */
export const ERRORS = {
  /** the operator's own code threw */
  operatorFailed: -32000,
  /** a frame could not be decoded or has the wrong type for its port */
  badFrame: -32001,
  /** hello refused: unknown token or protocol version */
  badHello: -32002,
  /** no slot could be granted */
  noSlot: -32003,
} as const;

/** A slot file handed to an operator to write one output frame into. `slot` is relative to the session directory. */
export interface SlotGrant {
  slot: string;
  size: number;
  /**
   * In grants only: the operator may grow the slot file itself (ftruncate) up to this many bytes before
   * writing, and then answers with the new `size`: the first frame of a port lands in place, with no `allocate`.
   */
  limit?: number;
}

/** An encoded frame inside a slot: Arrow IPC stream bytes at [offset, offset + length). */
export interface SlotRef extends SlotGrant {
  offset: number;
  length: number;
}

export interface HelloParams {
  protocol: number;
  token: string;
  pid: number;
  operator: string;
  version: string;
}

export interface HelloResult {
  session: string;
  node: string;
}

export interface ProcessParams {
  /** increases with every run of the session */
  run: number;
  /** index of the first output frame this call produces */
  frame: number;
  inputs: Record<string, SlotRef>;
  params: Record<string, unknown>;
  grants: Record<string, SlotGrant>;
}

export interface NextParams {
  run: number;
  frame: number;
  grants: Record<string, SlotGrant>;
}

export interface ProcessResult {
  /** one slot reference per output port that produced a frame */
  outputs: Record<string, SlotRef>;
  /** true: the call has more frames; the engine sends `next` to get them */
  more: boolean;
}

export interface AllocateParams {
  port: string;
  bytes: number;
  /** the granted slot to grow (optional for older operators): a late request for an earlier grant is refused */
  slot?: string;
}

export interface ReleaseParams {
  slots: string[];
}

/** `data` of an operatorFailed error. */
export interface OperatorErrorData {
  name: string;
  stack?: string;
}
