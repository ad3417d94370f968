// `emflow run --out DIR`: every frame of an output port that no edge consumes becomes a file.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tableToIPC } from 'apache-arrow';
import type { FrameEvent } from '../session/run.js';
import { npyHeader } from '@emflow/sdk';

export function outputFileName(event: Pick<FrameEvent, 'node' | 'port' | 'index'>, kind: 'ndarray' | 'table' | 'json'): string {
  const extension = kind === 'ndarray' ? 'npy' : kind === 'table' ? 'arrow' : 'json';
  return `${event.node}.${event.port}.${event.index}.${extension}`;
}

/** Write one frame under `dir`; returns the path. Arrays go out without an intermediate copy. */
export function writeOutputFrame(dir: string, event: FrameEvent): string {
  const { frame } = event;
  const path = join(dir, outputFileName(event, frame.kind));
  mkdirSync(dir, { recursive: true });
  const fd = openSync(path, 'w');
  try {
    if (frame.kind === 'ndarray') {
      writeSync(fd, npyHeader(frame));
      writeSync(fd, new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength));
    } else if (frame.kind === 'table') {
      writeSync(fd, tableToIPC(frame.table, 'file'));
    } else {
      writeSync(fd, JSON.stringify(frame.value, null, 2) + '\n');
    }
  } finally {
    closeSync(fd);
  }
  return path;
}
