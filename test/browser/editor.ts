// The browser tests' harness: `emflow serve` on a scratch folder (sessions in a private folder on /dev/shm),
// Debian's Chromium driven by playwright-core, and the editor's stable hooks (data-testid, data-state,
// window.__emflow). Teardown stops the server with SIGINT, expects exit 0 and checks that no session directory
// and no operator process is left.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterEach, expect } from 'vitest';
import { expectNoLeaks } from '../helpers.js';
import { cli, launchChromium, privateShm, root, startServer, stopServer, type Server } from './launch.mjs';

export { root, cli };

/** Where screenshots go (gitignored: /test-results/). */
export const ARTEFACTS = join(root, 'test-results/browser');

export interface EditorOptions {
  /** example pipelines (file names in pipelines/) copied into the served folder */
  examples?: string[];
  /** documents written into the served folder as NAME.json */
  documents?: Record<string, object>;
  /** serve this file of the folder (`emflow serve FOLDER/FILE`) instead of the folder */
  file?: string;
  /** more arguments of `emflow serve` (--token …) */
  args?: string[];
}

export interface Editor {
  server: Server;
  browser: Browser;
  context: BrowserContext;
  /** the served folder (a scratch copy) */
  folder: string;
  /** EMFLOW_SHM_DIR of the server */
  shm: string;
  /** every session directory seen under `shm` while the server ran */
  sessionDirs: Set<string>;
  /** console errors and uncaught exceptions of every page, for failure messages */
  pageErrors: string[];
  /** a new tab at `url` (default: the URL the server printed) */
  open(url?: string): Promise<Page>;
  /** close the browser, SIGINT the server (exit 0 expected), check for leaks; throws what went wrong */
  close(): Promise<void>;
}

export async function startEditor(options: EditorOptions = {}): Promise<Editor> {
  const folder = mkdtempSync(join(tmpdir(), 'emflow-browser-'));
  mkdirSync(join(folder, 'out'));
  for (const name of options.examples ?? []) copyFileSync(join(root, 'pipelines', name), join(folder, name));
  for (const [name, document] of Object.entries(options.documents ?? {})) writeFileSync(join(folder, `${name}.json`), JSON.stringify(document, null, 2));
  const shm = privateShm();
  const sessionDirs = new Set<string>();
  const watch = setInterval(() => {
    for (const entry of readdirSync(shm, { withFileTypes: true })) if (entry.isDirectory()) sessionDirs.add(join(shm, entry.name));
  }, 100);
  const target = options.file ? join(folder, options.file) : folder;
  let server: Server | undefined;
  let browser: Browser | undefined;
  try {
    server = await startServer({ target, shm, args: ['--data', folder, '--output', join(folder, 'out'), ...(options.args ?? [])] });
    browser = await launchChromium();
  } catch (error) {
    clearInterval(watch);
    await browser?.close().catch(() => undefined);
    if (server) await stopServer(server).catch(() => undefined);
    rmSync(shm, { recursive: true, force: true });
    throw error;
  }
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const pageErrors: string[] = [];
  const editor: Editor = {
    server,
    browser,
    context,
    folder,
    shm,
    sessionDirs,
    pageErrors,
    async open(url = editor.server.url) {
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => pageErrors.push(`page error: ${error.message}`));
      await page.goto(url);
      return page;
    },
    async close() {
      const problems: string[] = [];
      await browser!.close().catch((error: Error) => problems.push(`closing Chromium: ${error.message}`));
      try {
        const status = await stopServer(editor.server);
        if (status.code !== 0) problems.push(`emflow serve exited with code ${status.code} (signal ${status.signal}) after SIGINT, expected 0\nstderr: ${editor.server.stderr.trim()}`);
      } catch (error) {
        problems.push((error as Error).message);
      }
      clearInterval(watch);
      for (const dir of sessionDirs) {
        await expectNoLeaks(dir).catch((error: Error) => problems.push(error.message));
      }
      const left = readdirSync(shm);
      if (left.length) problems.push(`left in ${shm} after the server exited: ${left.join(', ')}`);
      rmSync(shm, { recursive: true, force: true });
      if (problems.length) throw new Error(problems.join('\n'));
    },
  };
  return editor;
}

// ---- the editor's stable hooks ----------------------------------------------------------------------------------

