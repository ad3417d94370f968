// `emflow report RUN_DIR` opened from disk (file://) in real Chromium: no request leaves the page (uPlot, data and
// script are inline), every plot is drawn on its canvas, and each plot has one point per frame (per table row).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot, screenshotOnFailure } from './editor.js';
import { cli, launchChromium, root } from './launch.mjs';

interface Drawn {
  id: string;
  source: string;
  title: string;
  points: number;
}

function emflow(...args: string[]): void {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0) throw new Error(`emflow ${args.join(' ')} exited ${result.status}\n${result.stderr}`);
}

/** A run folder of `pipeline` with its report written by `emflow report`. */
function reported(pipeline: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'emflow-report-e2e-'));
  emflow('run', pipeline, '--out', dir);
  emflow('report', dir);
  return dir;
}

/** Opens the report from disk; returns the page, what it drew, and every URL it requested. */
async function open(browser: Browser, dir: string): Promise<{ page: Page; drawn: Drawn[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(join(dir, 'emflow-report.html')).href, { waitUntil: 'load' });
  await page.waitForFunction(() => (globalThis as unknown as { emflowReport?: unknown }).emflowReport !== undefined, undefined, { timeout: 30_000 });
  const drawn = await page.evaluate(() => (globalThis as unknown as { emflowReport: { plots: Drawn[] } }).emflowReport.plots);
  return { page, drawn, requests };
}

/** Pixels of each plot's canvas in the series colour (#0969da): a drawn line and points have many. */
function seriesPixels(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const counts: Record<string, number> = {};
    const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ id: string; querySelector(s: string): unknown }> } }).document;
    for (const box of Array.from(doc.querySelectorAll('.plot'))) {
      const canvas = box.querySelector('canvas') as { width: number; height: number; getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } } | null;
      if (!canvas) continue;
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 200 && Math.abs(data[i] - 9) < 40 && Math.abs(data[i + 1] - 105) < 40 && Math.abs(data[i + 2] - 218) < 40) n++;
      counts[box.id.replace(/^plot-/, '')] = n;
    }
    return counts;
  });
}

describe('emflow report in Chromium', () => {
  let browser: Browser;
  let page: Page | undefined;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  screenshotOnFailure(() => page);

  it('a stream of JSON statistics: one plot per number, one point per frame, drawn, no network request', async () => {
    const dir = reported('pipelines/micrograph-stream.json');
    const record = JSON.parse(readFileSync(join(dir, 'emflow-run.json'), 'utf8')) as { nodes: { id: string; frames: number }[]; inputs: { path: string; sha256: string }[] };
    const frames = record.nodes.find((n) => n.id === 'stats')!.frames;
    expect(frames).toBe(6);
    const opened = await open(browser, dir);
    page = opened.page;

    expect(opened.requests.length).toBeGreaterThan(0);
    expect(opened.requests.filter((url) => !url.startsWith('file:') && !url.startsWith('data:'))).toEqual([]);

    expect(opened.drawn.map((p) => p.title).sort()).toEqual(['max', 'mean', 'min', 'std', 'sum'].map((n) => `stats.stats · ${n}`).sort());
    for (const plot of opened.drawn) expect(plot.points, plot.title).toBe(frames);
    // what the page's data says, independently of uPlot: x is 0..frames-1, y the values in the stats files
    const data = await page.evaluate(() => JSON.parse((globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('emflow-report-data').textContent));
    const mean = (data as { plots: { title: string; x: number[]; y: number[] }[] }).plots.find((p) => p.title === 'stats.stats · mean')!;
    expect(mean.x).toEqual([0, 1, 2, 3, 4, 5]);
    expect(mean.y).toEqual(mean.x.map((i) => (JSON.parse(readFileSync(join(dir, `stats.stats.${i}.json`), 'utf8')) as { mean: number }).mean));

    expect(await page.locator('.plot canvas').count()).toBe(opened.drawn.length);
    const pixels = await seriesPixels(page);
    for (const plot of opened.drawn) expect(pixels[plot.id], plot.title).toBeGreaterThan(50);

    // the run record: nodes, inputs with their hashes
    expect(await page.locator('#nodes tbody tr').count()).toBe(4);
    expect(await page.locator('#inputs tbody tr').count()).toBe(6);
    const hashes = await page.locator('#inputs td.hash').evaluateAll((cells) => cells.map((c) => (c as unknown as { title: string }).title));
    expect(hashes).toEqual(record.inputs.map((i) => i.sha256));
    expect(await page.locator('.status.ok').count()).toBe(1);
    await screenshot(page, 'report-micrograph-stream');
    await page.close();
  });

  it('a single frame: a plot of one point each, drawn (a range is made for it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emflow-report-e2e-'));
    emflow('run', 'pipelines/blur-stats.json', '--out', dir, '--frames', '1');
    emflow('report', dir);
    const opened = await open(browser, dir);
    page = opened.page;
    expect(opened.drawn.length).toBe(5);
    for (const plot of opened.drawn) expect(plot.points, plot.title).toBe(1);
    const pixels = await seriesPixels(page);
    for (const plot of opened.drawn) expect(pixels[plot.id], plot.title).toBeGreaterThan(5);
    await page.close();
  });

  it('a table: its numeric columns plotted with one point per row', async () => {
    const dir = reported('pipelines/lattice-peaks.json');
    const table = tableFromIPC(readFileSync(join(dir, 'peaks.peaks.0.arrow')));
    const opened = await open(browser, dir);
    page = opened.page;
    expect(opened.requests.filter((url) => !url.startsWith('file:') && !url.startsWith('data:'))).toEqual([]);
    const numeric = table.schema.fields.map((f) => f.name);
    expect(opened.drawn.map((p) => p.title).sort()).toEqual(numeric.map((n) => `peaks.peaks · ${n} (frame 0)`).sort());
    for (const plot of opened.drawn) expect(plot.points, plot.title).toBe(table.numRows);
    const pixels = await seriesPixels(page);
    for (const plot of opened.drawn) expect(pixels[plot.id], plot.title).toBeGreaterThan(50);
    await screenshot(page, 'report-lattice-peaks');
    await page.close();
  });
});
