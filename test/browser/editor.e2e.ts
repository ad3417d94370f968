// The editor end to end, in real Chromium: a pipeline built by dragging operators from the palette and wiring
// them, an incompatible connection refused, a param set, a run drawn in the display pane, a slider re-tune that
// re-runs only the changed cone, an edge tap, save, reload, the saved document run by `emflow run`, and Stop.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateShm } from './launch.mjs';
import {
  connect,
  displayPixels,
  documentOf,
  dragOperator,
  edges,
  graphOf,
  handle,
  lastDisplayAt,
  moveSlider,
  node,
  openFromList,
  screenshot,
  screenshotOnFailure,
  setParam,
  states,
  startEditor,
  waitForPalette,
  waitForStates,
  runWithCli,
  type Editor,
  type PipelineDoc,
  type Pixels,
} from './editor.js';

describe('the editor in Chromium', () => {
  let editor: Editor;
  let page: Page;
  const ids = { source: '', blur: '', view: '', stats: '' };
  let firstRun: Pixels;
  const SAVED = 'browser-e2e';

  beforeAll(async () => {
    editor = await startEditor();
    page = await editor.open();
    await waitForPalette(page);
  });

  afterAll(async () => {
    await editor?.close();
  });
  screenshotOnFailure(() => page);

  it('builds synthetic → gaussian-blur → image-view by dragging from the palette and wiring the handles', async () => {
    ids.source = await dragOperator(page, 'synthetic');
    ids.blur = await dragOperator(page, 'gaussian-blur', { beside: ids.source, side: 'right' });
    ids.view = await dragOperator(page, 'image-view', { beside: ids.blur, side: 'right' });
    ids.stats = await dragOperator(page, 'stats', { beside: ids.blur, side: 'below' });
    // node ids given by the palette: the operator's name
    expect(ids).toEqual({ source: 'synthetic', blur: 'gaussian-blur', view: 'image-view', stats: 'stats' });

    await connect(page, { node: ids.source, port: 'image' }, { node: ids.blur, port: 'image' });
    await expect.poll(async () => graphOf(await documentOf(page)).edges, { timeout: 10_000 }).toEqual(['synthetic.image->gaussian-blur.image']);
    await connect(page, { node: ids.blur, port: 'image' }, { node: ids.stats, port: 'image' });
    await expect.poll(async () => (await documentOf(page)).edges.length, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => edges(page).count()).toBe(2);
  });

  it('refuses an incompatible connection (stats json → image-view image2d) and accepts the compatible one', async () => {
    // json into an image2d input: the engine's rule says no, so the editor must not create the edge
    await connect(page, { node: ids.stats, port: 'stats' }, { node: ids.view, port: 'image' }, async () => {
      // the editor says why while the pointer is over the input
      await page.locator('[data-testid=connection-error]').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await page.locator('[data-testid=connection-error]').innerText()).toMatch(/json/);
    });
    // then a compatible one into the same input: once it is there, the refused one has had every chance to appear
    await connect(page, { node: ids.blur, port: 'image' }, { node: ids.view, port: 'image' });
    await expect.poll(async () => (await documentOf(page)).edges.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(graphOf(await documentOf(page)).edges).toEqual(['gaussian-blur.image->image-view.image', 'gaussian-blur.image->stats.image', 'synthetic.image->gaussian-blur.image']);
    await expect.poll(() => edges(page).count()).toBe(3);
  });

  it('sets params in their number fields', async () => {
    await setParam(page, ids.source, 'width', 256);
    await setParam(page, ids.source, 'height', 192);
    await setParam(page, ids.blur, 'sigma', 1);
    await expect
      .poll(async () => {
        const document = await documentOf(page);
        const params = (id: string) => document.nodes.find((n) => n.id === id)?.params ?? {};
        return { width: params(ids.source).width, height: params(ids.source).height, sigma: params(ids.blur).sigma };
      })
      .toEqual({ width: 256, height: 192, sigma: 1 });
  });

  it('runs: every node done, the image drawn in the display pane (pixels not blank)', async () => {
    await expect.poll(() => page.locator('[data-testid=problem]').allInnerTexts(), { timeout: 15_000 }).toEqual([]);
    await page.locator('[data-testid=run]').click();
    await waitForStates(page, { [ids.source]: 'done', [ids.blur]: 'done', [ids.view]: 'done', [ids.stats]: 'done' });
    // the leak check at the end has session directories to look for
    expect(editor.sessionDirs.size).toBeGreaterThan(0);
    await expect.poll(() => lastDisplayAt(page, ids.view), { timeout: 60_000, message: 'window.__emflow.lastDisplayAt of the image-view pane' }).toBeGreaterThan(0);
    await expect.poll(async () => (await displayPixels(page, ids.view)).distinct, { timeout: 30_000, message: 'distinct colours on the display canvas' }).toBeGreaterThan(16);
    firstRun = await displayPixels(page, ids.view);
    expect(firstRun.width * firstRun.height).toBeGreaterThan(0);
    await screenshot(page, 'editor-after-run');
  });

  it('taps an edge: the peek shows the frame on synthetic.image (float32, 192 × 256)', async () => {
    // the midpoint of the handles is on the edge's curve (a bezier symmetric about it)
    const a = (await handle(page, ids.source, 'image', 'source').boundingBox())!;
    const b = (await handle(page, ids.blur, 'image', 'target').boundingBox())!;
    await page.mouse.click((a.x + a.width / 2 + b.x + b.width / 2) / 2, (a.y + a.height / 2 + b.y + b.height / 2) / 2);
    const peek = page.locator('[data-testid=edge-peek]');
    await peek.waitFor({ state: 'visible', timeout: 15_000 });
    await expect.poll(() => peek.innerText(), { timeout: 15_000 }).toMatch(/float32[\s\S]*192 × 256/);
    await peek.locator('button').first().click();
    await expect.poll(() => peek.count()).toBe(0);
  });

  it('re-runs only the changed cone when the sigma slider moves: synthetic cached, the blur and what follows run, the pixels change', async () => {
    const drawnBefore = (await lastDisplayAt(page, ids.view))!;
    await moveSlider(page, ids.blur, 'sigma', 6);
    await expect.poll(async () => (await documentOf(page)).nodes.find((n) => n.id === ids.blur)?.params?.sigma, { timeout: 10_000 }).toBe(6);
    // `cached` belongs to the new run only: the first run left synthetic `done`
    await waitForStates(page, { [ids.source]: 'cached', [ids.blur]: 'done', [ids.view]: 'done', [ids.stats]: 'done' });
    await expect.poll(() => lastDisplayAt(page, ids.view), { timeout: 60_000, message: 'a new frame drawn after the slider moved' }).toBeGreaterThan(drawnBefore);
    await expect.poll(async () => (await displayPixels(page, ids.view)).checksum, { timeout: 30_000, message: 'canvas pixels after sigma 1 → 6' }).not.toBe(firstRun.checksum);
    const after = await displayPixels(page, ids.view);
    expect(after.distinct).toBeGreaterThan(1);
    await screenshot(page, 'editor-after-retune');
  });

  it('saves the pipeline under a new name, and the reloaded page opens the same pipeline from the Open list', async () => {
    const before = graphOf(await documentOf(page));
    await page.locator('[data-testid=save]').click();
    // a new document: the editor asks for a name
    await page.locator('[data-testid=save-name]').fill(SAVED);
    await page.locator('[data-testid=save-confirm]').click();
    const file = join(editor.folder, `${SAVED}.json`);
    await expect.poll(() => existsSync(file), { timeout: 15_000, message: `${file} written by save` }).toBe(true);
    expect(graphOf(JSON.parse(readFileSync(file, 'utf8')) as PipelineDoc)).toEqual(before);

    await page.reload();
    await waitForPalette(page);
    await openFromList(page, SAVED);
    await node(page, ids.view).waitFor({ state: 'visible', timeout: 30_000 });
    await expect.poll(async () => graphOf(await documentOf(page)), { timeout: 15_000 }).toEqual(before);
    await expect.poll(() => edges(page).count()).toBe(3);
    await screenshot(page, 'editor-reopened');
  });

  it('the saved document runs unchanged with `emflow run FILE`', () => {
    const shm = privateShm();
    try {
      const result = runWithCli(join(editor.folder, `${SAVED}.json`), shm);
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(readdirSync(shm)).toEqual([]);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('stops a long run with Stop: no node left running, the run reported stopped', async () => {
    await setParam(page, ids.source, 'count', 400);
    await setParam(page, ids.source, 'width', 2048);
    await setParam(page, ids.source, 'height', 2048);
    await expect.poll(() => page.locator('[data-testid=run]').isEnabled(), { timeout: 30_000, message: 'the Run button enabled' }).toBe(true);
    await page.locator('[data-testid=run]').click();
    await expect.poll(async () => Object.values(await states(page)), { timeout: 60_000, message: 'a node running' }).toContain('running');
    await page.locator('[data-testid=stop]').click();
    await expect.poll(() => page.locator('[data-testid=run-status]').innerText(), { timeout: 30_000 }).toMatch(/stopped/);
    await expect.poll(async () => Object.values(await states(page)).filter((s) => s === 'running' || s === 'queued'), { timeout: 30_000 }).toEqual([]);
    expect(await page.locator('[data-testid=run]').isEnabled()).toBe(true);
  });
});
