// Example pipelines of pipelines/ opened in the editor from the Open list and run: every node done.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentOf, edges, graphOf, openFromList, root, screenshot, screenshotOnFailure, startEditor, states, waitForPalette, waitForStates, type Editor, type PipelineDoc } from './editor.js';

const EXAMPLES = ['lattice-branches', 'blur-stats'];

describe('example pipelines in the editor', () => {
  let editor: Editor;
  let page: Page;

  beforeAll(async () => {
    editor = await startEditor({ examples: EXAMPLES.map((name) => `${name}.json`) });
    page = await editor.open();
    await waitForPalette(page);
  });

  afterAll(async () => {
    await editor?.close();
  });
  screenshotOnFailure(() => page);

  it('lists the examples of the served folder in the Open list', async () => {
    await page.locator('[data-testid=open]').click();
    const items = page.locator('[data-testid=pipeline-item]');
    await items.first().waitFor({ timeout: 30_000 });
    expect((await items.evaluateAll((all) => all.map((e) => (e as unknown as { dataset: { name: string } }).dataset.name))).sort()).toEqual([...EXAMPLES].sort());
    // choosing one closes the list
    await items.first().click();
    await expect.poll(() => page.locator('[data-testid=open-dialog]').count()).toBe(0);
  });

  for (const name of EXAMPLES) {
    it(`opens ${name} from the Open list and runs it: every node done`, async () => {
      const file = JSON.parse(readFileSync(join(root, 'pipelines', `${name}.json`), 'utf8')) as PipelineDoc;
      await openFromList(page, name);
      const shown = graphOf(await documentOf(page));
      expect(shown.nodes.map((n) => `${n.id}:${n.operator}`)).toEqual(graphOf(file).nodes.map((n) => `${n.id}:${n.operator}`));
      expect(shown.edges).toEqual(graphOf(file).edges);
      await expect.poll(() => edges(page).count(), { timeout: 15_000 }).toBe(file.edges.length);

      await expect.poll(() => page.locator('[data-testid=run]').isEnabled(), { timeout: 30_000, message: 'the Run button enabled' }).toBe(true);
      await page.locator('[data-testid=run]').click();
      await waitForStates(page, Object.fromEntries(file.nodes.map((n) => [n.id, 'done'])));
      expect(Object.keys(await states(page)).sort()).toEqual(file.nodes.map((n) => n.id).sort());
      await expect.poll(() => page.locator('[data-testid=run-status]').innerText(), { timeout: 30_000 }).toMatch(/done/);
      await screenshot(page, `example-${name}`);
    });
  }
});
