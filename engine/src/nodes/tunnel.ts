// One operator's control connection, carried over TCP between its host's agent and the engine. The JSON lines pass
// unchanged (the engine and the operator speak the protocol of sdk/PROTOCOL.md as if they shared a host); slot
// records travel ahead of the line that needs them (slot-sync.ts), so each side finds the frame bytes in its own
// slot files when it reads the line: one copy onto the wire, one off it into the slot.
import type { Socket } from 'node:net';
import { readLines } from '@emflow/sdk';
import { answeredOutputs, isSlotRef, towardsOperator, writerOf } from './slot-sync.js';
import { ensureSlot, readSlot, removeSlot, writeSlot } from './slot-files.js';
import { writeRecord, type RecordHeader } from './wire.js';

/** Handles the records that come in over the wire (the caller reads them: a hello may come first). */
export type RecordHandler = (header: RecordHeader, body: Buffer[]) => void;

/** Send a slot's frame bytes, then a control line; in order, behind whatever is already queued on the wire. */
function send(wire: Socket, dir: string, slots: { slot: string; size: number; offset: number; length: number }[], line: string): void {
  for (const { slot, size, offset, length } of slots) writeRecord(wire, { t: 'slot', slot, size, offset }, [readSlot(dir, slot, offset, length)]);
  writeRecord(wire, { t: 'line' }, [Buffer.from(line)]);
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

/** A slot record from the other host, written into this host's file when `accept` allows the name; false if refused. */
function receiveSlot(header: RecordHeader, body: Buffer[], dir: string, accept: (slot: string) => boolean): boolean {
  const ref = { ...header, length: header.bytes ?? 0 };
  if (!isSlotRef(ref) || !accept(ref.slot)) return false;
  writeSlot(dir, ref.slot, ref.size, ref.offset, body);
  return true;
}

/**
 * The agent's end, returning what it does with each record from the engine: `operator` is the operator's connection to the agent's control socket, `wire` the TCP connection
 * to the engine, `dir` the agent's slot folder. `local` tells whether a worker key runs on this host.
 */
export function agentTunnel(operator: Socket, wire: Socket, dir: string, local: (key: string) => boolean): RecordHandler {
  joined(operator, wire);
  const calls = new Set<unknown>();
  const granted = new Set<string>();
  readLines(operator, (line) => {
    // only outputs granted to this operator are read and sent; the engine refuses any other answer itself
    const outputs = calls.size ? answeredOutputs(parse(line), calls).filter((ref) => granted.has(ref.slot)) : [];
    send(wire, dir, outputs, line);
  });
  return (header, body) => {
    if (header.t === 'slot') {
      // inputs from operators on other hosts only: a slot written here is never overwritten from afar
      if (!receiveSlot(header, body, dir, (slot) => !local(writerOf(slot)))) wire.destroy(new Error(`the engine sent a slot record it may not: ${JSON.stringify(header).slice(0, 200)}`));
      return;
    }
    const line = Buffer.concat(body).toString('utf8');
    const needs = towardsOperator(parse(line));
    if (needs.call !== undefined) calls.add(needs.call);
    for (const grant of needs.grants) {
      ensureSlot(dir, grant.slot, grant.size);
      granted.add(grant.slot);
    }
    for (const slot of needs.released) {
      removeSlot(dir, slot);
      granted.delete(slot);
    }
    operator.write(line + '\n');
  };
}

/**
 * The engine's end, returning what it does with each record from the agent: `wire` is the TCP connection from the agent of one host, `engine` a connection to the session's
 * control socket (the operator's stand-in), `dir` the session folder. `onHost` tells whether a worker key runs on the
 * tunnel's host: only its slots may be written from there, and only other slots are sent there.
 */
export function engineTunnel(wire: Socket, engine: Socket, dir: string, onHost: (key: string) => boolean): RecordHandler {
  joined(wire, engine);
  readLines(engine, (line) => {
    const inputs = line.includes('"inputs"') ? towardsOperator(parse(line)).inputs.filter((ref) => !onHost(writerOf(ref.slot))) : [];
    send(wire, dir, inputs, line);
  });
  return (header, body) => {
    if (header.t === 'slot') {
      if (!receiveSlot(header, body, dir, (slot) => onHost(writerOf(slot)))) wire.destroy(new Error(`an agent sent a slot record it may not: ${JSON.stringify(header).slice(0, 200)}`));
      return;
    }
    engine.write(Buffer.concat([...body, Buffer.from('\n')]));
  };
}
