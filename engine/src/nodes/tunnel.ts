// One operator's control connection, carried over TCP between its host's agent and the engine. The JSON lines pass
// unchanged (the engine and the operator speak the protocol of sdk/PROTOCOL.md as if they shared a host); slot
// records travel ahead of the line that needs them (slot-sync.ts), so each side finds the frame bytes in its own
// slot files when it reads the line: one copy onto the wire, one off it into the slot.
import type { Socket } from 'node:net';
import { readLines, type SlotRef } from '@emflow/sdk';
import { CallGrants, headerRanges, slotRefIn, towardsOperator, writerOf } from './slot-sync.js';
import { ensureSlot, removeSlot, SlotReader, writeSlot } from './slot-files.js';
import { writeRecord, type RecordHandler, type RecordHeader } from './wire.js';

/** A frame for the other side: its bytes, its header alone (see headerRanges), or where to fetch it (host:port of an agent). */
type Outgoing = { ref: SlotRef; send: 'whole' | 'header' } | { ref: SlotRef; fetchFrom: string };

/**
 * Send frames, then a control line; in order, behind whatever is already queued on the wire. The bytes go from
 * mappings of the slots kept while the tunnel lives. A slot shorter than its reference (an operator's answer naming
 * bytes its file does not have) cuts this tunnel alone.
 */
function send(wire: Socket, slots: SlotReader, frames: Outgoing[], line: string): void {
  if (!wire.writable) return; // closing: what it had to say is said
  try {
    for (const frame of frames) {
      const { slot, size, offset, length } = frame.ref;
      if ('fetchFrom' in frame) {
        writeRecord(wire, { t: 'fetch', slot, size, offset, length, from: frame.fetchFrom });
        continue;
      }
      const bytes = slots.frame(frame.ref);
      for (const [start, end] of frame.send === 'whole' ? [[0, length]] : headerRanges(bytes)) {
        writeRecord(wire, { t: 'slot', slot, size, offset: offset + start }, [Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start)]);
      }
    }
    writeRecord(wire, { t: 'line' }, [Buffer.from(line)]);
  } catch (error) {
    wire.destroy(new Error(`a frame of this operator could not be read: ${(error as Error).message}`));
  }
}

/** The slot reader of one tunnel, unmapped once its wire is closed (no write can still read them). */
function tunnelReader(dir: string, wire: Socket): SlotReader {
  const reader = new SlotReader(dir);
  wire.once('close', () => reader.clear());
  return reader;
}

function parse(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined; // passed on as it is: the receiving end says what is wrong with it
  }
}