/** What the page's `window` offers the tests (no DOM lib in the tests' type-check: only what is used here). */
interface PageGlobals {
  __emflow?: { document(): PipelineDoc; lastDisplayAt: Record<string, number | undefined> };
  document: { createElement(tag: 'canvas'): CanvasLike };
}
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { drawImage(source: CanvasLike, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

export interface PipelineDoc {
  emflow: 1;
  name?: string;
  nodes: { id: string; operator: string; params?: Record<string, unknown>; position?: { x: number; y: number } }[];
  edges: { from: { node: string; port: string }; to: { node: string; port: string } }[];
}

/** What a pipeline is, without the editor's layout: nodes (id, operator, params) and edges, in a stable order. */
export function graphOf(document: PipelineDoc) {
  return {
    nodes: document.nodes.map((n) => ({ id: n.id, operator: n.operator, params: n.params ?? {} })).sort((a, b) => a.id.localeCompare(b.id)),
    edges: document.edges.map((e) => `${e.from.node}.${e.from.port}->${e.to.node}.${e.to.port}`).sort(),
  };
}

export const node = (page: Page, id: string) => page.locator(`.vue-flow__node[data-id="${id}"]`);
export const nodeState = (page: Page, id: string) => node(page, id).getAttribute('data-state');
export const edges = (page: Page) => page.locator('.vue-flow__edge');

/** window.__emflow.document(): the pipeline document the editor holds. */
export function documentOf(page: Page): Promise<PipelineDoc> {
  return page.evaluate(() => {
    const emflow = (globalThis as unknown as PageGlobals).__emflow;
    if (!emflow) throw new Error('window.__emflow is not defined');
    return JSON.parse(JSON.stringify(emflow.document())) as PipelineDoc;
  });
}

/** window.__emflow.lastDisplayAt[node] (undefined before the pane drew a frame). */
export function lastDisplayAt(page: Page, id: string): Promise<number | undefined> {
  return page.evaluate((id) => (globalThis as unknown as PageGlobals).__emflow?.lastDisplayAt[id], id);
}

/** The editor loaded: the palette lists operators. */
export async function waitForPalette(page: Page): Promise<void> {
  try {
    await page.locator('[data-testid=palette-item]').first().waitFor({ state: 'visible', timeout: 60_000 });
  } catch (error) {
    const body = await page.locator('body').innerText().catch(() => '?');
    throw new Error(`${(error as Error).message}\npage text: ${body.slice(0, 600)}`);
  }
}

/** Where to drop an operator: beside a node already on the canvas, or (the first one) at the left of the pane. */
export type Placement = { beside: string; side: 'right' | 'below' } | undefined;

/**
 * Drags an operator from the palette onto `.vue-flow__pane` (HTML5 drag, as Playwright does it) and resolves with
 * the id of the node it created. Beside a node: a node's width (or height) away from it, on screen; the view is
 * zoomed out with the mouse wheel first when nodes are drawn large or the spot is outside the pane.
 */
export async function dragOperator(page: Page, operator: string, place?: Placement): Promise<string> {
  const before = new Set((await documentOf(page)).nodes.map((n) => n.id));
  const pane = page.locator('.vue-flow__pane');
  const paneBox = (await pane.boundingBox())!;
  let at = { x: paneBox.width * 0.2, y: paneBox.height * 0.3 };
  if (place) {
    for (let attempt = 0; ; attempt++) {
      const anchor = (await node(page, place.beside).boundingBox())!;
      const spot =
        place.side === 'right'
          ? { x: anchor.x + anchor.width * 2.5, y: anchor.y + anchor.height / 2 }
          : { x: anchor.x + anchor.width / 2, y: anchor.y + anchor.height * 2.5 };
      const margin = 40;
      const inside = spot.x > paneBox.x + margin && spot.x < paneBox.x + paneBox.width - margin && spot.y > paneBox.y + margin && spot.y < paneBox.y + paneBox.height - margin;
      if (inside && anchor.width <= 240) {
        at = { x: spot.x - paneBox.x, y: spot.y - paneBox.y };
        break;
      }
      if (attempt === 12) throw new Error(`no room beside ${place.beside} for ${operator} after zooming out (node at ${JSON.stringify(anchor)}, pane ${JSON.stringify(paneBox)})`);
      await zoomOut(page, { x: paneBox.x + paneBox.width * 0.15, y: paneBox.y + paneBox.height * 0.15 }, place.beside);
    }
  }
  await page.locator(`[data-testid=palette-item][data-operator="${operator}"]`).dragTo(pane, { targetPosition: at });
  let created: string | undefined;
  await expect
    .poll(
      async () => {
        created = (await documentOf(page)).nodes.find((n) => !before.has(n.id) && n.operator === operator)?.id;
        return created;
      },
      { timeout: 15_000, message: `a node of ${operator} after dropping it from the palette` },
    )
    .toBeDefined();
  await node(page, created!).waitFor({ state: 'visible' });
  await settled(node(page, created!));
  return created!;
}

/** Waits until an element stays where it is (the view may still be fitting itself after a change). */
export async function settled(locator: Locator): Promise<void> {
  let last = '';
  let same = 0;
  await expect
    .poll(
      async () => {
        const box = JSON.stringify(await locator.boundingBox());
        same = box === last ? same + 1 : 0;
        last = box;
        return same;
      },
      { timeout: 15_000, interval: 150, message: `${locator} to stop moving` },
    )
    .toBeGreaterThanOrEqual(2);
}

/** One notch of the mouse wheel out, at `point`; waits until node `watched` is drawn smaller. */
async function zoomOut(page: Page, point: { x: number; y: number }, watched: string): Promise<void> {
  const width = (await node(page, watched).boundingBox())!.width;
  await page.mouse.move(point.x, point.y);
  await page.mouse.wheel(0, 250);
  await expect.poll(async () => (await node(page, watched).boundingBox())!.width, { timeout: 5_000, message: 'the view zoomed out by the mouse wheel' }).toBeLessThan(width);
}

export const handle = (page: Page, id: string, port: string, side: 'source' | 'target') => node(page, id).locator(`.vue-flow__handle.${side}[data-handleid="${port}"]`);

/**
 * Drags from the output handle `from` to the input handle `to` with the mouse, in steps; `hovering` runs while
 * the pointer is over the target, before the button is released.
 */
export async function connect(page: Page, from: { node: string; port: string }, to: { node: string; port: string }, hovering?: () => Promise<void>): Promise<void> {
  const source = handle(page, from.node, from.port, 'source');
  const target = handle(page, to.node, to.port, 'target');
  const a = await centre(source);
  const b = await centre(target);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(a.x + (b.x - a.x) / 4, a.y + (b.y - a.y) / 4, { steps: 5 });
  await page.mouse.move(b.x, b.y, { steps: 15 });
  try {
    await hovering?.();
  } finally {
    await page.mouse.up();
  }
}

async function centre(locator: Locator): Promise<{ x: number; y: number }> {
  await locator.waitFor({ state: 'visible' });
  const box = await locator.boundingBox();
  if (!box) throw new Error(`${locator} has no bounding box`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** The number field of a param (selecting the node first, so that an inspector shows its fields). */
export async function paramField(page: Page, id: string, name: string, suffix = ''): Promise<Locator> {
  const testid = `param-${name}${suffix}`;
  const inside = node(page, id).locator(`[data-testid="${testid}"]`);
  if (await inside.count()) return inside.first();
  await node(page, id).click();
  const field = page.locator(`[data-testid="${testid}"]`).first();
  await field.waitFor({ state: 'visible', timeout: 15_000 });
  return field;
}

/** Types a value into a param's number field and commits it (Enter, then leaving the field). */
export async function setParam(page: Page, id: string, name: string, value: number): Promise<void> {
  const field = await paramField(page, id, name);
  await field.fill(String(value));
  await field.press('Enter');
  await field.blur();
}

/** Moves a param's range input to `value` as a user's drag does: the value changes, `input` events, then `change`. */
export async function moveSlider(page: Page, id: string, name: string, value: number): Promise<void> {
  const slider = await paramField(page, id, name, '-slider');
  await slider.evaluate((element, value) => {
    const input = element as unknown as { value: string; dispatchEvent(event: unknown): boolean };
    const Event = (globalThis as unknown as { Event: new (type: string, init: { bubbles: boolean }) => unknown }).Event;
    input.value = String(value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

/** Opens a pipeline of the served folder through the toolbar's Open list; resolves once the editor shows it. */
export async function openFromList(page: Page, name: string): Promise<void> {
  await page.locator('[data-testid=open]').click();
  const fetched = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/pipelines/${encodeURIComponent(name)}` && r.request().method() === 'GET', { timeout: 30_000 });
  await page.locator(`[data-testid=pipeline-item][data-name="${name}"]`).click({ timeout: 30_000 });
  const response = await fetched;
  expect(response.status(), `GET /api/pipelines/${name}`).toBe(200);
  const ids = ((await response.json()) as PipelineDoc).nodes.map((n) => n.id).sort();
  await expect.poll(async () => (await documentOf(page)).nodes.map((n) => n.id).sort(), { timeout: 30_000, message: `the nodes of ${name} after opening it` }).toEqual(ids);
}

/** Every node's data-state. */
export async function states(page: Page): Promise<Record<string, string | null>> {
  const all = page.locator('.vue-flow__node');
  const result: Record<string, string | null> = {};
  for (const element of await all.all()) result[(await element.getAttribute('data-id')) ?? '?'] = await element.getAttribute('data-state');
  return result;
}

/** Waits until every node named is in one of the states given for it. */
export async function waitForStates(page: Page, expected: Record<string, string | string[]>, timeout = 180_000): Promise<void> {
  const wanted = Object.fromEntries(Object.entries(expected).map(([id, s]) => [id, Array.isArray(s) ? s : [s]]));
  await expect
    .poll(
      async () => {
        const now = await states(page);
        const failed = Object.entries(now).find(([, s]) => s === 'failed');
        if (failed && !wanted[failed[0]]?.includes('failed')) throw new Error(`node ${failed[0]} failed; states ${JSON.stringify(now)}; problems: ${await problemsText(page)}; logs: ${await logsText(page)}`);
        return Object.entries(wanted).every(([id, allowed]) => allowed.includes(now[id] ?? 'missing')) ? 'reached' : now;
      },
      { timeout, interval: 250, message: `node states ${JSON.stringify(expected)}` },
    )
    .toBe('reached');
}

export const problemsText = async (page: Page) => (await page.locator('[data-testid=problem]').allInnerTexts()).join(' | ') || '(none)';
export const logsText = async (page: Page) => ((await page.locator('[data-testid=logs]').count()) ? (await page.locator('[data-testid=logs]').innerText()).slice(-2000) : '(no logs pane)');

export interface Pixels {
  width: number;
  height: number;
  /** number of distinct RGBA values */
  distinct: number;
  /** FNV-1a hash of the RGBA bytes */
  checksum: number;
  /** mean of the R, G and B bytes */
  mean: number;
}

/** The pixels of the canvas in a display pane, as drawn (read back through a 2-D canvas, whatever drew it). */
export async function displayPixels(page: Page, id: string): Promise<Pixels> {
  const canvas = page.locator(`[data-testid="display-${id}"] canvas`).first();
  await canvas.waitFor({ state: 'attached', timeout: 30_000 });
  return canvas.evaluate((element) => {
    const source = element as unknown as CanvasLike;
    const { width, height } = source;
    if (!width || !height) return { width, height, distinct: 0, checksum: 0, mean: 0 };
    const copy = (globalThis as unknown as PageGlobals).document.createElement('canvas');
    copy.width = width;
    copy.height = height;
    const context = copy.getContext('2d')!;
    context.drawImage(source, 0, 0);
    const { data } = context.getImageData(0, 0, width, height);
    const seen = new Set<number>();
    let hash = 0x811c9dc5;
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) {
      seen.add((data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3]);
      sum += data[i] + data[i + 1] + data[i + 2];
      for (let k = 0; k < 4; k++) hash = Math.imul(hash ^ data[i + k], 0x01000193) >>> 0;
    }
    return { width, height, distinct: seen.size, checksum: hash, mean: sum / ((data.length / 4) * 3) };
  });
}

/** A full-page screenshot as a test artefact: test-results/browser/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTEFACTS, { recursive: true });
  const path = join(ARTEFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Registers an afterEach that screenshots the page when the test failed: test-results/browser/failed-NAME.png. */
export function screenshotOnFailure(page: () => Page | undefined): void {
  afterEach(async (context) => {
    const current = page();
    if (!current || current.isClosed() || !context.task.result?.errors?.length) return;
    const name = context.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
    await screenshot(current, `failed-${name}`).catch(() => undefined);
  });
}

/** `emflow run FILE` as a user runs it, its sessions under `shm`. */
export function runWithCli(file: string, shm: string) {
  const result = spawnSync(process.execPath, [cli, 'run', file], { cwd: root, encoding: 'utf8', timeout: 180_000, env: { ...process.env, EMFLOW_SHM_DIR: shm } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
