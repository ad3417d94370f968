// The operator side of the protocol: connect to the engine, say hello, then serve process/next calls by
// decoding input slots (zero-copy), calling the operator, and encoding its outputs into granted slots.
import { truncateSync } from 'node:fs';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { decodeFrame, encodeFrameInto, encodedSizeOf, FrameError, slotBytesForArray, TENSOR_BODY_OFFSET } from '../codec.js';
import { viewTyped, type DType } from '../dtype.js';
import { NDArray, withMeta, type Frame, type FrameMeta } from '../frames.js';
import type { OperatorDefinition, ProcessContext } from '../operator.js';
import { call as request, openChannel, RpcError, type Channel } from '../protocol/channel.js';
import {
  ERRORS,
  METHODS,
  PROTOCOL_VERSION,
  type HelloResult,
  type NextParams,
  type ProcessParams,
  type ProcessResult,
  type ReleaseParams,
  type SlotGrant,
  type SlotRef,
} from '../protocol/messages.js';
import { frameMismatch, own } from '../spec.js';
import { SlotMappings } from '../shm.js';

export interface HostOptions {
  /** Unix socket of the engine's control plane */
  socket: string;
  /** the session directory as this process sees it (a bind mount inside containers) */
  sessionDir: string;
  /** identifies this process to the engine */
  token: string;
}

type Outputs = Record<string, Frame | undefined>;
type FrameIterator = Iterator<Outputs> | AsyncIterator<Outputs>;

/** One call (a `process` and the `next`s that continue it): its grants, and whether the engine abandoned it. */
interface Call {
  frame: number;
  grants: Record<string, SlotGrant>;
  allocated: Set<string>;
  /** set when the call is cancelled or superseded: its code may still run, but no longer writes into slots */
  revoked: boolean;
}

const PAGE = 4096;
const CANCELLED: ProcessResult = { outputs: {}, more: false };

function operatorFailure(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  const e = error instanceof Error ? error : new Error(String(error));
  const code = e instanceof FrameError ? ERRORS.badFrame : ERRORS.operatorFailed;
  return new RpcError(e.message, code, { name: e.name, stack: e.stack });
}

function asIterator(value: unknown): FrameIterator | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (Symbol.asyncIterator in value) return (value as AsyncIterable<Outputs>)[Symbol.asyncIterator]();
  if (Symbol.iterator in value) return (value as Iterable<Outputs>)[Symbol.iterator]();
  return undefined;
}

