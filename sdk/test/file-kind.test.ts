// Readers open only regular files with content: FIFOs, devices, sockets, folders, /proc files and empty files
// are refused by what they are, before a byte is read, and without blocking.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRegularFile, NotARegularFileError, openRegularFile } from '@emflow/sdk';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-file-kind-test-'));
const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
  rmSync(scratch, { recursive: true, force: true });
});

function refusal(path: string): NotARegularFileError {
  try {
    checkRegularFile(path, 'an MRC file');
  } catch (error) {
    expect(error).toBeInstanceOf(NotARegularFileError);
    return error as NotARegularFileError;
  }
  throw new Error(`${path} was accepted`);
}

describe('openRegularFile', () => {
  it('opens a regular file with content and gives its size', () => {
    const path = join(scratch, 'data.bin');
    writeFileSync(path, 'abc');
    const { fd, size } = openRegularFile(path, 'a file');
    const bytes = Buffer.alloc(size);
    readSync(fd, bytes);
    closeSync(fd);
    expect([size, bytes.toString()]).toEqual([3, 'abc']);
  });

  it('refuses a FIFO at once (no writer needed, nothing blocks)', () => {
    const fifo = join(scratch, 'pipe.mrc');
    spawnSync('mkfifo', [fifo]);
    const error = refusal(fifo);
    expect(error.message).toBe(`${fifo} is a FIFO, not a regular file (expected an MRC file)`);
    expect(error.reason).toBe('is a FIFO, not a regular file');
  });

  it('refuses devices, sockets and folders', async () => {
    expect(refusal('/dev/zero').message).toBe('/dev/zero is a character device, not a regular file (expected an MRC file)');
    const socket = join(scratch, 'control.sock');
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    expect(refusal(socket).message).toBe(`${socket} is a socket, not a regular file (expected an MRC file)`);
    const folder = join(scratch, 'folder.mrc');
    mkdirSync(folder);
    expect(refusal(folder).message).toBe(`${folder} is a folder, not a file (expected an MRC file)`);
  });

  it('refuses empty files, and the files of /proc and /sys, which say they are empty', () => {
    const empty = join(scratch, 'empty.mrc');
    writeFileSync(empty, '');
    expect(refusal(empty).message).toBe(`${empty} is an empty file (expected an MRC file)`);
    expect(refusal('/proc/self/environ').message).toBe('/proc/self/environ is a file of /proc or /sys, not a regular file (expected an MRC file)');
  });

  it('throws the errors of stat and open as they are', () => {
    expect(() => openRegularFile(join(scratch, 'missing'), 'a file')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
