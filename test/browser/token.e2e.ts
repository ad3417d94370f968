// The token flow: `emflow serve --token T` refuses the API (REST and websocket) without the token; the page
// opened with ?token=T works (a reload keeps it: the tab remembers the token). Requests addressed to another host name are refused (DNS rebinding).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFromList, screenshot, startEditor, waitForPalette, waitForStates, type Editor } from './editor.js';

const TOKEN = 'secret-browser-token-3f9a';

/** A GET with exactly these headers (fetch may not set Host). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** How a websocket to /api/ws from the page ends: 'open' or 'refused'. */
function websocketFromPage(page: import('playwright-core').Page, query: string) {
  return page.evaluate(
    (query) =>
      new Promise<string>((resolve) => {
        const WebSocket = (globalThis as unknown as { WebSocket: new (url: string) => { onopen: () => void; onerror: () => void; onclose: () => void; close(): void } }).WebSocket;
        const location = (globalThis as unknown as { location: { host: string } }).location;
        const socket = new WebSocket(`ws://${location.host}/api/ws${query}`);
        socket.onopen = () => {
          resolve('open');
          socket.close();
        };
        socket.onerror = () => resolve('refused');
        socket.onclose = () => resolve('refused');
      }),
    query,
  );
}

describe('emflow serve --token', () => {
  let editor: Editor;

  beforeAll(async () => {
    editor = await startEditor({ examples: ['blur-stats.json'], args: ['--token', TOKEN] });
  });

  afterAll(async () => {
    await editor?.close();
  });

  it('prints a URL that carries the token', () => {
    expect(editor.server.url).toContain(`token=${TOKEN}`);
  });

  it('refuses the API without the token, with a wrong one and from another host name; answers with it', async () => {
    const api = `${editor.server.base}api/operators`;
    expect((await get(api)).status).toBe(401);
    expect((await get(`${api}?token=wrong`)).status).toBe(401);
    expect((await get(api, { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get(`${api}?token=${TOKEN}`)).status).toBe(200);
    expect((await get(api, { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await get(`${api}?token=${TOKEN}`, { Host: `evil.example:${editor.server.port}` })).status).toBe(403);
    // the editor's code itself is public
    expect((await get(editor.server.base)).status).toBe(200);
  });

  it('a page opened without the token is refused by the API: its requests answered 401, the refusal shown, no palette, websocket closed', async () => {
    const answers: { path: string; status: number }[] = [];
    const record = (response: import('playwright-core').Response) => {
      const url = new URL(response.url());
      if (url.pathname.startsWith('/api/')) answers.push({ path: url.pathname, status: response.status() });
    };
    editor.context.on('response', record);
    try {
      const page = await editor.open(editor.server.base);
      await expect.poll(() => answers.find((a) => a.path === '/api/operators'), { timeout: 60_000, message: "the page's GET /api/operators" }).toEqual({ path: '/api/operators', status: 401 });
      // the server's one-line reason reaches the user
      await expect.poll(() => page.locator('body').innerText(), { timeout: 30_000 }).toMatch(/token/i);
      expect(await page.locator('[data-testid=palette-item]').count()).toBe(0);
      expect(answers.every((a) => a.status === 401), JSON.stringify(answers)).toBe(true);
      expect(await websocketFromPage(page, '')).toBe('refused');
      expect(await websocketFromPage(page, '?token=wrong')).toBe('refused');
      await screenshot(page, 'token-refused');
      await page.close();
    } finally {
      editor.context.off('response', record);
    }
  });

  it('the page opened with ?token= works: palette, Open list, a run over the websocket; the tab keeps the token across a reload', async () => {
    const page = await editor.open(`${editor.server.base}?token=${TOKEN}`);
    await waitForPalette(page);
    expect(await websocketFromPage(page, `?token=${TOKEN}`)).toBe('open');
    await openFromList(page, 'blur-stats');
    await expect.poll(() => page.locator('[data-testid=run]').isEnabled(), { timeout: 30_000, message: 'the Run button enabled' }).toBe(true);
    await page.locator('[data-testid=run]').click();
    await waitForStates(page, { src: 'done', blur: 'done', scale: 'done', stats: 'done' });
    await page.goto(editor.server.base);
    await waitForPalette(page);
    await page.close();
  });
});
