// The two ends of the raw relay (relay.ts): a writer that fills a buffer of the frame's size and then says so
// with a small JSON line, and a reader that answers each line with how long after the fill it got it (ns).
// Nothing of emflow's data plane: Node, a Unix socket, a line splitter, and the idle time a frame's fill leaves.
import { createConnection } from 'node:net';
import { readLines } from '@emflow/sdk';

const [role, socketPath, bytes] = process.argv.slice(2);

const socket = createConnection(socketPath);
socket.setNoDelay(true);
if (role === 'writer') {
  const frame = Buffer.alloc(Number(bytes));
  let index = 0;
  // the relay asks for each frame once the reader has answered the last one, as a ring of one slot does
  readLines(socket, () => {
    frame.fill(++index & 0xff);
    socket.write(JSON.stringify({ index, doneAt: process.hrtime.bigint().toString() }) + '\n');
  });
} else {
  readLines(socket, (line) => {
    const held = process.hrtime.bigint();
    const { doneAt } = JSON.parse(line) as { doneAt: string };
    socket.write(JSON.stringify({ ns: Number(held - BigInt(doneAt)) }) + '\n');
  });
}
socket.on('close', () => process.exit(0));
