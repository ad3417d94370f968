// image-view in a real session (process runtime) and from the CLI: its frame reaches onFrame with the display
// metadata, `emflow run --out` writes the view as .npy, and a params problem fails the run naming the params.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FrameEvent } from '@emflow/engine';
import type { NDArray } from '@emflow/sdk';
import { firstDifference, pipeline, pythonJson, readWithNumpy, root } from '../../../test/helpers.js';
import { sessionOpener } from '../../../test/sessions.js';

const open = sessionOpener();
const tiff = join(root, 'data/tomviz-sample.tiff');
const [reference] = pythonJson<{ view: string; percentiles: { min: number; max: number }[] }[]>(
  join(root, 'operators/image-view/test/fixtures/display_reference.py'),
  tiff,
  '0',
  '2:98',
);
const bytes = Buffer.from(reference.view, 'base64');
const expectedView = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const document = pipeline(
  [
    { id: 'read', operator: 'tiff-reader', params: { path: tiff } },
    { id: 'view', operator: 'image-view', params: { colormap: 'magma', low: 2, high: 98 } },
  ],
  ['read.image->view.image'],
);

const scratch = mkdtempSync(join(tmpdir(), 'image-view-run-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('image-view in a pipeline', () => {
  it('hands its terminal frame to onFrame: the float32 view with displayMin, displayMax, colormap and the input metadata', async () => {
    const session = await open(document);
    const events: FrameEvent[] = [];
    await session.run({ onFrame: (event) => void events.push(event) });
    expect(events.map(({ node, port, index }) => [node, port, index])).toEqual([['view', 'view', 0]]);
    const frame = events[0].frame as NDArray;
    expect([frame.dtype, frame.shape]).toEqual(['float32', [401, 401]]);
    expect(firstDifference(frame.data, expectedView)).toBeUndefined();
    expect(frame.meta).toMatchObject({
      displayMin: reference.percentiles[0].min,
      displayMax: reference.percentiles[0].max,
      colormap: 'magma',
      contrast: 'percentile',
      source: tiff,
      frame: 0,
    });

    session.setParams('view', { contrast: 'manual', min: 10, max: 5 });
    await expect(session.run()).rejects.toThrow("image-view: contrast 'manual' needs min < max (min 10, max 5)");
  });

  it('emflow run --out writes the view as float32 .npy', () => {
    const file = join(scratch, 'view.json');
    writeFileSync(file, JSON.stringify(document));
    const out = join(scratch, 'out');
    const result = spawnSync(process.execPath, [join(root, 'engine/dist/cli/main.js'), 'run', file, '--out', out], { encoding: 'utf8', timeout: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    const [npy] = readWithNumpy(join(out, 'view.view.0.npy'));
    expect([npy.dtype, npy.shape]).toEqual(['float32', [401, 401]]);
    expect(firstDifference(npy.values, expectedView)).toBeUndefined();
  });
});
