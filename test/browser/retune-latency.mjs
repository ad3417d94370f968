#!/usr/bin/env node
// Editor re-tune latency: synthetic (SIZE×SIZE) → gaussian-blur → image-view served by `emflow serve`, opened
// headless in Chromium, run once; then the sigma slider moves MOVES times, and the page measures each move from
// performance.now() at its input event to the image-view pane's next drawn frame (window.__emflow.lastDisplayAt).
// The blur's own compute time for that sigma (its kernel timed here, warm, on the same image size) is
// subtracted: what is left is the editor's overhead (params → engine, the display operator, frame transport,
// decimation, websocket, drawing). Prints JSON: median and p90 in ms.
//
//   node test/browser/retune-latency.mjs [--moves 10] [--size 2048]
//
// `measureRetuneLatency(options)` is the same as a function (for `emflow bench --editor`).
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { launchChromium, privateShm, root, startServer, stopServer } from './launch.mjs';

/* global Event, requestAnimationFrame -- used in the page (page.evaluate) */

const SOURCE = 'synthetic';
const BLUR = 'gaussian-blur';
const VIEW = 'image-view';

const median = (values) => quantile(values, 0.5);
function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (position - low);
}
const round = (ms) => Math.round(ms * 10) / 10;
const summary = (values) => ({ median: round(median(values)), p90: round(quantile(values, 0.9)) });

/** The time a node's badge shows ("done · 45 ms · 1 fr", "done · 1.2 s"), from node.state: undefined when absent. */
function badgeMs(text) {
  const match = /([\d.]+)\s*(ms|s)\b/.exec(text ?? '');
  return match ? Number(match[1]) * (match[2] === 's' ? 1000 : 1) : undefined;
}

/** The blur kernel alone, warm, on a size×size float32 image: ms per sigma. */
async function blurTimes(size, sigmas) {
  const { gaussianFilter2d } = await import(pathToFileURL(join(root, 'operators/gaussian-blur/dist/blur.js')).href);
  const image = new Float32Array(size * size);
  for (let i = 0; i < image.length; i++) image[i] = Math.sin(i * 12.9898) * 43758.5453 % 1;
  const out = new Float32Array(size * size);
  gaussianFilter2d(image, size, size, sigmas[0], out); // warm-up
  return sigmas.map((sigma) => {
    const start = performance.now();
    gaussianFilter2d(image, size, size, sigma, out);
    return performance.now() - start;
  });
}

