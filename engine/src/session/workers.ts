// The engine side of the control plane: the session's Unix socket, hello handshakes, and the warm
// operator processes ("workers") of a session.
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { call, ERRORS, RpcError, METHODS, openChannel, PROTOCOL_VERSION, type AllocateParams, type Channel, type HelloParams, type HelloResult, type SlotGrant } from '@emflow/sdk';
import { describeExit, lastOutput, type ExitInfo, type OperatorInfo, type OperatorProcess, type Runtime, type SessionPaths } from '../runtime/runtime.js';
import { RunError } from './errors.js';
import { timeout } from './waits.js';

export interface Worker {
  node: string;
  info: OperatorInfo;
  process: OperatorProcess;
  channel: Channel;
  /** set once the process has exited */
  exit?: ExitInfo;
}

interface Pending {
  node: string;
  operator: string;
  resolve: (channel: Channel) => void;
}

export class ControlServer {
  private readonly server: Server;
  private readonly pending = new Map<string, Pending>();
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly paths: SessionPaths,
    /** grow the granted slot of a node's output port */
    allocate: (node: string, request: AllocateParams) => SlotGrant,
  ) {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const channel = openChannel(socket);
      let node: string | undefined;
      channel.addMethod(METHODS.hello, (raw) => {
        const hello = raw as unknown as HelloParams;
        const expected = this.pending.get(hello.token);
        if (hello.protocol !== PROTOCOL_VERSION) throw new RpcError(`protocol ${hello.protocol} is not supported (engine speaks ${PROTOCOL_VERSION})`, ERRORS.badHello);
        if (!expected) throw new RpcError('unknown token', ERRORS.badHello);
        if (expected.operator !== hello.operator) throw new RpcError(`expected operator "${expected.operator}", got "${hello.operator}"`, ERRORS.badHello);
        this.pending.delete(hello.token);
        node = expected.node;
        // answer hello before the session starts sending work
        setImmediate(() => expected.resolve(channel));
        return { session: this.paths.id, node } satisfies HelloResult;
      });
      channel.addMethod(METHODS.allocate, (raw) => {
        if (!node) throw new RpcError('say hello first', ERRORS.badHello);
        try {
          return allocate(node, raw as unknown as AllocateParams);
        } catch (error) {
          throw new RpcError((error as Error).message, ERRORS.noSlot);
        }
      });
    });
  }

  async listen(owner?: { uid: number; gid: number }): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.paths.socket, () => resolve());
    });
    // only the engine's (or the containers') user may connect, whatever the umask
    chmodSync(this.paths.socket, 0o600);
    if (owner) chownSync(this.paths.socket, owner.uid, owner.gid);
  }

  /** A token to give a starting operator, and the channel it opens once it has said hello. */
  expect(node: string, operator: string): { token: string; hello: Promise<Channel> } {
    const token = randomBytes(16).toString('hex');
    const hello = new Promise<Channel>((resolve) => this.pending.set(token, { node, operator, resolve }));
    return { token, hello };
  }

  forget(token: string): void {
    this.pending.delete(token);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Start an operator for a node and wait for its hello. Fails with the operator's output when it exits or stays silent. */
export async function startWorker(
  runtime: Runtime,
  server: ControlServer,
  paths: SessionPaths,
  node: string,
  info: OperatorInfo,
  params: Record<string, unknown>,
  startTimeoutMs: number,
): Promise<Worker> {
  const { token, hello } = server.expect(node, info.spec.name);
  let started: OperatorProcess;
  try {
    started = await runtime.start({ node, operator: info, session: paths, token, params });
  } catch (error) {
    server.forget(token);
    throw new RunError({ node, operator: info.spec.name, detail: `could not be started: ${(error as Error).message}` });
  }
  const limit = timeout(startTimeoutMs);
  const outcome = await Promise.race([hello, started.exited, limit.promise]);
  limit.cancel();
  if (outcome === 'timeout' || !('request' in outcome)) {
    server.forget(token);
    if (outcome === 'timeout') await started.kill();
    const detail = outcome === 'timeout' ? `did not connect within ${startTimeoutMs} ms (${started.description}); it was stopped` : `${describeExit(outcome as ExitInfo)} before connecting`;
    throw new RunError({ node, operator: info.spec.name, detail, log: await lastOutput(started) });
  }
  const worker: Worker = { node, info, process: started, channel: outcome };
  void started.exited.then((exit) => (worker.exit = exit));
  return worker;
}

/** Ask a worker to shut down, and kill it if it has not exited after `graceMs`. */
export async function stopWorker(worker: Worker, graceMs: number): Promise<void> {
  if (worker.exit) return;
  const limit = timeout(graceMs);
  await Promise.race([call(worker.channel, METHODS.shutdown, {}).then(() => worker.process.exited), limit.promise]).catch(() => undefined);
  limit.cancel();
  if (!worker.exit) await worker.process.kill();
}
