// Shared-memory mappings of slot files through our N-API addon (sdk/native/shm.cc).
import { createRequire } from 'node:module';
import { join } from 'node:path';

interface ShmAddon {
  map(path: string, size: number, mode: 'r' | 'rw'): ArrayBuffer;
  unmap(buffer: ArrayBuffer): void;
}

const addon = createRequire(import.meta.url)('../build/Release/emflow_shm.node') as ShmAddon;

/** Map `size` bytes of a file (0: the whole file). The buffer is valid until `unmap`. */
export function map(path: string, size: number, mode: 'r' | 'rw'): ArrayBuffer {
  return addon.map(path, size, mode);
}

/** Unmap a buffer returned by `map`; views over it become empty. Idempotent. */
export function unmap(buffer: ArrayBuffer): void {
  addon.unmap(buffer);
}

/**
 * Mappings of the slot files of one session directory, each mapped once and reused for every frame.
 * A slot that grew is remapped at its new size.
 */
/** `file` or `folder/file`, no part empty or starting with a dot: a slot never names anything outside the session directory. */
const SLOT_NAME = /^(?:[^/.][^/]*\/)?[^/.][^/]*$/;

export class SlotMappings {
  private readonly mapped = new Map<string, { bytes: Uint8Array; mode: 'r' | 'rw' }>();

  constructor(private readonly dir: string) {}

  /** Bytes of a slot, mapped read-only or read-write. */
  bytes(slot: string, size: number, mode: 'r' | 'rw'): Uint8Array {
    const existing = this.mapped.get(slot);
    if (existing && existing.bytes.byteLength === size && (existing.mode === 'rw' || mode === 'r')) return existing.bytes;
    if (existing) this.drop(slot);
    if (!SLOT_NAME.test(slot)) throw new Error(`slot name "${slot}" must be a file name, or a folder and a file name ("node/port.3"), neither starting with "."`);
    const bytes = new Uint8Array(map(join(this.dir, slot), size, mode));
    this.mapped.set(slot, { bytes, mode });
    return bytes;
  }

  drop(slot: string): void {
    const existing = this.mapped.get(slot);
    if (!existing) return;
    this.mapped.delete(slot);
    unmap(existing.bytes.buffer as ArrayBuffer);
  }

  clear(): void {
    for (const slot of [...this.mapped.keys()]) this.drop(slot);
  }
}
