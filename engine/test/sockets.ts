// Sockets for the tests of a multi-node run's connections: connected pairs, and how soon a server cuts a peer off.
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';

/** A connected pair of sockets through a Unix socket `name` in `dir`. */
export async function socketPair(dir: string, name: string): Promise<[Socket, Socket]> {
  const path = join(dir, `${name}.sock`);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = createConnection(path);
  const pair: [Socket, Socket] = [client, await accepted];
  server.close();
  return pair;
}

/** Connect, send these bytes, and resolve with how many ms until the server closed the connection (or 'open' after 2 s). */
export function cutOffAfter(address: string, bytes: Buffer[]): Promise<number | 'open'> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const start = Date.now();
    const socket = createConnection({ host, port: Number(port) }, () => bytes.forEach((b) => socket.write(b)));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now() - start));
    setTimeout(() => {
      socket.destroy();
      resolve('open');
    }, 2000).unref();
  });
}
