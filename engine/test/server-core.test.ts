// The editor server's pure parts: who may talk to it, and what a display pane is sent of a frame.
import { execFileSync } from 'node:child_process';
import { tableFromArrays } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { NDArray, table } from '@emflow/sdk';
import { decimationIndices, displayMessage, downsample, encodeDisplayMessage, finiteStats, peek } from '../src/server/displays.js';
import { accessPolicy, hostnameOf, refusal } from '../src/server/security.js';

/** Run a Python/NumPy snippet that prints JSON: the reference values come from there, not from our code. */
const numpyJson = <T>(script: string, input: unknown): T =>
  JSON.parse(execFileSync(process.env.EMFLOW_PYTHON ?? 'python3', ['-c', `import json, sys, numpy as np\ninp = json.load(sys.stdin)\n${script}`], { input: JSON.stringify(input), encoding: 'utf8' })) as T;

describe('access checks', () => {
  const loopback = accessPolicy('127.0.0.1', false);
  it('on loopback without a token, accepts loopback names and refuses other Host names (DNS rebinding)', () => {
    for (const host of ['127.0.0.1:8000', 'localhost:8000', '[::1]:8000', 'LOCALHOST']) expect(refusal(loopback, { host }, true)).toBeUndefined();
    expect(refusal(loopback, { host: 'evil.example:8000' }, true)?.status).toBe(403);
    expect(refusal(loopback, { host: 'evil.example:8000' }, false)?.status).toBe(403);
    expect(refusal(loopback, {}, true)?.status).toBe(403);
  });

  it('refuses API requests from another origin and accepts same-origin pages and clients without Origin', () => {
    expect(refusal(loopback, { host: '127.0.0.1:8000', origin: 'http://127.0.0.1:8000' }, true)).toBeUndefined();
    expect(refusal(loopback, { host: '127.0.0.1:8000' }, true)).toBeUndefined();
    expect(refusal(loopback, { host: '127.0.0.1:8000', origin: 'http://127.0.0.1:9000' }, true)?.status).toBe(403);
    expect(refusal(loopback, { host: '127.0.0.1:8000', origin: 'null' }, true)?.status).toBe(403);
    // static files (the editor's code) need no Origin check
    expect(refusal(loopback, { host: '127.0.0.1:8000', origin: 'http://evil.example' }, false)).toBeUndefined();
  });

  it('generates a token for any other address and requires it on the API only, as bearer or query', () => {
    const open = accessPolicy('0.0.0.0');
    expect(open.token).toMatch(/^[0-9a-f]{48}$/);
    expect(accessPolicy('0.0.0.0').token).not.toBe(open.token);
    expect(open.hostnames).toBeUndefined();
    const host = 'microscope-pc:8000';
    expect(refusal(open, { host }, true)?.status).toBe(401);
    expect(refusal(open, { host, queryToken: 'wrong' }, true)?.status).toBe(401);
    expect(refusal(open, { host, authorization: `Bearer ${open.token!.slice(0, -1)}` }, true)?.status).toBe(401);
    expect(refusal(open, { host, authorization: `Bearer ${open.token}` }, true)).toBeUndefined();
    expect(refusal(open, { host, queryToken: open.token }, true)).toBeUndefined();
    expect(refusal(open, { host }, false)).toBeUndefined();
    // on loopback too, a token is generated unless refused explicitly (other users of the machine reach loopback)
    expect(refusal(accessPolicy('127.0.0.1', 'given-token'), { host: '127.0.0.1:1' }, true)?.status).toBe(401);
    expect(accessPolicy('127.0.0.1').token).toMatch(/^[0-9a-f]{48}$/);
    expect(() => accessPolicy('0.0.0.0', false)).toThrow('requires a token');
  });

  it('reads the host name out of Host headers with ports and IPv6 literals', () => {
    expect(hostnameOf('[::1]:8000')).toBe('[::1]');
    expect(hostnameOf('Example.org:80')).toBe('example.org');
    expect(hostnameOf('127.0.0.1')).toBe('127.0.0.1');
  });
});

