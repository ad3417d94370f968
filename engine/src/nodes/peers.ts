// Frames between two hosts that are not the engine's go straight from agent to agent: the consumer's agent fetches
// the frame from the producer's host, which sends it from a mapping of its slot (one copy onto the wire), and writes
// it into the same slot name on its own host (one copy off it), before the call that reads it reaches its operator.
// The engine's host sees only the frame's header (slot-sync.ts headerRanges). Peers prove themselves with a key the
// engine gives every agent of the run; a host serves only the slots its own workers write.
import { createServer, type Server, type Socket } from 'node:net';
import type { SlotRef } from '@emflow/sdk';
import { awaitHello, sameKey } from './hello.js';
import { slotRefIn, writerOf } from './slot-sync.js';
import { SlotReader, writeSlot } from './slot-files.js';
import { openTcp, readRecords, writeRecord, type RecordHeader } from './wire.js';

/** A peer with requests open that sends nothing for this long is taken for gone (its host frozen, the network cut). */
const SILENT_PEER_MS = 30_000;
/** The other agents of a run, several connections each at most: anything beyond is not a peer. */
const MAX_PEER_CONNECTIONS = 1024;

/** This host's slot files, served to the run's other agents. */
export class PeerServer {
  private readonly server: Server;
  /** each connection's slot reader, by socket */
  private readonly readers = new Map<Socket, SlotReader>();

  /** `local` tells whether a worker key runs on this host (whose slots are the only ones served). */
  constructor(dir: string, key: Buffer, local: (key: string) => boolean) {
    this.server = createServer((socket) => {
      const reader = new SlotReader(dir);
      this.readers.set(socket, reader);
      socket.once('close', () => {
        this.readers.delete(socket);
        reader.clear();
      });
      awaitHello(socket, (hello) => {
        if (hello.role !== 'peer' || !sameKey(hello.secret, key)) return undefined;
        return (header) => {
          if (header.t !== 'get') throw new Error(`a peer sent a ${JSON.stringify(header.t)} record`);
          try {
            const ref = slotRefIn(header);
            if (!ref || !local(writerOf(ref.slot))) throw new Error(`no slot of this host is ${JSON.stringify(header).slice(0, 200)}`);
            const bytes = reader.frame(ref);
            writeRecord(socket, { t: 'got', id: header.id }, [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
          } catch (error) {
            writeRecord(socket, { t: 'got', id: header.id, error: (error as Error).message });
          }
        };
      });
    });
    this.server.maxConnections = MAX_PEER_CONNECTIONS;
    // an accept that fails (out of file descriptors) refuses that peer, not the agent
    this.server.on('error', () => undefined);
  }

  /** Listen on the host's address; resolves with the port. */
  async listen(address: string): Promise<number> {
    await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen(0, address, resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** A slot of this host was deleted: unmap it (its pages are freed with the file), once each connection has sent what it queued from it. */
  drop(slot: string): void {
    for (const [socket, reader] of this.readers) {
      if (socket.writableLength === 0) reader.drop(slot);
      else socket.write(Buffer.alloc(0), () => reader.drop(slot)); // called after the writes queued before it
    }
  }

  close(): void {
    this.server.close();
    for (const socket of this.readers.keys()) socket.destroy();
  }
}

interface Request {
  ref: SlotRef;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** One connection to another agent, fetching frames into this host's slot files. */
class Peer {
  readonly socket: Socket;
  private readonly pending = new Map<number, Request>();
  private next = 0;

  constructor(
    private readonly address: string,
    private readonly dir: string,
    key: Buffer,
    onClose: () => void,
  ) {
    this.socket = openTcp(address);
    writeRecord(this.socket, { t: 'hello', role: 'peer', secret: key.toString('hex') });
    readRecords(this.socket, (header, body) => this.answered(header, body));
    let why = 'closed';
    this.socket.setKeepAlive(true, SILENT_PEER_MS / 2);
    this.socket.setTimeout(SILENT_PEER_MS, () => {
      if (this.pending.size) this.socket.destroy(new Error(`sent nothing for ${SILENT_PEER_MS / 1000} s`));
    });
    this.socket.on('error', (error) => {
      why = `failed: ${error.message}`;
      this.socket.destroy();
    });
    this.socket.once('close', () => {
      onClose();
      for (const { ref, reject } of this.pending.values()) reject(new Error(`the connection to the agent at ${address} ${why} before it sent slot ${ref.slot}`));
      this.pending.clear();
    });
  }

  fetch(ref: SlotRef): Promise<void> {
    const id = this.next++;
    const { slot, size, offset, length } = ref;
    writeRecord(this.socket, { t: 'get', id, slot, size, offset, length });
    return new Promise((resolve, reject) => this.pending.set(id, { ref, resolve, reject }));
  }

  private answered(header: RecordHeader, body: Buffer[]): void {
    const request = typeof header.id === 'number' ? this.pending.get(header.id) : undefined;
    if (!request) throw new Error(`the agent at ${this.address} answered no request: ${JSON.stringify(header).slice(0, 200)}`);
    this.pending.delete(header.id as number);
    const { ref } = request;
    const bytes = header.bytes ?? 0;
    if (typeof header.error === 'string') return request.reject(new Error(`the agent at ${this.address} could not send slot ${ref.slot}: ${header.error}`));
    if (bytes !== ref.length) return request.reject(new Error(`the agent at ${this.address} sent ${bytes} bytes for slot ${ref.slot}, not ${ref.length}`));
    try {
      writeSlot(this.dir, ref.slot, ref.size, ref.offset, body);
    } catch (error) {
      // e.g. /dev/shm full here: this frame fails, the connection stays good
      return request.reject(new Error(`slot ${ref.slot} from the agent at ${this.address} could not be written here: ${(error as Error).message}`));
    }
    request.resolve();
  }
}

/** This agent's connections to the others, one per host, opened when first needed. */
export class PeerFetcher {
  private readonly peers = new Map<string, Peer>();
  /** fetches under way, by what they fetch: two consumers here of one frame share its transfer */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly dir: string,
    private readonly key: Buffer,
  ) {}

  /** Fetch the bytes `ref` names from the agent at `from` (host:port) into this host's slot of the same name. */
  fetch(ref: SlotRef, from: string): Promise<void> {
    const what = JSON.stringify([from, ref.slot, ref.size, ref.offset, ref.length]);
    const sharing = this.inFlight.get(what);
    if (sharing) return sharing;
    let peer = this.peers.get(from);
    if (!peer) {
      const opened = new Peer(from, this.dir, this.key, () => this.peers.get(from) === opened && this.peers.delete(from));
      peer = opened;
      this.peers.set(from, peer);
    }
    const fetched = peer.fetch(ref);
    this.inFlight.set(what, fetched);
    const done = () => void this.inFlight.delete(what);
    fetched.then(done, done);
    return fetched;
  }

  close(): void {
    for (const peer of this.peers.values()) peer.socket.destroy();
  }
}
