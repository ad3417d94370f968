// `emflow run --out DIR`: every frame of an output port that no edge consumes becomes a file.
import { join } from 'node:path';
import { tableToIPC } from 'apache-arrow';
import { writeNewFile } from '@emflow/formats';
import { npyHeader } from '@emflow/sdk';
import type { FrameEvent } from '../session/run.js';

export function outputFileName(event: Pick<FrameEvent, 'node' | 'port' | 'index'>, kind: 'ndarray' | 'table' | 'json'): string {
  const extension = kind === 'ndarray' ? 'npy' : kind === 'table' ? 'arrow' : 'json';
  return `${event.node}.${event.port}.${event.index}.${extension}`;
}

function encoded(frame: FrameEvent['frame']): Uint8Array {
  if (frame.kind === 'ndarray') return Buffer.concat([npyHeader(frame), new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength)]);
  if (frame.kind === 'table') return tableToIPC(frame.table, 'file');
  return Buffer.from(JSON.stringify(frame.value, null, 2) + '\n');
}

/**
 * Write one frame under `dir`; returns the path. A result of an earlier run is replaced, never through a
 * symbolic link (the same safe write as the writer operators: an exclusive temporary renamed over it).
 */
export function writeOutputFrame(dir: string, event: FrameEvent): string {
  const path = join(dir, outputFileName(event, event.frame.kind));
  writeNewFile(path, encoded(event.frame), true);
  return path;
}
