// The engine's end of a multi-node run against peers that are not its agents: the hub's TCP listener cuts off a peer
// that does not say hello with its host's key in a small first record, before buffering anything it sends; an
// operator's tunnel writes only the slots granted for the current call, and a frame that cannot be read cuts that
// tunnel alone (the process goes on).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cutOffAfter, socketPair } from './sockets.js';
import { AgentHub } from '../src/nodes/hub.js';
import { CallGrants } from '../src/nodes/slot-sync.js';
import { agentTunnel, engineTunnel } from '../src/nodes/tunnel.js';
import { encodeHeader, readRecords, writeRecord } from '../src/nodes/wire.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-hub-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A hub on loopback with no other host to start an agent on. */
async function loneHub(): Promise<AgentHub> {
  return AgentHub.open({ hosts: [{ name: 'here', address: '127.0.0.1', cpus: 2, gpus: 0 }], placement: new Map(), runtime: { name: 'process', operatorDirs: [] } });
}


describe('the hub before hello', () => {
  it('cuts off a peer whose first record has a body, or a header over 4 KiB, without waiting for what it announces', async () => {
    const hub = await loneHub();
    try {
      expect(await cutOffAfter(hub.address, [encodeHeader({ t: 'x', bytes: 2 ** 40 }), Buffer.alloc(65536)])).toBeLessThan(1000);
      expect(await cutOffAfter(hub.address, [encodeHeader({ t: 'hello', pad: 'x'.repeat(5000) })])).toBeLessThan(1000);
      const lengthOnly = Buffer.alloc(4);
      lengthOnly.writeUInt32BE(16 << 20); // a 16 MiB header announced: refused at its length, not buffered
      expect(await cutOffAfter(hub.address, [lengthOnly])).toBeLessThan(1000);
    } finally {
      await hub.close();
    }
  });

  it('cuts off a hello with a wrong key, or for a host it has no agent on', async () => {
    const hub = await loneHub();
    try {
      expect(await cutOffAfter(hub.address, [encodeHeader({ t: 'hello', role: 'agent', host: 'here', secret: '00'.repeat(32) })])).toBeLessThan(1000);
      expect(await cutOffAfter(hub.address, [encodeHeader({ t: 'hello', role: 'tunnel', host: 'elsewhere', secret: '00'.repeat(32) })])).toBeLessThan(1000);
      expect(await cutOffAfter(hub.address, [Buffer.from('GET / HTTP/1.1\r\n\r\n')])).toBeLessThan(1000);
    } finally {
      await hub.close();
    }
  });
});

describe('CallGrants', () => {
  it('allows the slots of the current call up to their limit, and nothing once the call is answered', () => {
    const grants = new CallGrants();
    grants.towards({ call: 7, inputs: [], grants: [{ slot: 'a/out.0', size: 4096, limit: 1 << 20 }], released: [] });
    expect(grants.allows({ slot: 'a/out.0', size: 1 << 20, offset: 0, length: 10 })).toBe(true);
    expect(grants.allows({ slot: 'a/out.0', size: (1 << 20) + 4096, offset: 0, length: 10 })).toBe(false);
    expect(grants.allows({ slot: 'a/out.1', size: 4096, offset: 0, length: 10 })).toBe(false);
    const answer = { jsonrpc: '2.0', id: 7, result: { outputs: { out: { slot: 'a/out.0', size: 4096, offset: 64, length: 100 } }, more: false } };
    expect(grants.answered(answer)).toEqual([{ slot: 'a/out.0', size: 4096, offset: 64, length: 100 }]);
    expect(grants.allows({ slot: 'a/out.0', size: 4096, offset: 0, length: 10 })).toBe(false);
  });
});


describe('tunnels', () => {
  it("the engine's end writes a granted output before passing the answer on, and refuses a slot it did not grant", async () => {
    const dir = join(scratch, 'engine-session');
    mkdirSync(join(dir, 'b'), { recursive: true });
    writeFileSync(join(dir, 'b/out.0'), Buffer.alloc(4096));
    const [wire, agentSide] = await socketPair(scratch, 'wire1');
    const [engineSide, control] = await socketPair(scratch, 'control1');
    readRecords(wire, engineTunnel(wire, engineSide, dir, { onHost: (key) => key === 'b', peerOf: () => undefined, hello: () => undefined, failed: () => undefined }));
    const lines: string[] = [];
    control.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    // the engine grants b/out.0 for call 1, the operator (through its agent) writes it and answers
    control.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'process', params: { run: 1, frame: 0, inputs: {}, params: {}, grants: { out: { slot: 'b/out.0', size: 4096 } } } }) + '\n');
    const received = new Promise<void>((resolve) => agentSide.once('data', () => resolve()));
    await received;
    writeRecord(agentSide, { t: 'slot', slot: 'b/out.0', size: 4096, offset: 100 }, [Buffer.from('frame bytes')]);
    writeRecord(agentSide, { t: 'line' }, [Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { outputs: { out: { slot: 'b/out.0', size: 4096, offset: 100, length: 11 } }, more: false } }))]);
    for (let i = 0; i < 50 && !lines.length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(join(dir, 'b/out.0')).subarray(100, 111).toString()).toBe('frame bytes');
    expect(JSON.parse(lines[0]) as unknown).toMatchObject({ id: 1, result: { more: false } });
    // the call is answered: the same slot written again is refused, and the tunnel cut
    const closed = new Promise<void>((resolve) => wire.once('close', () => resolve()));
    writeRecord(agentSide, { t: 'slot', slot: 'b/out.0', size: 4096, offset: 0 }, [Buffer.from('late')]);
    await closed;
    expect(readFileSync(join(dir, 'b/out.0')).subarray(0, 4).equals(Buffer.alloc(4))).toBe(true);
  });

  it("the agent's end cuts its tunnel alone when an operator's answer names bytes its slot does not have", async () => {
    const dir = join(scratch, 'agent-session');
    const [operatorSide, operator] = await socketPair(scratch, 'op2');
    const [wire, engineSide] = await socketPair(scratch, 'wire2');
    readRecords(wire, agentTunnel(operatorSide, wire, { dir, local: (key) => key === 'b', away: () => false, fetch: () => Promise.resolve(), released: () => undefined }));
    const toOperator = new Promise<void>((resolve) => operator.once('data', () => resolve()));
    writeRecord(engineSide, { t: 'line' }, [Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'process', params: { run: 1, frame: 0, inputs: {}, params: {}, grants: { out: { slot: 'b/out.0', size: 4096, limit: 1 << 20 } } } }))]);
    await toOperator;
    const closed = new Promise<void>((resolve) => wire.once('close', () => resolve()));
    // size within the limit, but the file is 4096 bytes: reading the frame fails
    operator.write(JSON.stringify({ jsonrpc: '2.0', id: 3, result: { outputs: { out: { slot: 'b/out.0', size: 1 << 20, offset: 0, length: 1 << 20 } }, more: false } }) + '\n');
    await closed;
    expect(operator.destroyed || (await new Promise((r) => operator.once('close', () => r(true))))).toBe(true);
  });
});