/** Each side closes when the other does, or on a broken record. */
function joined(a: Socket, b: Socket): void {
  a.once('close', () => b.destroy());
  b.once('close', () => a.destroy());
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

/** A slot record from the other host, written into this host's file when `accept` allows it; false if refused. */
function receiveSlot(header: RecordHeader, body: Buffer[], dir: string, accept: (ref: SlotRef) => boolean): boolean {
  const ref = slotRefIn({ ...header, length: header.bytes ?? 0 });
  if (!ref || !accept(ref)) return false;
  writeSlot(dir, ref.slot, ref.size, ref.offset, body);
  return true;
}

const refused = (who: string, header: RecordHeader) => new Error(`${who} sent a slot record it may not: ${JSON.stringify(header).slice(0, 200)}`);

/** What an agent's end of a tunnel asks of its agent. */
export interface AgentSide {
  /** the agent's slot folder */
  dir: string;
  /** does a worker key run on this host? */
  local(key: string): boolean;
  /** is this output slot's frame wanted by the engine's host without its values? */
  away(slot: string): boolean;
  /** fetch a frame's bytes from the agent at `from` (host:port) into this host's slot */
  fetch(ref: SlotRef, from: string): Promise<void>;
  /** a slot written here was deleted */
  released(slot: string): void;
}

/**
 * The agent's end, returning what it does with each record from the engine: `operator` is the operator's
 * connection to the agent's control socket, `wire` the TCP connection to the engine. A line reaches the operator
 * once the frames fetched for it from other agents are in place, and after every line before it.
 */
export function agentTunnel(operator: Socket, wire: Socket, agent: AgentSide): RecordHandler {
  joined(operator, wire);
  const { dir } = agent;
  const grants = new CallGrants();
  const slots = tunnelReader(dir, wire);
  // the outputs of an answer, when granted to this operator; the engine checks the answer itself
  readLines(operator, (line) => send(wire, slots, grants.answered(parse(line)).map((ref) => ({ ref, send: agent.away(ref.slot) ? 'header' : 'whole' })), line));
  let fetching: Promise<void>[] = [];
  let delivered = Promise.resolve();
  let failed = false;
  /** Tell the engine why, then close (the operator's side with it): the run's error shows it in the operator's log. */
  const fail = (message: string) => {
    if (failed) return;
    failed = true;
    writeRecord(wire, { t: 'error', message });
    wire.end();
  };
  const deliver = (line: string) => {
    const needs = towardsOperator(parse(line));
    grants.towards(needs);
    for (const grant of needs.grants) ensureSlot(dir, grant.slot, grant.size);
    for (const slot of needs.released) {
      slots.drop(slot);
      removeSlot(dir, slot);
      agent.released(slot);
    }
    operator.write(line + '\n');
  };
  // inputs from operators on other hosts only: a slot written here is never overwritten from afar
  const fromAfar = (ref: SlotRef) => !agent.local(writerOf(ref.slot));
  return (header, body) => {
    if (header.t === 'slot') {
      if (!receiveSlot(header, body, dir, fromAfar)) wire.destroy(refused('the engine', header));
      return;
    }
    if (header.t === 'fetch') {
      const ref = slotRefIn(header);
      if (!ref || !fromAfar(ref) || typeof header.from !== 'string') return void wire.destroy(refused('the engine', header));
      const fetched = agent.fetch(ref, header.from);
      fetched.catch(() => undefined); // awaited with its line, which may come in a later chunk
      fetching.push(fetched);
      return;
    }
    const line = Buffer.concat(body).toString('utf8');
    const waits = fetching;
    fetching = [];
    delivered = delivered
      .then(async () => {
        try {
          await Promise.all(waits);
        } catch (error) {
          return fail(`a frame for this operator could not be fetched: ${(error as Error).message}`);
        }
        if (!failed && wire.writable) deliver(line);
      })
      .catch((error: Error) => fail(`a message for this operator could not be passed on: ${error.message}`));
  };
}

/** What the engine's end of a tunnel asks of the hub. */
export interface EngineSide {
  /** does a worker key run on the tunnel's host? */
  onHost(key: string): boolean;
  /** host:port of the agent a worker key runs under, when it runs on a host other than the engine's */
  peerOf(key: string): string | undefined;
  /** the token the operator says hello with, which names its worker */
  hello(token: string): void;
  /** the agent's end says why it closes the tunnel */
  failed(message: string): void;
}

/**
 * The engine's end, returning what it does with each record from the agent: `wire` is the TCP connection from the
 * agent of one host, `engine` a connection to the session's control socket (the operator's stand-in), `dir` the
 * session folder. Inputs written on neither side's host are fetched by the agent from the writer's agent; only
 * inputs written on the engine's host are sent; only the slots the operator was granted for its current call are
 * written from the agent's host.
 */
export function engineTunnel(wire: Socket, engine: Socket, dir: string, side: EngineSide): RecordHandler {
  joined(wire, engine);
  const grants = new CallGrants();
  const slots = tunnelReader(dir, wire);
  readLines(engine, (line) => {
    const needs = towardsOperator(parse(line));
    grants.towards(needs);
    for (const slot of needs.released) slots.drop(slot);
    const frames = needs.inputs
      .filter((ref) => !side.onHost(writerOf(ref.slot)))
      .map((ref): Outgoing => {
        const peer = side.peerOf(writerOf(ref.slot));
        return peer === undefined ? { ref, send: 'whole' } : { ref, fetchFrom: peer };
      });
    send(wire, slots, frames, line);
  });
  let greeted = false;
  return (header, body) => {
    if (header.t === 'slot') {
      if (!receiveSlot(header, body, dir, (ref) => side.onHost(writerOf(ref.slot)) && grants.allows(ref))) wire.destroy(refused('an agent', header));
      return;
    }
    if (header.t === 'error') return side.failed(String(header.message));
    const line = Buffer.concat(body).toString('utf8');
    const message = parse(line) as { method?: unknown; params?: { token?: unknown } } | undefined;
    if (!greeted && typeof message?.params?.token === 'string') side.hello(message.params.token);
    greeted = true;
    grants.answered(message);
    engine.write(line + '\n');
  };
}
