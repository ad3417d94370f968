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

/** Accept one connection on a fresh socket path, from the child `start` forks. */
async function acceptOne(path: string, start: () => ChildProcess): Promise<{ server: Server; socket: Socket; child: ChildProcess }> {
  rmSync(path, { force: true });
  const server = createServer();
  server.listen(path);
  await once(server, 'listening');
  const child = start();
  const [socket] = (await once(server, 'connection')) as [Socket];
  socket.setNoDelay(true);
  return { server, socket, child };
}

/** Median ms from the writer's fill done to the reader holding the message, over `frames` after `warm` unmeasured ones. */
export async function relayHandoff(bytes: number, frames: number, warm: number): Promise<number> {
  const base = join(tmpdir(), `emflow-relay-${process.pid}`);
  const writer = await acceptOne(`${base}-w.sock`, () => fork(ends, ['writer', `${base}-w.sock`, String(bytes)], { stdio: 'ignore' }));
  const reader = await acceptOne(`${base}-r.sock`, () => fork(ends, ['reader', `${base}-r.sock`], { stdio: 'ignore' }));
  const samples: number[] = [];
  try {
    await new Promise<void>((done) => {
      readLines(writer.socket, (line) => reader.socket.write(line + '\n'));
      readLines(reader.socket, (line) => {
        samples.push((JSON.parse(line) as { ns: number }).ns / 1e6);
        if (samples.length === warm + frames) done();
        else writer.socket.write('next\n');
      });
      writer.socket.write('next\n');
    });
  } finally {
    for (const end of [writer, reader]) {
      end.socket.destroy();
      end.server.close();
      end.child.kill();
    }
    rmSync(`${base}-w.sock`, { force: true });
    rmSync(`${base}-r.sock`, { force: true });
  }
  return median(samples.slice(warm));
}