describe('image displays', () => {
  // a 37 × 53 image with a NaN block: sizes that do not divide by the factor
  const width = 53;
  const height = 37;
  const values = Float32Array.from({ length: width * height }, (_, i) => Math.sin(i * 0.37) * 100 + (i % width));
  values[5 * width + 7] = NaN;
  values[5 * width + 8] = Infinity;

  it('reduces to block means, NaN and Inf left out, matching numpy nanmean over padded blocks', () => {
    const small = downsample(values, width, height, 20, 20);
    // factor ceil(53 / 20) = 3
    expect([small.width, small.height]).toEqual([18, 13]);
    const expected = numpyJson<number[]>(
      `a = np.array(inp['v'], dtype=np.float64).reshape(${height}, ${width}); a[~np.isfinite(a)] = np.nan
f = 3; H = -(-${height} // f) * f; W = -(-${width} // f) * f
p = np.full((H, W), np.nan); p[:${height}, :${width}] = a
print(json.dumps(np.nanmean(p.reshape(H // f, f, W // f, f), axis=(1, 3)).astype(np.float32).ravel().tolist()))`,
      { v: Array.from(values, (v) => (Number.isFinite(v) ? v : null)) },
    );
    expect(Array.from(small.data)).toEqual(expected);
  });

  it('sends a 4096² frame at the pane size with the full-resolution range and source size', () => {
    const big = new NDArray(Float32Array.from({ length: 4096 * 4096 }, (_, i) => (i % 4096) + Math.floor(i / 4096)), [4096, 4096]);
    const message = displayMessage('image', big, { node: 'view', run: 1, index: 0, params: {} }, { width: 600, height: 400 });
    if (message instanceof Error) throw message;
    expect(message.header).toMatchObject({ kind: 'image', width: 373, height: 373, source: { width: 4096, height: 4096 }, min: 0, max: 8190 });
    expect((message.payload as Float32Array).length).toBe(373 * 373);
    // the top-left block of 11 × 11: mean of x + y over 0..10 each = 10
    expect((message.payload as Float32Array)[0]).toBe(10);
  });

  it('lays the binary message out as documented: length, JSON header, padding to 8, payload', () => {
    const message = displayMessage('image', new NDArray(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]), { node: 'n', run: 2, index: 4, params: { colormap: 'magma' } }, { width: 100, height: 100 });
    if (message instanceof Error) throw message;
    const bytes = encodeDisplayMessage(message);
    const length = bytes.readUInt32LE(0);
    const header = JSON.parse(bytes.subarray(4, 4 + length).toString('utf8'));
    expect(header).toMatchObject({ kind: 'image', node: 'n', run: 2, index: 4, width: 3, height: 2, params: { colormap: 'magma' }, dtype: 'float32' });
    const start = Math.ceil((4 + length) / 8) * 8;
    expect(bytes.subarray(4 + length, start).every((b) => b === 0)).toBe(true);
    expect(Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length)))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('says what a pane cannot show instead of sending it', () => {
    const message = displayMessage('image', table(tableFromArrays({ x: Float64Array.of(1) })), { node: 'n', run: 1, index: 0, params: {} }, { width: 10, height: 10 });
    expect(message).toBeInstanceOf(Error);
    expect((message as Error).message).toBe('an image display needs a 2-D array, got a table frame');
  });
});

describe('plot and table displays', () => {
  it('decimates a long series to the pane, keeping every local extreme per bucket', () => {
    const n = 100_000;
    const y = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 500));
    y[61_234] = 50; // a single-sample spike
    y[7_777] = -50;
    const kept = decimationIndices([y], n, 1000);
    expect(kept.length).toBeLessThanOrEqual(1001);
    expect(kept).toContain(61_234);
    expect(kept).toContain(7_777);
    expect(kept[0]).toBe(0);
    expect(kept.at(-1)).toBe(n - 1);
    expect([...kept].every((v, i) => i === 0 || v > kept[i - 1])).toBe(true);
  });

  it('sends a table as x then series columns, float64, with the first rows for tables', () => {
    const frame = table(tableFromArrays({ bin_start: Float64Array.of(0, 1, 2), count: Int32Array.of(5, 7, 9) }));
    const plot = displayMessage('plot', frame, { node: 'p', run: 1, index: 0, params: {} }, { width: 300, height: 200 });
    if (plot instanceof Error) throw plot;
    expect(plot.header).toMatchObject({ kind: 'plot', x: 'bin_start', series: ['count'], length: 3, sourceLength: 3 });
    expect(Array.from(plot.payload as Float64Array)).toEqual([0, 1, 2, 5, 7, 9]);
    const rows = displayMessage('table', frame, { node: 't', run: 1, index: 0, params: {} }, { width: 300, height: 200 });
    if (rows instanceof Error) throw rows;
    expect(rows.header).toMatchObject({ kind: 'table', columns: ['bin_start', 'count'], numRows: 3, rows: [[0, 5], [1, 7], [2, 9]] });
  });
});

describe('edge taps', () => {
  it('summarises an array with numpy statistics of its finite values and a thumbnail of its middle section', () => {
    const values = Float32Array.from({ length: 3 * 40 * 300 }, (_, i) => Math.cos(i) * 10 + i / 1000);
    values[17] = NaN;
    const summary = peek(new NDArray(values, [3, 40, 300]));
    const expected = numpyJson<{ min: number; max: number; mean: number; std: number }>(
      `a = np.array(inp['v'], dtype=np.float64); a = a[np.isfinite(a)]
print(json.dumps({'min': a.min(), 'max': a.max(), 'mean': a.mean(), 'std': a.std()}))`,
      { v: Array.from(values, (v) => (Number.isFinite(v) ? v : null)) },
    );
    if (summary.kind !== 'ndarray') throw new Error('expected an array summary');
    expect(summary.shape).toEqual([3, 40, 300]);
    for (const key of ['min', 'max', 'mean', 'std'] as const) expect(summary.stats[key]).toBeCloseTo(expected[key], 9);
    // 300 wide → factor 3 → 100 × 14, min–max scaled to 0..255
    expect(summary.thumbnail).toMatchObject({ width: 100, height: 14 });
    const bytes = Buffer.from(summary.thumbnail!.data, 'base64');
    expect(bytes.length).toBe(1400);
    expect(Math.min(...bytes)).toBe(0);
    expect(Math.max(...bytes)).toBe(255);
  });

  it('summarises tables by their first rows and JSON by its text', () => {
    expect(peek(table(tableFromArrays({ a: BigInt64Array.of(1n, 2n ** 60n) })))).toEqual({ kind: 'table', columns: ['a'], numRows: 2, rows: [[1], ['1152921504606846976']] });
    expect(finiteStats([])).toEqual({ min: NaN, max: NaN, mean: NaN, std: NaN });
  });
});
