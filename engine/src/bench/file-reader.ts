// The reading side of the file-passing baseline: on each message, read the whole file into a buffer it
// already has, and answer with the monotonic time it finished.
import { closeSync, openSync, readSync } from 'node:fs';

const [path, size] = process.argv.slice(2);
const buffer = Buffer.alloc(Number(size));
process.on('message', () => {
  const fd = openSync(path, 'r');
  let read = 0;
  while (read < buffer.length) {
    const n = readSync(fd, buffer, read, buffer.length - read, read);
    if (n === 0) break;
    read += n;
  }
  closeSync(fd);
  process.send!(process.hrtime.bigint().toString());
});
process.send!('ready');