/** Serve one operator until the engine says shutdown or the connection closes. */
export async function serveOperator(definition: OperatorDefinition, options: HostOptions): Promise<void> {
  const { spec } = definition;
  const instance = await definition.instantiate();
  const slots = new SlotMappings(options.sessionDir);
  const socket = createConnection(options.socket);
  await once(socket, 'connect');
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));
  const channel: Channel = openChannel(socket, () => closed());
  let node = '';

  /** The call being pulled frame by frame (a generator), with the metadata its outputs inherit. */
  let active: { iterator: FrameIterator; inherited: FrameMeta; call: Call } | undefined;
  /** The call in progress; `cancel` resolves `abandon` so that the engine gets its answer at once. */
  let current: { call: Call; abandon: () => void } | undefined;

  /** Grow a granted slot file (up to the engine's limit) so that a frame of `bytes` fits in place. */
  function growGrant(grant: SlotGrant, bytes: number): boolean {
    if (grant.limit === undefined || bytes > grant.limit) return false;
    const size = Math.min(grant.limit, Math.ceil(bytes / PAGE) * PAGE);
    truncateSync(join(options.sessionDir, grant.slot), size);
    grant.size = size;
    return true;
  }

  /** The context a call's code sees; it stays bound to that call, so a generator left behind cannot write into later grants. */
  function contextOf(call: Call): ProcessContext {
    return {
      get node() {
        return node;
      },
      get frame() {
        return call.frame;
      },
      alloc(port: string, dtype: DType, shape: readonly number[], meta: FrameMeta = {}) {
        if (!Object.hasOwn(spec.outputs, port)) throw new RangeError(`ctx.alloc: "${port}" is not an output port of ${spec.name} (ports: ${Object.keys(spec.outputs).join(', ')})`);
        if (call.allocated.has(port)) throw new Error(`ctx.alloc: output "${port}" was already allocated for frame ${call.frame}`);
        call.allocated.add(port);
        const grant = own(call.grants, port);
        const needed = slotBytesForArray(dtype, shape);
        if (grant?.limit !== undefined && needed > grant.limit && !call.revoked) {
          throw new RangeError(
            `ctx.alloc: output "${port}" (${dtype} [${shape.join(', ')}]) needs ${needed} bytes, more than the ${grant.limit} bytes the engine allows for one frame (its per-frame limit or the free shared memory)`,
          );
        }
        if (call.revoked || !grant || (needed > grant.size && !growGrant(grant, needed))) return NDArray.zeros(dtype, shape, meta);
        const bytes = slots.bytes(grant.slot, grant.size, 'rw');
        const size = shape.reduce((a, b) => a * b, 1);
        const data = viewTyped(dtype, bytes.buffer, bytes.byteOffset + TENSOR_BODY_OFFSET, size);
        return new NDArray(data, shape, meta, dtype);
      },
    };
  }

  async function writeOutputs(call: Call, outputs: unknown, inherited: FrameMeta): Promise<Record<string, SlotRef>> {
    if (outputs === null || typeof outputs !== 'object' || Array.isArray(outputs)) {
      throw new TypeError(`${spec.name}: process() must return an object of output frames keyed by port, got ${Array.isArray(outputs) ? 'an array' : typeof outputs}`);
    }
    const refs: Record<string, SlotRef> = Object.create(null);
    for (const [port, frame] of Object.entries(outputs as Outputs)) {
      if (frame === undefined || call.revoked) continue;
      const portSpec = own(spec.outputs, port);
      if (!portSpec) throw new TypeError(`${spec.name}: returned unknown output port "${port}" (ports: ${Object.keys(spec.outputs).join(', ')})`);
      const kind = (frame as { kind?: unknown })?.kind;
      if (kind !== 'ndarray' && kind !== 'table' && kind !== 'json') {
        throw new TypeError(`${spec.name}: output "${port}" must be an NDArray, TableFrame or JsonFrame (use json(value) or table(t)), got ${typeof frame}`);
      }
      const mismatch = frameMismatch(frame, portSpec.type);
      if (mismatch) throw new TypeError(`${spec.name}: output "${port}" ${mismatch}`);
      const meta: FrameMeta = { ...inherited, ...frame.meta, frame: frame.meta.frame ?? call.frame };
      const stamped = withMeta(frame, meta);
      let grant: SlotGrant | undefined = own(call.grants, port);
      let placed = grant ? encodeFrameInto(stamped, slots.bytes(grant.slot, grant.size, 'rw')) : undefined;
      if (!placed) {
        // the slot is remapped at its new size below: values that alloc put into it move to the heap first
        const movable =
          grant && stamped.kind === 'ndarray' && stamped.data.buffer === slots.bytes(grant.slot, grant.size, 'rw').buffer
            ? new NDArray(stamped.data.slice(), stamped.shape, meta, stamped.dtype)
            : stamped;
        const bytes = encodedSizeOf(movable);
        if (!grant || !growGrant(grant, bytes)) grant = await request<SlotGrant>(channel, METHODS.allocate, { port, bytes, ...(grant ? { slot: grant.slot } : {}) });
        // the engine may have cancelled the call meanwhile: its grants are no longer ours to write
        if (call.revoked) return {};
        placed = encodeFrameInto(movable, slots.bytes(grant.slot, grant.size, 'rw'));
        if (!placed) throw new Error(`${spec.name}: granted slot ${grant.slot} (${grant.size} bytes) is too small for output "${port}"`);
      }
      refs[port] = { slot: grant!.slot, size: grant!.size, ...placed };
    }
    return refs;
  }

  async function pull(): Promise<ProcessResult> {
    const { iterator, inherited, call } = active!;
    const step = await iterator.next();
    if (call.revoked) return CANCELLED;
    if (step.done) {
      active = undefined;
      return { outputs: {}, more: false };
    }
    return { outputs: await writeOutputs(call, step.value, inherited), more: true };
  }

  /** Let go of a generator left unfinished. Not awaited: it may be in the middle of a step that never ends (a folder watch). */
  function abandonActive(): void {
    const stale = active;
    active = undefined;
    if (!stale) return;
    stale.call.revoked = true;
    void Promise.resolve(stale.iterator.return?.()).catch(() => {});
  }

  /** Serve one call, answering at once with no outputs if the engine cancels it meanwhile. */
  async function serveCall(call: Call, work: (call: Call) => Promise<ProcessResult>): Promise<ProcessResult> {
    let abandon!: () => void;
    const abandoned = new Promise<typeof CANCELLED>((resolve) => (abandon = () => resolve(CANCELLED)));
    const entry = { call, abandon };
    current = entry;
    try {
      return await Promise.race([work(call), abandoned]);
    } catch (error) {
      abandonActive();
      throw operatorFailure(error);
    } finally {
      if (current === entry) current = undefined;
    }
  }

  channel.addMethod(METHODS.process, (raw) => {
    const params = raw as unknown as ProcessParams;
    abandonActive();
    return serveCall({ frame: params.frame, grants: params.grants, allocated: new Set(), revoked: false }, async (call) => {
      // port names come from the wire: no prototype, so a port named "constructor" finds only what was sent
      const inputs: Record<string, Frame> = Object.create(null);
      for (const [port, ref] of Object.entries(params.inputs)) {
        try {
          inputs[port] = decodeFrame(slots.bytes(ref.slot, ref.size, 'r').subarray(ref.offset, ref.offset + ref.length));
        } catch (error) {
          throw new FrameError(`${spec.name}: input "${port}": ${(error as Error).message}`);
        }
      }
      // outputs inherit the metadata of the first input port (in spec order) that has a frame
      const first = Object.keys(spec.inputs ?? {}).find((port) => inputs[port]);
      const inherited = first ? inputs[first].meta : {};
      const result = await Promise.resolve(instance.process(inputs, params.params, contextOf(call)));
      if (call.revoked) return CANCELLED;
      const iterator = asIterator(result);
      if (iterator) {
        active = { iterator, inherited, call };
        return await pull();
      }
      return { outputs: await writeOutputs(call, result, inherited), more: false } satisfies ProcessResult;
    });
  });

  channel.addMethod(METHODS.next, (raw) => {
    const params = raw as unknown as NextParams;
    if (!active) return { outputs: {}, more: false } satisfies ProcessResult;
    // the generator keeps its context: the call object carries the fresh grants
    const call = active.call;
    call.frame = params.frame;
    call.grants = params.grants;
    call.allocated = new Set();
    return serveCall(call, pull);
  });

  channel.addMethod(METHODS.cancel, () => {
    const entry = current;
    if (!entry) return;
    entry.call.revoked = true;
    if (active?.call === entry.call) abandonActive();
    // Answer at once only when the call's code holds no view of a granted slot: code still running (e.g. an
    // await filling an alloc'd array) could otherwise write into a slot the engine has handed on. Else the
    // answer comes when that code finishes, within the engine's grace period.
    if (entry.call.allocated.size === 0) entry.abandon();
  });

  channel.addMethod(METHODS.release, (raw) => {
    for (const slot of (raw as unknown as ReleaseParams).slots) slots.drop(slot);
  });

  channel.addMethod(METHODS.shutdown, async () => {
    abandonActive();
    await instance.teardown();
    setImmediate(() => socket.end());
    return null;
  });

  const hello = await request<HelloResult>(channel, METHODS.hello, {
    protocol: PROTOCOL_VERSION,
    token: options.token,
    pid: process.pid,
    operator: spec.name,
    version: spec.version,
  });
  node = hello.node;
  await done;
  slots.clear();
}
