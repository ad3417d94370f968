// The floor of a hand-off through a coordinator, measured in the same run: writer → relay → reader as three bare
// Node processes on Unix sockets, the writer filling a buffer of the frame's size before each message. Its time
// grows with the frame although it moves no more bytes: after a long fill the other processes were idle, their
// CPUs asleep and their caches flushed by the fill. What an emflow hand-off adds is what it takes beyond this.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLines } from '@emflow/sdk';
import { median } from '../session/run.js';

const ends = join(dirname(fileURLToPath(import.meta.url)), 'relay-ends.js');

/** Rejects once `child` has ended: an end of the relay gone sends no more. Handled already, so an end after the race is over (the children are killed) is no unhandled rejection. */
function whenEnded(child: ChildProcess, role: string): Promise<never> {
  const ended = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`the raw relay's ${role} ended (${signal ?? `exit code ${code}`}) before its measurement did`);
  });
  ended.catch(() => {});
  return ended;
}

interface End {
  server: Server;
  child: ChildProcess;
  /** listened for before the child starts: it may connect while another end is still awaited */
  connection: Promise<unknown[]>;
  ended: Promise<never>;
}

/** A fresh socket path listened on, and the child forked to connect to it. */
async function startEnd(path: string, role: 'writer' | 'reader', args: string[]): Promise<End> {
  rmSync(path, { force: true });
  const server = createServer();
  server.listen(path);
  await once(server, 'listening');
  const connection = once(server, 'connection');
  const child = fork(ends, [role, path, ...args], { stdio: 'ignore' });
  return { server, child, connection, ended: whenEnded(child, role) };
}

async function connected(end: End): Promise<Socket> {
  const [socket] = (await Promise.race([end.connection, end.ended])) as [Socket];
  socket.setNoDelay(true);
  // a reset or broken pipe means that end is gone: its exit (`ended`) says so, an unheard error would crash the bench
  socket.on('error', () => {});
  return socket;
}

/** Median ms from the writer's fill done to the reader holding the message, over `frames` after `warm` unmeasured ones. */
export async function relayHandoff(bytes: number, frames: number, warm: number): Promise<number> {
  const base = join(tmpdir(), `emflow-relay-${process.pid}`);
  const started: End[] = [];
  const sockets: Socket[] = [];
  const samples: number[] = [];
  try {
    started.push(await startEnd(`${base}-w.sock`, 'writer', [String(bytes)]));
    started.push(await startEnd(`${base}-r.sock`, 'reader', []));
    const [writer, reader] = [await connected(started[0]), await connected(started[1])];
    sockets.push(writer, reader);
    const measured = new Promise<void>((done) => {
      readLines(writer, (line) => reader.write(line + '\n'));
      readLines(reader, (line) => {
        samples.push((JSON.parse(line) as { ns: number }).ns / 1e6);
        if (samples.length === warm + frames) done();
        else writer.write('next\n');
      });
      writer.write('next\n');
    });
    await Promise.race([measured, ...started.map((end) => end.ended)]);
  } finally {
    for (const socket of sockets) socket.destroy();
    for (const end of started) {
      end.server.close();
      end.child.kill();
    }
    rmSync(`${base}-w.sock`, { force: true });
    rmSync(`${base}-r.sock`, { force: true });
  }
  return median(samples.slice(warm));
}