export async function measureRetuneLatency({ moves = 10, size = 2048, log = () => undefined } = {}) {
  const folder = mkdtempSync(join(tmpdir(), 'emflow-retune-'));
  const file = join(folder, 'retune.json');
  writeFileSync(
    file,
    JSON.stringify({
      emflow: 1,
      name: 'retune latency',
      nodes: [
        { id: SOURCE, operator: 'synthetic', params: { pattern: 'noise', width: size, height: size }, position: { x: 0, y: 0 } },
        { id: BLUR, operator: 'gaussian-blur', params: { sigma: 1 }, position: { x: 300, y: 0 } },
        { id: VIEW, operator: 'image-view', params: {}, position: { x: 600, y: 0 } },
      ],
      edges: [
        { from: { node: SOURCE, port: 'image' }, to: { node: BLUR, port: 'image' } },
        { from: { node: BLUR, port: 'image' }, to: { node: VIEW, port: 'image' } },
      ],
    }),
  );
  // distinct values, so that no move is answered from the cache
  const sigmas = Array.from({ length: moves }, (_, i) => 1.5 + 0.5 * i);
  const shm = privateShm();
  const server = await startServer({ target: file, shm, args: ['--data', folder, '--output', folder] });
  let browser;
  let cleanup;
  const totals = [];
  /** the engine's own times of the blur and the display operator per move, as the nodes show them (when they do) */
  const reported = { blur: [], view: [] };
  try {
    browser = await launchChromium();
    const page = await (await browser.newContext({ viewport: { width: 1600, height: 1000 } })).newPage();
    await page.goto(server.url);
    const state = (id) => page.locator(`.vue-flow__node[data-id="${id}"]`).getAttribute('data-state');
    const until = async (what, condition, timeoutMs = 180_000) => {
      const end = Date.now() + timeoutMs;
      while (!(await condition())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await page.locator(`.vue-flow__node[data-id="${VIEW}"]`).waitFor({ state: 'visible', timeout: 60_000 });
    log('first run');
    await page.locator('[data-testid=run]').click();
    await until('the first run', async () => (await state(VIEW)) === 'done' && (await page.evaluate((id) => globalThis.__emflow.lastDisplayAt[id] > 0, VIEW)));
    // the slider is in the blur node or in the inspector of the selected node
    const inNode = page.locator(`.vue-flow__node[data-id="${BLUR}"] [data-testid=param-sigma-slider]`);
    if (!(await inNode.count())) await page.locator(`.vue-flow__node[data-id="${BLUR}"]`).click();
    const slider = (await inNode.count()) ? inNode.first() : page.locator('[data-testid=param-sigma-slider]').first();
    await slider.waitFor({ state: 'attached', timeout: 15_000 });
    for (const sigma of sigmas) {
      const ms = await slider.evaluate(
        (element, { sigma, view }) =>
          new Promise((resolve, reject) => {
            const emflow = globalThis.__emflow;
            const before = emflow.lastDisplayAt[view];
            const timeout = setTimeout(() => reject(new Error(`no frame drawn within 120 s of sigma ${sigma}`)), 120_000);
            element.value = String(sigma);
            const start = performance.now();
            element.dispatchEvent(new Event('input', { bubbles: true }));
            element.dispatchEvent(new Event('change', { bubbles: true }));
            const check = () => {
              const drawn = emflow.lastDisplayAt[view];
              if (drawn !== before && drawn > start) {
                clearTimeout(timeout);
                resolve(drawn - start);
              } else requestAnimationFrame(check);
            };
            check();
          }),
        { sigma, view: VIEW },
      );
      totals.push(ms);
      log(`sigma ${sigma}: ${round(ms)} ms`);
      // the run is over before the next move (no move lands in a pass still going)
      await until('the re-run to end', async () => (await state(SOURCE)) === 'cached' && (await state(BLUR)) === 'done' && (await state(VIEW)) === 'done');
      for (const [key, id] of [['blur', BLUR], ['view', VIEW]]) {
        const badge = page.locator(`.vue-flow__node[data-id="${id}"] [data-testid=node-badge]`);
        const ms = (await badge.count()) ? badgeMs(await badge.innerText()) : undefined;
        if (ms !== undefined) reported[key].push(ms);
      }
    }
  } finally {
    await browser?.close().catch(() => undefined);
    const status = await stopServer(server).catch((error) => ({ code: error.message }));
    const left = readdirSync(shm);
    rmSync(shm, { recursive: true, force: true });
    rmSync(folder, { recursive: true, force: true });
    if (status.code !== 0) cleanup = `emflow serve exited with ${status.code} after SIGINT: ${server.stderr.trim()}`;
    else if (left.length) cleanup = `emflow serve left ${left.join(', ')} in shared memory`;
  }
  if (cleanup) throw new Error(cleanup);
  // timed after the server is gone, so that nothing else competes for the cores
  const blur = await blurTimes(size, sigmas);
  const overhead = totals.map((total, i) => total - blur[i]);
  return {
    size,
    moves,
    /** input event → frame drawn, minus the blur kernel's time for that sigma */
    overheadMs: summary(overhead),
    totalMs: summary(totals),
    /** the blur kernel alone, timed here */
    blurMs: summary(blur),
    /** as the engine reported them to the editor (node.state ms), when the nodes show them */
    engineMs: {
      blur: reported.blur.length ? summary(reported.blur) : null,
      imageView: reported.view.length ? summary(reported.view) : null,
    },
    samples: totals.map((total, i) => ({ sigma: sigmas[i], totalMs: round(total), blurMs: round(blur[i]) })),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { moves: { type: 'string', default: '10' }, size: { type: 'string', default: '2048' }, quiet: { type: 'boolean', default: false } } });
  const result = await measureRetuneLatency({
    moves: Number(values.moves),
    size: Number(values.size),
    log: values.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
