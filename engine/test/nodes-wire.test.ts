// Multi-node runs, the relay between hosts: the framing of records on the engine–agent connections (wire.ts), what
// a control message means for slot files on either side (slot-sync.ts) and the slot files themselves (slot-files.ts).
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSlot, removeSlot, writeSlot } from '../src/nodes/slot-files.js';
import { answeredOutputs, isSlotGrant, isSlotName, isSlotRef, towardsOperator, writerOf } from '../src/nodes/slot-sync.js';
import { encodeHeader, MAX_HEADER_BYTES, RecordReader, WireError, type RecordHeader } from '../src/nodes/wire.js';

// ---------------------------------------------------------------------------------------------------------------
// wire.ts

interface Received {
  header: RecordHeader;
  body: Buffer[];
}

function reader(): { reader: RecordReader; received: Received[] } {
  const received: Received[] = [];
  return { reader: new RecordReader((header, body) => received.push({ header, body })), received };
}

/** A header length prefix followed by `text` as the header. */
const rawRecord = (text: string) => {
  const json = Buffer.from(text, 'utf8');
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(json.length);
  return Buffer.concat([prefix, json]);
};

/** The WireError `run` throws. */
function wireError(run: () => unknown): WireError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    return error as WireError;
  }
  throw new Error('expected a WireError, nothing was thrown');
}

const body1 = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
const body3 = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256));
const h1: RecordHeader = { t: 'slot', slot: 'blur/image.0', offset: 0, bytes: 10 };
const h2: RecordHeader = { t: 'msg', key: 'blur', line: '{"jsonrpc":"2.0","method":"release","params":{"slots":["blur/image.0"]}}' };
const h3: RecordHeader = { t: 'slot', slot: 'wé/x.1', note: 'ünïcödé ✓', bytes: 300 };
const h4: RecordHeader = { t: 'slot', slot: 'a/b.2', bytes: 0 };
const stream = Buffer.concat([encodeHeader(h1), body1, encodeHeader(h2), encodeHeader(h3), body3, encodeHeader(h4)]);

/** What the reader must hand over for `stream`: headers and body bytes (as hex). */
const expected = [
  { header: h1, body: '0102030405060708090a' },
  { header: h2, body: '' },
  { header: h3, body: body3.toString('hex') },
  { header: h4, body: '' },
];
const flat = (received: Received[]) => received.map(({ header, body }) => ({ header, body: Buffer.concat(body).toString('hex') }));

describe('wire: encodeHeader', () => {
  it('writes a 4-byte big-endian length, then the UTF-8 JSON', () => {
    expect(encodeHeader({ t: 'msg' }).toString('hex')).toBe('0000000b' + Buffer.from('{"t":"msg"}').toString('hex'));
    // "é" is 2 bytes: the length counts bytes, not characters
    expect(encodeHeader({ t: 'é' })).toEqual(Buffer.from([0, 0, 0, 10, ...Buffer.from('{"t":"é"}', 'utf8')]));
    expect(MAX_HEADER_BYTES).toBe(16 * 1024 * 1024);
  });
});

