// The operator side of the protocol: connect to the engine, say hello, then serve process/next calls by
// decoding input slots (zero-copy), calling the operator, and encoding its outputs into granted slots.
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { JSONRPCErrorException } from 'json-rpc-2.0';
import { decodeFrame, encodeFrameInto, encodedSizeOf, FrameError, slotBytesForArray, TENSOR_BODY_OFFSET } from '../codec.js';
import { viewTyped, type DType } from '../dtype.js';
import { NDArray, withMeta, type Frame, type FrameMeta } from '../frames.js';
import type { OperatorDefinition, ProcessContext } from '../operator.js';
import { call, openChannel, type Channel } from '../protocol/channel.js';
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
import { frameMismatch } from '../spec.js';
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

function operatorFailure(error: unknown): JSONRPCErrorException {
  if (error instanceof JSONRPCErrorException) return error;
  const e = error instanceof Error ? error : new Error(String(error));
  const code = e instanceof FrameError ? ERRORS.badFrame : ERRORS.operatorFailed;
  return new JSONRPCErrorException(e.message, code, { name: e.name, stack: e.stack });
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
  let active: { iterator: FrameIterator; inherited: FrameMeta } | undefined;
  /** Grants and frame index of the call in progress, read by ctx.alloc. */
  let current: { frame: number; grants: Record<string, SlotGrant>; allocated: Set<string> } = { frame: 0, grants: {}, allocated: new Set() };

  const ctx: ProcessContext = {
    get node() {
      return node;
    },
    get frame() {
      return current.frame;
    },
    alloc(port: string, dtype: DType, shape: readonly number[], meta: FrameMeta = {}) {
      if (!spec.outputs[port]) throw new RangeError(`ctx.alloc: "${port}" is not an output port of ${spec.name} (ports: ${Object.keys(spec.outputs).join(', ')})`);
      if (current.allocated.has(port)) throw new Error(`ctx.alloc: output "${port}" was already allocated for frame ${current.frame}`);
      current.allocated.add(port);
      const grant = current.grants[port];
      if (!grant || slotBytesForArray(dtype, shape) > grant.size) return NDArray.zeros(dtype, shape, meta);
      const bytes = slots.bytes(grant.slot, grant.size, 'rw');
      const size = shape.reduce((a, b) => a * b, 1);
      const data = viewTyped(dtype, bytes.buffer, bytes.byteOffset + TENSOR_BODY_OFFSET, size);
      return new NDArray(data, shape, meta, dtype);
    },
  };

  async function writeOutputs(outputs: unknown, inherited: FrameMeta): Promise<Record<string, SlotRef>> {
    if (outputs === null || typeof outputs !== 'object' || Array.isArray(outputs)) {
      throw new TypeError(`${spec.name}: process() must return an object of output frames keyed by port, got ${Array.isArray(outputs) ? 'an array' : typeof outputs}`);
    }
    const refs: Record<string, SlotRef> = {};
    for (const [port, frame] of Object.entries(outputs as Outputs)) {
      if (frame === undefined) continue;
      const portSpec = spec.outputs[port];
      if (!portSpec) throw new TypeError(`${spec.name}: returned unknown output port "${port}" (ports: ${Object.keys(spec.outputs).join(', ')})`);
      const kind = (frame as { kind?: unknown })?.kind;
      if (kind !== 'ndarray' && kind !== 'table' && kind !== 'json') {
        throw new TypeError(`${spec.name}: output "${port}" must be an NDArray, TableFrame or JsonFrame (use json(value) or table(t)), got ${typeof frame}`);
      }
      const mismatch = frameMismatch(frame, portSpec.type);
      if (mismatch) throw new TypeError(`${spec.name}: output "${port}" ${mismatch}`);
      const meta: FrameMeta = { ...inherited, ...frame.meta, frame: frame.meta.frame ?? current.frame };
      const stamped = withMeta(frame, meta);
      let grant: SlotGrant | undefined = current.grants[port];
      let placed = grant ? encodeFrameInto(stamped, slots.bytes(grant.slot, grant.size, 'rw')) : undefined;
      if (!placed) {
        grant = await call<SlotGrant>(channel, METHODS.allocate, { port, bytes: encodedSizeOf(stamped) });
        placed = encodeFrameInto(stamped, slots.bytes(grant.slot, grant.size, 'rw'));
        if (!placed) throw new Error(`${spec.name}: granted slot ${grant.slot} (${grant.size} bytes) is too small for output "${port}"`);
      }
      refs[port] = { slot: grant!.slot, size: grant!.size, ...placed };
    }
    return refs;
  }

  async function pull(): Promise<ProcessResult> {
    const step = await active!.iterator.next();
    if (step.done) {
      active = undefined;
      return { outputs: {}, more: false };
    }
    return { outputs: await writeOutputs(step.value, active!.inherited), more: true };
  }

  async function abandonActive(): Promise<void> {
    const stale = active;
    active = undefined;
    await stale?.iterator.return?.();
  }

  channel.addMethod(METHODS.process, async (raw) => {
    const params = raw as unknown as ProcessParams;
    try {
      await abandonActive();
      current = { frame: params.frame, grants: params.grants, allocated: new Set() };
      const inputs: Record<string, Frame> = {};
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
      const result = await Promise.resolve(instance.process(inputs, params.params, ctx));
      const iterator = asIterator(result);
      if (iterator) {
        active = { iterator, inherited };
        return await pull();
      }
      return { outputs: await writeOutputs(result, inherited), more: false } satisfies ProcessResult;
    } catch (error) {
      await abandonActive().catch(() => {});
      throw operatorFailure(error);
    }
  });

  channel.addMethod(METHODS.next, async (raw) => {
    const params = raw as unknown as NextParams;
    if (!active) return { outputs: {}, more: false } satisfies ProcessResult;
    current = { frame: params.frame, grants: params.grants, allocated: new Set() };
    try {
      return await pull();
    } catch (error) {
      await abandonActive().catch(() => {});
      throw operatorFailure(error);
    }
  });

  channel.addMethod(METHODS.release, (raw) => {
    for (const slot of (raw as unknown as ReleaseParams).slots) slots.drop(slot);
  });

  channel.addMethod(METHODS.shutdown, async () => {
    // a generator in the middle of a step (e.g. a folder watch waiting for files) would only return after
    // that step: do not wait for it
    void abandonActive().catch(() => {});
    await instance.teardown();
    setImmediate(() => socket.end());
    return null;
  });

  const hello = await call<HelloResult>(channel, METHODS.hello, {
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
