// One operator's control connection, carried over TCP between its host's agent and the engine. The JSON lines pass
// unchanged (the engine and the operator speak the protocol of sdk/PROTOCOL.md as if they shared a host); slot
// records travel ahead of the line that needs them (slot-sync.ts), so each side finds the frame bytes in its own
// slot files when it reads the line: one copy onto the wire, one off it into the slot.
import type { Socket } from 'node:net';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { readLines, SlotMappings, type SlotRef } from '@emflow/sdk';
import { CallGrants, isSlotRef, towardsOperator, writerOf } from './slot-sync.js';
import { ensureSlot, removeSlot, writeSlot } from './slot-files.js';
import { writeRecord, type RecordHeader } from './wire.js';

/** Handles the records that come in over the wire (the caller reads them: a hello may come first). */
export type RecordHandler = (header: RecordHeader, body: Buffer[]) => void;

/**
 * Send slots' frame bytes, then a control line; in order, behind whatever is already queued on the wire. The bytes
 * go from a mapping of the slot kept while the tunnel lives (a ring's slots come round again): no copy, no page
 * faults on a fresh buffer per frame. A slot shorter than its reference (an operator's answer naming bytes its file
 * does not have) cuts this tunnel alone.
 */
function send(wire: Socket, mappings: SlotMappings, dir: string, slots: SlotRef[], line: string): void {
  try {
    for (const { slot, size, offset, length } of slots) {
      // a regular file at least as large as the reference says (a link is not followed: it could name any file)
      const file = lstatSync(join(dir, slot));
      if (!file.isFile() || file.size < size) throw new Error(`slot ${slot} is ${file.isFile() ? `smaller than the ${size} bytes its reference says` : 'not a file'}`);
      const mapped = mappings.bytes(slot, size, 'r');
      writeRecord(wire, { t: 'slot', slot, size, offset }, [Buffer.from(mapped.buffer, mapped.byteOffset + offset, length)]);
    }
    writeRecord(wire, { t: 'line' }, [Buffer.from(line)]);
  } catch (error) {
    wire.destroy(new Error(`a frame of this operator could not be read: ${(error as Error).message}`));
  }
}

/** The slot mappings of one tunnel, unmapped once both of its sockets are closed (no write can still read them). */
function tunnelMappings(dir: string, wire: Socket): SlotMappings {
  const mappings = new SlotMappings(dir);
  wire.once('close', () => mappings.clear());
  return mappings;
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
  const ref = { ...header, length: header.bytes ?? 0 };
  if (!isSlotRef(ref) || !accept(ref)) return false;
  writeSlot(dir, ref.slot, ref.size, ref.offset, body);
  return true;
}

const refused = (who: string, header: RecordHeader) => new Error(`${who} sent a slot record it may not: ${JSON.stringify(header).slice(0, 200)}`);

/**
 * The agent's end, returning what it does with each record from the engine: `operator` is the operator's
 * connection to the agent's control socket, `wire` the TCP connection to the engine, `dir` the agent's slot folder.
 * `local` tells whether a worker key runs on this host.
 */
export function agentTunnel(operator: Socket, wire: Socket, dir: string, local: (key: string) => boolean): RecordHandler {
  joined(operator, wire);
  const grants = new CallGrants();
  const mappings = tunnelMappings(dir, wire);
  // the outputs of an answer, when granted to this operator; the engine checks the answer itself
  readLines(operator, (line) => send(wire, mappings, dir, grants.answered(parse(line)), line));
  return (header, body) => {
    if (header.t === 'slot') {
      // inputs from operators on other hosts only: a slot written here is never overwritten from afar
      if (!receiveSlot(header, body, dir, (ref) => !local(writerOf(ref.slot)))) wire.destroy(refused('the engine', header));
      return;
    }
    const line = Buffer.concat(body).toString('utf8');
    const needs = towardsOperator(parse(line));
    grants.towards(needs);
    for (const grant of needs.grants) ensureSlot(dir, grant.slot, grant.size);
    for (const slot of needs.released) {
      mappings.drop(slot);
      removeSlot(dir, slot);
    }
    operator.write(line + '\n');
  };
}

/**
 * The engine's end, returning what it does with each record from the agent: `wire` is the TCP connection from the
 * agent of one host, `engine` a connection to the session's control socket (the operator's stand-in), `dir` the
 * session folder. `onHost` tells whether a worker key runs on the tunnel's host: only other slots are sent there,
 * and only the slots the operator was granted for its current call are written from there. `onHello` gets the
 * token the operator presents, which names its worker.
 */
export function engineTunnel(wire: Socket, engine: Socket, dir: string, onHost: (key: string) => boolean, onHello: (token: string) => void): RecordHandler {
  joined(wire, engine);
  const grants = new CallGrants();
  const mappings = tunnelMappings(dir, wire);
  readLines(engine, (line) => {
    const needs = towardsOperator(parse(line));
    grants.towards(needs);
    for (const slot of needs.released) mappings.drop(slot);
    send(wire, mappings, dir, needs.inputs.filter((ref) => !onHost(writerOf(ref.slot))), line);
  });
  let greeted = false;
  return (header, body) => {
    if (header.t === 'slot') {
      if (!receiveSlot(header, body, dir, (ref) => onHost(writerOf(ref.slot)) && grants.allows(ref))) wire.destroy(refused('an agent', header));
      return;
    }
    const line = Buffer.concat(body).toString('utf8');
    const message = parse(line) as { method?: unknown; params?: { token?: unknown } } | undefined;
    if (!greeted && typeof message?.params?.token === 'string') onHello(message.params.token);
    greeted = true;
    grants.answered(message);
    engine.write(line + '\n');
  };
}