describe('wire: RecordReader', () => {
  it('reads several records from one chunk', () => {
    const { reader: r, received } = reader();
    r.push(stream);
    expect(flat(received)).toEqual(expected);
    expect(received[1].body).toEqual([]);
    expect(received[3].body).toEqual([]);
  });

  it('gives the same records whatever byte the stream is split at', () => {
    for (let at = 1; at < stream.length; at++) {
      const { reader: r, received } = reader();
      r.push(stream.subarray(0, at));
      r.push(stream.subarray(at));
      expect(flat(received), `split at ${at}`).toEqual(expected);
    }
  });

  it('gives the same records one byte at a time, and in uneven pieces', () => {
    const one = reader();
    for (let i = 0; i < stream.length; i++) one.reader.push(stream.subarray(i, i + 1));
    expect(flat(one.received)).toEqual(expected);

    const sizes = [1, 2, 3, 5, 7, 11, 13, 4, 97];
    const uneven = reader();
    for (let at = 0, k = 0; at < stream.length; k++) {
      const size = sizes[k % sizes.length];
      uneven.reader.push(stream.subarray(at, at + size));
      at += size;
    }
    expect(flat(uneven.received)).toEqual(expected);
  });

  it('hands a record over only once its body is complete, and empty chunks change nothing', () => {
    const { reader: r, received } = reader();
    const first = encodeHeader(h1).length + 4;
    r.push(Buffer.alloc(0));
    r.push(stream.subarray(0, first));
    r.push(Buffer.alloc(0));
    expect(received).toEqual([]);
    r.push(stream.subarray(first, first + 6));
    expect(received.length).toBe(1);
    r.push(Buffer.alloc(0));
    r.push(stream.subarray(first + 6));
    expect(flat(received)).toEqual(expected);
  });

  it('hands the body over as slices of the pushed chunks, not copies', () => {
    // an unpooled buffer of its own: a copy could not share its ArrayBuffer by chance
    const original = Buffer.alloc(stream.length);
    stream.copy(original);
    const { reader: r, received } = reader();
    r.push(original);
    const start = 4 + Buffer.byteLength(JSON.stringify(h1));
    expect(received[0].body.length).toBe(1);
    const [chunk] = received[0].body;
    expect(chunk.buffer).toBe(original.buffer);
    expect(chunk.byteOffset).toBe(original.byteOffset + start);
    expect(chunk.length).toBe(10);
    expect(received[2].body.every((c) => c.buffer === original.buffer)).toBe(true);
  });

  it('a body spread over two chunks comes as a slice of each', () => {
    const start = 4 + Buffer.byteLength(JSON.stringify(h1));
    const a = Buffer.alloc(start + 4);
    const b = Buffer.alloc(6);
    stream.copy(a, 0, 0, start + 4);
    stream.copy(b, 0, start + 4, start + 10);
    const { reader: r, received } = reader();
    r.push(a);
    r.push(b);
    expect(received.length).toBe(1);
    const [x, y] = received[0].body;
    expect(received[0].body.length).toBe(2);
    expect(x.buffer).toBe(a.buffer);
    expect(x.toString('hex')).toBe('01020304');
    expect(y.buffer).toBe(b.buffer);
    expect(y.toString('hex')).toBe('05060708090a');
  });

  it('refuses a header length of 0 or above MAX_HEADER_BYTES as soon as the length arrives', () => {
    expect(wireError(() => reader().reader.push(Buffer.from([0, 0, 0, 0]))).message).toBe('a record header of 0 bytes (at most 16777216)');
    expect(wireError(() => reader().reader.push(Buffer.from([0x01, 0x00, 0x00, 0x01]))).message).toBe('a record header of 16777217 bytes (at most 16777216)');
    expect(wireError(() => reader().reader.push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).message).toBe('a record header of 4294967295 bytes (at most 16777216)');
    // split over chunks too
    const { reader: r } = reader();
    r.push(Buffer.from([0, 0]));
    expect(wireError(() => r.push(Buffer.from([0, 0]))).name).toBe('WireError');
    // exactly the limit: waits for the header
    const { reader: limit, received } = reader();
    expect(() => limit.push(Buffer.from([0x01, 0x00, 0x00, 0x00]))).not.toThrow();
    expect(received).toEqual([]);
  });

  it('refuses a header that is not JSON', () => {
    expect(wireError(() => reader().reader.push(rawRecord('{"t":'))).message).toBe('a record header that is not JSON');
    expect(wireError(() => reader().reader.push(rawRecord('hello'))).message).toBe('a record header that is not JSON');
  });

  it('refuses a header without a string `t`', () => {
    for (const text of ['{"bytes":1}', '{"t":5}', '{"t":null}', '[]', '[{"t":"msg"}]', 'null', '"t"', '42']) {
      expect(wireError(() => reader().reader.push(rawRecord(text))).message, text).toBe('a record header without a type');
    }
  });

  it('refuses a body size that is not a whole number of bytes within bounds', () => {
    const cases: [string, string][] = [
      ['{"t":"slot","bytes":-1}', 'a record body of -1 bytes'],
      ['{"t":"slot","bytes":1.5}', 'a record body of 1.5 bytes'],
      ['{"t":"slot","bytes":"10"}', 'a record body of 10 bytes'],
      ['{"t":"slot","bytes":null}', 'a record body of null bytes'],
      ['{"t":"slot","bytes":1e400}', 'a record body of Infinity bytes'],
      ['{"t":"slot","bytes":1099511627777}', 'a record body of 1099511627777 bytes'],
    ];
    for (const [text, message] of cases) expect(wireError(() => reader().reader.push(rawRecord(text))).message, text).toBe(message);
    // 1 TiB itself is allowed: the reader waits for it
    const { reader: r, received } = reader();
    expect(() => r.push(rawRecord('{"t":"slot","bytes":1099511627776}'))).not.toThrow();
    expect(received).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// slot-sync.ts

describe('slot-sync: slot names', () => {
  it('accepts <worker key>/<port>.<n>', () => {
    for (const name of ['blur/image.0', 'blur.r2/image.13', '_a/_b.0', 'Blur_1-x/out_2.999999999999999', 'blur.r123456/image.1', `${'a'.repeat(64)}/${'p'.repeat(64)}.1`]) {
      expect(isSlotName(name), name).toBe(true);
    }
  });

  it('refuses paths that leave the slot folder and malformed names', () => {
    const refused = [
      '../x/image.0',
      '/abs/image.0',
      'blur/../../etc/passwd',
      'blur/image',
      'blur/image.0/x',
      './image.0',
      '..',
      '',
      'blur/image.0\n',
      ' blur/image.0',
      'blur\\image.0',
      'blur.r/image.0',
      'blur.r1234567/image.0',
      'blur.x2/image.0',
      '1blur/image.0',
      'blur/im-age.0',
      'blur/image.-1',
      'blur/image.1234567890123456',
      `${'a'.repeat(65)}/x.0`,
      `a/${'p'.repeat(65)}.0`,
    ];
    for (const name of refused) expect(isSlotName(name), JSON.stringify(name)).toBe(false);
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 5, ['blur/image.0'], { toString: () => 'blur/image.0' }, new String('blur/image.0')]) expect(isSlotName(value)).toBe(false);
  });

  it('the writer of a slot is its folder', () => {
    expect(writerOf('blur/image.0')).toBe('blur');
    expect(writerOf('blur.r2/image.13')).toBe('blur.r2');
  });
});

describe('slot-sync: grants and references', () => {
  const slot = 'a/out.1';

  it('a reference lies within its slot', () => {
    expect(isSlotRef({ slot, size: 100, offset: 0, length: 100 })).toBe(true);
    expect(isSlotRef({ slot, size: 100, offset: 60, length: 40 })).toBe(true);
    expect(isSlotRef({ slot, size: 100, offset: 100, length: 0 })).toBe(true);
    expect(isSlotRef({ slot, size: 100, limit: 4096, offset: 0, length: 8 })).toBe(true);
    expect(isSlotRef({ slot, size: 100, offset: 60, length: 41 })).toBe(false);
    expect(isSlotRef({ slot, size: 100, offset: 101, length: 0 })).toBe(false);
    expect(isSlotRef({ slot, size: Number.MAX_SAFE_INTEGER, offset: Number.MAX_SAFE_INTEGER, length: 1 })).toBe(false);
  });

  it('refuses negative, fractional, non-numeric or missing figures and bad names', () => {
    const refused: unknown[] = [
      { slot, size: 100, offset: -1, length: 1 },
      { slot, size: 100, offset: 0, length: -1 },
      { slot, size: -1, offset: 0, length: 0 },
      { slot, size: 100, offset: 1.5, length: 1 },
      { slot, size: 100, offset: 0, length: 0.5 },
      { slot, size: 100.5, offset: 0, length: 1 },
      { slot, size: 100, offset: '0', length: 1 },
      { slot, size: '100', offset: 0, length: 1 },
      { slot, size: 100, offset: Number.NaN, length: 1 },
      { slot, size: 2 ** 53, offset: 0, length: 1 },
      { slot, size: 100, length: 1 },
      { slot, size: 100, offset: 0 },
      { slot, offset: 0, length: 0 },
      { slot, size: 100, limit: -1, offset: 0, length: 1 },
      { slot, size: 100, limit: 1.5, offset: 0, length: 1 },
      { slot: '../a/out.1', size: 100, offset: 0, length: 1 },
      { size: 100, offset: 0, length: 1 },
      null,
      undefined,
      'a/out.1',
      [slot, 100, 0, 1],
    ];
    for (const value of refused) expect(isSlotRef(value), JSON.stringify(value)).toBe(false);
  });

  it('a grant is a good name and size, with an optional limit', () => {
    expect(isSlotGrant({ slot, size: 8192 })).toBe(true);
    expect(isSlotGrant({ slot, size: 0, limit: 65536 })).toBe(true);
    expect(isSlotGrant({ slot, size: 8192, limit: 'big' })).toBe(false);
    expect(isSlotGrant({ slot })).toBe(false);
    expect(isSlotGrant({ slot: 'a/../out.1', size: 1 })).toBe(false);
    expect(isSlotGrant(null)).toBe(false);
  });
});

describe('slot-sync: messages towards an operator', () => {
  const none = { inputs: [], grants: [], released: [] };

  it('a process call: its id, its inputs and grants (bad ones dropped)', () => {
    const needs = towardsOperator({
      jsonrpc: '2.0',
      id: 3,
      method: 'process',
      params: {
        run: 1,
        frame: 0,
        inputs: {
          image: { slot: 'src/image.0', size: 4096, offset: 0, length: 4096 },
          escape: { slot: '../etc/x.0', size: 1, offset: 0, length: 1 },
          past: { slot: 'src/mask.0', size: 10, offset: 8, length: 4 },
          name: 'src/image.0',
          nothing: null,
        },
        params: { sigma: 2, slot: 'params/are.0', size: 1 },
        grants: { image: { slot: 'blur/image.1', size: 4096, limit: 65536 }, abs: { slot: '/abs/x.0', size: 1 }, bad: { slot: 'blur/mask.1', size: -4 } },
      },
    });
    expect(needs).toEqual({
      call: 3,
      inputs: [{ slot: 'src/image.0', size: 4096, offset: 0, length: 4096 }],
      grants: [{ slot: 'blur/image.1', size: 4096, limit: 65536 }],
      released: [],
    });
  });

  it('a next call: its id and grants; an id of 0 is an id', () => {
    expect(towardsOperator({ jsonrpc: '2.0', id: 'n-4', method: 'next', params: { run: 1, frame: 1, grants: { image: { slot: 'blur/image.2', size: 8192 } } } })).toEqual({
      call: 'n-4',
      inputs: [],
      grants: [{ slot: 'blur/image.2', size: 8192 }],
      released: [],
    });
    expect(towardsOperator({ jsonrpc: '2.0', id: 0, method: 'process', params: { inputs: {}, grants: {} } }).call).toBe(0);
  });

  it('a release notification: the slot names it lists, bad ones dropped', () => {
    const needs = towardsOperator({ jsonrpc: '2.0', method: 'release', params: { slots: ['blur/image.1', '../x/image.0', 5, null, 'src/image.0', '/abs/image.0'] } });
    expect(needs).toEqual({ inputs: [], grants: [], released: ['blur/image.1', 'src/image.0'] });
    expect(needs.call).toBeUndefined();
    expect(towardsOperator({ jsonrpc: '2.0', method: 'release', params: { slots: { 0: 'blur/image.1' } } })).toEqual(none);
    expect(towardsOperator({ jsonrpc: '2.0', method: 'release' })).toEqual(none);
  });

  it('an answer to allocate: the grown slot', () => {
    const needs = towardsOperator(JSON.parse('{"jsonrpc":"2.0","id":7,"result":{"slot":"a/out.1","size":8192}}'));
    expect(needs).toEqual({ inputs: [], grants: [{ slot: 'a/out.1', size: 8192 }], released: [] });
    expect(needs.call).toBeUndefined();
    expect(towardsOperator(JSON.parse('{"jsonrpc":"2.0","id":7,"result":{"slot":"../a/out.1","size":8192}}'))).toEqual(none);
    expect(towardsOperator(JSON.parse('{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"too big"}}'))).toEqual(none);
    // a request carrying a result is not an answer
    expect(towardsOperator({ jsonrpc: '2.0', id: 7, method: 'shutdown', result: { slot: 'a/out.1', size: 8192 } })).toEqual(none);
  });

  it('nothing for other messages and hostile shapes', () => {
    const hostile: unknown[] = [
      null,
      undefined,
      42,
      'process',
      [],
      [{ method: 'process', id: 1, params: { inputs: { a: { slot: 'a/b.0', size: 1, offset: 0, length: 1 } } } }],
      { jsonrpc: '2.0', method: 'shutdown', id: 2 },
      { jsonrpc: '2.0', method: 'cancel' },
      { jsonrpc: '2.0', id: 1, result: { protocol: 1 } },
    ];
    for (const message of hostile) {
      const needs = towardsOperator(message);
      expect(needs, JSON.stringify(message)).toEqual(none);
      expect(needs.call).toBeUndefined();
    }
    expect(towardsOperator({ method: 'process', id: 1, params: null })).toEqual({ call: 1, ...none });
    expect(towardsOperator({ method: 'process', id: 1, params: { inputs: null, grants: 'blur/image.1' } })).toEqual({ call: 1, ...none });
  });

  it('a "__proto__" key is an own key like any other, and pollutes nothing', () => {
    const needs = towardsOperator(
      JSON.parse(
        '{"jsonrpc":"2.0","id":9,"method":"process","params":{"inputs":{"__proto__":{"slot":"src/image.0","size":8,"offset":0,"length":8}},"grants":{"__proto__":{"slot":"../../x.0","size":8}}}}',
      ),
    );
    expect(needs).toEqual({ call: 9, inputs: [{ slot: 'src/image.0', size: 8, offset: 0, length: 8 }], grants: [], released: [] });
    // a message whose fields sit under "__proto__" has none of them
    expect(towardsOperator(JSON.parse('{"__proto__":{"method":"process","id":1,"params":{"inputs":{"a":{"slot":"a/b.0","size":1,"offset":0,"length":1}}}}}'))).toEqual(none);
    expect(towardsOperator(JSON.parse('{"id":1,"__proto__":{"result":{"slot":"a/out.1","size":8}}}'))).toEqual(none);
    expect(({} as Record<string, unknown>).slot).toBeUndefined();
    expect(({} as Record<string, unknown>).method).toBeUndefined();
  });
});

describe('slot-sync: answers from an operator', () => {
  const answer = JSON.parse(
    '{"jsonrpc":"2.0","id":3,"result":{"outputs":{"image":{"slot":"blur/image.1","size":4096,"offset":0,"length":2048},' +
      '"escape":{"slot":"blur/../x.0","size":1,"offset":0,"length":1},"past":{"slot":"blur/mask.1","size":10,"offset":5,"length":6}},"more":false}}',
  ) as unknown;

  it('names the outputs of an answer to a call in the set, and removes the call', () => {
    const calls = new Set<unknown>([3, 'n-4']);
    expect(answeredOutputs(answer, calls)).toEqual([{ slot: 'blur/image.1', size: 4096, offset: 0, length: 2048 }]);
    expect([...calls]).toEqual(['n-4']);
    // answered once: a second answer with that id names nothing
    expect(answeredOutputs(answer, calls)).toEqual([]);
  });

  it('ignores answers to other ids, and ids of another type', () => {
    const calls = new Set<unknown>([99, '3']);
    expect(answeredOutputs(answer, calls)).toEqual([]);
    expect([...calls]).toEqual([99, '3']);
  });

  it('an error answer removes its call and names nothing', () => {
    const calls = new Set<unknown>(['n-4', 5]);
    expect(answeredOutputs({ jsonrpc: '2.0', id: 'n-4', error: { code: -32000, message: 'boom' } }, calls)).toEqual([]);
    expect([...calls]).toEqual([5]);
    expect(answeredOutputs({ jsonrpc: '2.0', id: 5, result: { more: false } }, calls)).toEqual([]);
    expect(calls.size).toBe(0);
  });

  it('ignores requests and notifications from the operator, even with a call id', () => {
    const calls = new Set<unknown>([3]);
    expect(answeredOutputs({ jsonrpc: '2.0', id: 3, method: 'allocate', params: { port: 'image', size: 8192 } }, calls)).toEqual([]);
    expect(answeredOutputs({ jsonrpc: '2.0', id: 3, method: 'hello', result: { outputs: { image: { slot: 'blur/image.1', size: 8, offset: 0, length: 8 } } } }, calls)).toEqual([]);
    expect(answeredOutputs({ jsonrpc: '2.0', method: 'log', params: { message: 'x' } }, calls)).toEqual([]);
    expect([...calls]).toEqual([3]);
  });

  it('nothing from hostile shapes', () => {
    const calls = new Set<unknown>([1]);
    for (const message of [null, 1, 'x', [], [{ id: 1, result: { outputs: {} } }]]) expect(answeredOutputs(message, calls)).toEqual([]);
    expect([...calls]).toEqual([1]);
    expect(answeredOutputs({ id: 1, result: { outputs: null } }, new Set([1]))).toEqual([]);
    expect(answeredOutputs({ id: 1, result: { outputs: ['blur/image.1', { slot: 'blur/image.1', size: 1 }] } }, new Set([1]))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// slot-files.ts

describe('slot files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'emflow-slot-files-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const readSlot = (d: string, slot: string, offset: number, length: number) => readFileSync(join(d, slot)).subarray(offset, offset + length);

  it('writes a slot 0600 in its worker folder, grown to its size, the chunks at the offset', () => {
    writeSlot(dir, 'blur/image.0', 16, 4, [Buffer.from('abcd'), Buffer.from('ef')]);
    const path = join(dir, 'blur', 'image.0');
    const stat = statSync(path);
    expect(stat.isFile()).toBe(true);
    expect(stat.size).toBe(16);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'blur')).mode & 0o777).toBe(0o700);
    expect(readFileSync(path).toString('hex')).toBe('00000000' + '616263646566' + '000000000000');
    expect(readSlot(dir, 'blur/image.0', 4, 6).toString('latin1')).toBe('abcdef');
  });

  it('never shrinks a slot, grows it when asked', () => {
    writeSlot(dir, 'grow/image.0', 16, 4, [Buffer.from('abcdef')]);
    writeSlot(dir, 'grow/image.0', 8, 0, [Buffer.from('XY')]);
    const path = join(dir, 'grow', 'image.0');
    expect(statSync(path).size).toBe(16);
    expect(readFileSync(path).toString('hex')).toBe('5859' + '0000' + '616263646566' + '000000000000');
    writeSlot(dir, 'grow/image.0', 32, 30, [Buffer.from('zz')]);
    expect(statSync(path).size).toBe(32);
    expect(readSlot(dir, 'grow/image.0', 0, 32).toString('hex')).toBe('5859' + '0000' + '616263646566' + '00'.repeat(20) + '7a7a');
  });

  it('writes more chunks than one writev takes', () => {
    const chunks = Array.from({ length: 2500 }, (_, i) => Buffer.from([i % 251, (i * 3) % 256]));
    writeSlot(dir, 'many/out.3', 6000, 100, chunks);
    const bytes = readSlot(dir, 'many/out.3', 100, 5000);
    const want = Buffer.alloc(5000);
    for (let i = 0; i < 2500; i++) {
      want[2 * i] = i % 251;
      want[2 * i + 1] = (i * 3) % 256;
    }
    expect(bytes.equals(want)).toBe(true);
    expect(statSync(join(dir, 'many', 'out.3')).size).toBe(6000);
  });

  it('ensureSlot creates or grows a slot, removeSlot removes it (and a missing one is fine)', () => {
    ensureSlot(dir, 'ens/image.0', 4096);
    expect(statSync(join(dir, 'ens', 'image.0')).size).toBe(4096);
    ensureSlot(dir, 'ens/image.0', 10);
    expect(statSync(join(dir, 'ens', 'image.0')).size).toBe(4096);
    removeSlot(dir, 'ens/image.0');
    expect(existsSync(join(dir, 'ens', 'image.0'))).toBe(false);
    expect(() => removeSlot(dir, 'ens/image.0')).not.toThrow();
  });

  it('refuses a symbolic link at the slot path, and leaves its target alone', () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'secret');
    mkdirSync(join(dir, 'evil'), { recursive: true });
    symlinkSync(target, join(dir, 'evil', 'image.0'));
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return (error as NodeJS.ErrnoException).code;
      }
      return 'no error';
    };
    expect(code(() => writeSlot(dir, 'evil/image.0', 64, 0, [Buffer.from('pwned')]))).toBe('ELOOP');
    expect(code(() => ensureSlot(dir, 'evil/image.0', 1 << 20))).toBe('ELOOP');
    expect(readFileSync(target, 'utf8')).toBe('secret');
    expect(statSync(target).size).toBe(6);
    // removing the slot removes the link, not its target
    removeSlot(dir, 'evil/image.0');
    expect(() => lstatSync(join(dir, 'evil', 'image.0'))).toThrow();
    expect(readFileSync(target, 'utf8')).toBe('secret');
  });
});
