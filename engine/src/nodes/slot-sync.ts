// What a control message relayed between hosts means for the slot files on either side (pure functions).
// Slots are written by exactly one worker (the one whose folder holds them: `<worker key>/<port>.<n>`), so the
// host of that worker always has a slot's latest bytes; another host gets them with the message that first needs
// them there: inputs of a `process` call towards the operator (sent by the engine, or fetched from the writer's
// agent), outputs of its answer towards the engine (whole, or the header alone when no consumer there needs more).
import { bytesPerElement, METHODS, readTensorHeader, type SlotGrant, type SlotRef } from '@emflow/sdk';

/** `<node or replica key>/<port>.<n>`, as the engine names slots (sdk/PROTOCOL.md §1): no `..`, no absolute path. */
const SLOT_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}(\.r[0-9]{1,6})?\/[A-Za-z_][A-Za-z0-9_]{0,63}\.[0-9]{1,15}$/;

export function isSlotName(name: unknown): name is string {
  return typeof name === 'string' && SLOT_NAME.test(name);
}

/** The worker key whose folder holds a slot: the one process that writes it. */
export function writerOf(slot: string): string {
  return slot.slice(0, slot.indexOf('/'));
}

/** The output port a slot belongs to (`<worker key>/<port>.<n>`). */
export function portOf(slot: string): string {
  return slot.slice(slot.indexOf('/') + 1, slot.lastIndexOf('.'));
}

/** Below this, an array's values travel with its header: a request of their own would cost more than they do. */
const VALUES_APART_BYTES = 64 << 10;

/**
 * The parts of a frame (an Arrow IPC stream) sent where only its header is needed, as [start, end) in `frame`:
 * everything but an array's values (the engine checks and routes frames by their header); the whole of any other
 * frame (a JSON frame's value, a table), and of a small array.
 */
export function headerRanges(frame: Uint8Array): [number, number][] {
  const tensor = readTensorHeader(frame);
  const valuesBytes = tensor ? tensor.size * bytesPerElement(tensor.dtype) : 0;
  if (!tensor || valuesBytes < VALUES_APART_BYTES) return [[0, frame.byteLength]];
  const ranges: [number, number][] = [[0, tensor.valuesAt], [tensor.valuesAt + valuesBytes, frame.byteLength]];
  return ranges.filter(([start, end]) => end > start);
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

export function isSlotGrant(value: unknown): value is SlotGrant {
  const grant = value as SlotGrant;
  return typeof value === 'object' && value !== null && isSlotName(grant.slot) && isCount(grant.size) && (grant.limit === undefined || isCount(grant.limit));
}

export function isSlotRef(value: unknown): value is SlotRef {
  const ref = value as SlotRef;
  return isSlotGrant(value) && isCount(ref.offset) && isCount(ref.length) && ref.offset + ref.length <= ref.size;
}

/** The slot reference a record names (`slot`, `size`, `offset`, `length`), when it is one. */
export function slotRefIn(header: Record<string, unknown>): SlotRef | undefined {
  const ref = { slot: header.slot, size: header.size, offset: header.offset, length: header.length };
  return isSlotRef(ref) ? ref : undefined;
}

const own = (record: unknown): unknown[] => (typeof record === 'object' && record !== null ? Object.values(record) : []);

interface Message {
  id?: unknown;
  method?: unknown;
  params?: { inputs?: unknown; grants?: unknown; slots?: unknown };
  result?: { outputs?: unknown } & Partial<SlotGrant>;
}

const asMessage = (message: unknown): Message => (typeof message === 'object' && message !== null ? (message as Message) : {});

/** What a message from the engine to an operator asks of the operator's host before it is delivered there. */
export interface TowardsOperator {
  /** a `process` or `next` call, whose answer names the outputs to send back */
  call?: unknown;
  inputs: SlotRef[];
  /** slots to exist there at least this large: the call's grants, or a grown slot answering `allocate` */
  grants: SlotGrant[];
  /** slots the engine deleted */
  released: string[];
}

export function towardsOperator(raw: unknown): TowardsOperator {
  const message = asMessage(raw);
  const needs: TowardsOperator = { inputs: [], grants: [], released: [] };
  if (message.method === METHODS.process || message.method === METHODS.next) {
    needs.call = message.id;
    needs.inputs = own(message.params?.inputs).filter(isSlotRef);
    needs.grants = own(message.params?.grants).filter(isSlotGrant);
  } else if (message.method === METHODS.release) {
    needs.released = (Array.isArray(message.params?.slots) ? message.params.slots : []).filter(isSlotName);
  } else if (message.method === undefined && isSlotGrant(message.result)) {
    needs.grants = [message.result];
  }
  return needs;
}

/** The output slots an operator's message names, when it answers one of `calls` (ids of `process`/`next` calls). */
export function answeredOutputs(raw: unknown, calls: Set<unknown>): SlotRef[] {
  const message = asMessage(raw);
  if (message.method !== undefined || !calls.has(message.id)) return [];
  calls.delete(message.id);
  return own(message.result?.outputs).filter(isSlotRef);
}

/**
 * The slots one operator may write now, as either end of its tunnel sees them: the grants of its current call (and
 * the slots `allocate` grew), each up to its `limit`, until it answers the call.
 */
export class CallGrants {
  private readonly calls = new Set<unknown>();
  private readonly slots = new Map<string, number>();

  /** A message towards the operator. */
  towards(needs: TowardsOperator): void {
    if (needs.call !== undefined) this.calls.add(needs.call);
    for (const grant of needs.grants) this.slots.set(grant.slot, Math.max(grant.size, grant.limit ?? 0));
    for (const slot of needs.released) this.slots.delete(slot);
  }

  /** May the operator have written these bytes? */
  allows(ref: SlotRef): boolean {
    return ref.size <= (this.slots.get(ref.slot) ?? -1);
  }

  /** A message from the operator: the outputs it names when it answers a call (its grants end there), else none. */
  answered(raw: unknown): SlotRef[] {
    if (!this.calls.size) return [];
    const pending = this.calls.size;
    const outputs = answeredOutputs(raw, this.calls).filter((ref) => this.allows(ref));
    if (this.calls.size < pending) this.slots.clear();
    return outputs;
  }
}
