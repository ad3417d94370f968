// The save dialog's confirm before replacing another document, the value under the cursor of the frame shown,
// display.configure debounced while a pane is resized, the log ring, and a page without its token.
import type { DisplayHeader, PixelValue } from '@emflow/engine/protocol';
import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DisplayMessage } from '../src/api/display-decode';
import { RestError, type Rest } from '../src/api/rest';
import { RPC_ERRORS, RpcClient, RpcError } from '../src/api/rpc';
import ImagePane from '../src/components/ImagePane.vue';
import { debouncedSize } from '../src/components/pane-size';
import Toolbar from '../src/components/Toolbar.vue';
import { loadDocument } from '../src/model/document';
import { createEditor, EDITOR, type Editor } from '../src/state/editor';
import { createBatchedLog, RingBuffer } from '../src/state/log-buffer';
import { FakeSocket } from './fake-socket';
import { realAccepts, realSpecs } from './real-specs';

afterEach(() => {
  FakeSocket.all = [];
});

describe('the save dialog', () => {
  let listed: { name: string }[];
  let saved: string[];
  let editor: Editor;

  beforeEach(async () => {
    listed = [];
    saved = [];
    const rest = {
      operators: async () => ({ runtime: 'process', operators: realSpecs(), problems: [], accepts: realAccepts() }),
      validate: async () => ({ problems: [] }),
      pipelines: async () => ({ folder: '/p', pipelines: listed }),
      save: async (name: string) => {
        saved.push(name);
        listed = [...listed, { name }];
        return { name, problems: [] };
      },
    } as unknown as Rest;
    editor = createEditor(rest, new RpcClient('ws://host/api/ws', (url) => new FakeSocket(url)), { confirm: () => true });
    await editor.start();
  });
  afterEach(() => editor.rpc.stop());

  // attached: a click on the submit button submits the form
  const toolbar = () => mount(Toolbar, { attachTo: document.body, global: { provide: { [EDITOR as symbol]: editor } } });
  const untitled = () => loadDocument({ emflow: 1, name: 'untitled', nodes: [{ id: 'src', operator: 'synthetic' }], edges: [] });

  it('a new name is saved at once, without a question', async () => {
    editor.docs.load(untitled());
    const w = toolbar();
    await w.find('[data-testid=save]').trigger('click');
    expect((w.find('[data-testid=save-name]').element as HTMLInputElement).value).toBe('untitled');
    await w.find('[data-testid=save-confirm]').trigger('click');
    await flushPromises();
    expect(saved).toEqual(['untitled']);
    expect(w.find('[data-testid=save-name]').exists()).toBe(false);
    expect(editor.docs.fileName.value).toBe('untitled');
    expect(editor.docs.dirty.value).toBe(false);
  });

  it('a second "untitled" asks "replace untitled?" in the dialog, and replaces only when confirmed', async () => {
    listed = [{ name: 'untitled' }];
    editor.docs.load(untitled());
    const w = toolbar();
    await w.find('[data-testid=save]').trigger('click');
    await w.find('[data-testid=save-confirm]').trigger('click');
    await flushPromises();
    expect(saved).toEqual([]);
    expect(w.find('[data-testid=save-replace]').text()).toContain('replace untitled?');
    expect(w.find('[data-testid=save-confirm]').text()).toBe('Replace');

    // another name: the question goes, and that name is looked up in turn
    await w.find('[data-testid=save-name]').setValue('untitled-2');
    expect(w.find('[data-testid=save-replace]').exists()).toBe(false);
    await w.find('[data-testid=save-name]').setValue('untitled');
    await w.find('[data-testid=save-confirm]').trigger('click');
    await flushPromises();
    expect(w.find('[data-testid=save-replace]').exists()).toBe(true);
    expect(saved).toEqual([]);

    await w.find('[data-testid=save-confirm]').trigger('click');
    await flushPromises();
    expect(saved).toEqual(['untitled']);
    expect(w.find('[data-testid=save-name]').exists()).toBe(false);
  });

  it('saving the document it was opened from again asks nothing', async () => {
    listed = [{ name: 'untitled' }];
    editor.docs.load(untitled(), 'untitled');
    editor.setNodeParam('src', 'count', 3, true);
    const w = toolbar();
    await w.find('[data-testid=save]').trigger('click');
    await flushPromises();
    expect(saved).toEqual(['untitled']);
    expect(w.find('[data-testid=save-name]').exists()).toBe(false);
  });
});

describe('ImagePane: the value under the cursor', () => {
  type ImageMessage = Extract<DisplayMessage, { pixels: Float32Array }>;
  const image = (run: number, index: number): ImageMessage => {
    const header: DisplayHeader = { kind: 'image', node: 'v', run, index, params: {}, width: 10, height: 10, source: { width: 40, height: 40 }, dtype: 'float32', min: 0, max: 1 };
    return { header, pixels: new Float32Array(100).fill(index) };
  };
  const sized = ['clientWidth', 'clientHeight'] as const;

  beforeEach(() => {
    // a 100 × 100 px pane (happy-dom lays nothing out): the 10 × 10 image is drawn 10 px a pixel from (0, 0)
    for (const key of sized) Object.defineProperty(HTMLElement.prototype, key, { configurable: true, get: () => 100 });
  });
  afterEach(() => {
    for (const key of sized) delete (HTMLElement.prototype as unknown as Record<string, unknown>)[key];
  });

  const pane = (frames: ImageMessage[], pixel: (x: number, y: number, frame: { run: number; index: number }) => Promise<PixelValue>) =>
    mount(ImagePane, { props: { frames, pixel } });
  const hover = async (w: ReturnType<typeof pane>, clientX: number, clientY: number) => {
    await w.find('canvas').trigger('pointermove', { clientX, clientY });
    // at most one display.pixel every 80 ms
    await new Promise((resolve) => setTimeout(resolve, 100));
    await flushPromises();
  };

  it('asks display.pixel for the frame shown, by its run and index (also a frame scrubbed back to)', async () => {
    const asked: unknown[] = [];
    const w = pane([image(3, 7), image(3, 8)], async (x, y, frame) => {
      asked.push({ x, y, ...frame });
      return { x, y, index: frame.index, value: 42.5 };
    });
    await hover(w, 55, 25);
    expect(asked).toEqual([{ x: 22, y: 10, run: 3, index: 8 }]);
    expect(w.find('[data-testid=image-readout]').text()).toBe('x 22, y 10: 42.5');

    await w.find('[data-testid=image-scrubber]').setValue('0');
    await flushPromises();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await flushPromises();
    expect(asked.at(-1)).toEqual({ x: 22, y: 10, run: 3, index: 7 });
  });

  it('says "value no longer kept" when the server has dropped the frame (noFrame)', async () => {
    const w = pane([image(2, 1)], async () => {
      throw new RpcError(RPC_ERRORS.noFrame, 'frame 1 of run 2 of display "v" is no longer kept');
    });
    await hover(w, 15, 15);
    expect(w.find('[data-testid=image-readout]').text()).toBe('x 6, y 6: value no longer kept');
  });

  it('the scrubber stays on a frame it was moved to when that frame is sent again', async () => {
    const w = pane([image(1, 0), image(1, 1), image(1, 2)], async (x, y, f) => ({ x, y, index: f.index, value: 0 }));
    await w.find('[data-testid=image-scrubber]').setValue('1');
    await w.setProps({ frames: [image(1, 0), image(1, 2), image(1, 1)] });
    expect((w.find('[data-testid=image-scrubber]').element as HTMLInputElement).value).toBe('2');
    expect(w.find('.footer .dim').text()).toBe('1');
  });
});

describe('display.configure while a pane is resized', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends the first size at once, then one size 150 ms after the last resize, and none that moved by a few px', () => {
    const sent: [number, number][] = [];
    const size = debouncedSize((w, h) => sent.push([w, h]));
    size.update(400, 300);
    expect(sent).toEqual([[400, 300]]);
    // a pane dragged one pixel at a time
    for (let h = 301; h <= 360; h++) {
      size.update(400, h);
      vi.advanceTimersByTime(10);
    }
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(150);
    expect(sent).toEqual([
      [400, 300],
      [400, 360],
    ]);
    size.update(403, 362);
    vi.advanceTimersByTime(500);
    expect(sent).toHaveLength(2);
    size.update(400, 352);
    vi.advanceTimersByTime(150);
    expect(sent.at(-1)).toEqual([400, 352]);
    size.update(500, 500);
    size.cancel();
    vi.advanceTimersByTime(500);
    expect(sent).toHaveLength(3);
  });
});

describe('the log ring', () => {
  it('keeps the last `capacity` entries, oldest first', () => {
    const ring = new RingBuffer<number>(3);
    expect(ring.toArray()).toEqual([]);
    for (let i = 0; i < 2; i++) ring.push(i);
    expect(ring.toArray()).toEqual([0, 1]);
    for (let i = 2; i < 8; i++) ring.push(i);
    expect([ring.size, ring.toArray()]).toEqual([3, [5, 6, 7]]);
    ring.clear();
    ring.push(9);
    expect(ring.toArray()).toEqual([9]);
    expect(() => new RingBuffer(0)).toThrow(RangeError);
  });

  it('replaces the list shown at most once per frame, however many lines came', () => {
    const frames: (() => void)[] = [];
    const log = createBatchedLog<number>(1000, (callback) => frames.push(callback));
    const seen: number[] = [];
    let lists = 0;
    for (let i = 0; i < 2500; i++) log.push(i);
    expect([frames.length, log.list.value.length]).toEqual([1, 0]);
    frames.splice(0).forEach((f) => f());
    lists++;
    seen.push(log.list.value[0], log.list.value.at(-1)!, log.list.value.length);
    expect(seen).toEqual([1500, 2499, 1000]);
    log.push(2500);
    expect(frames).toHaveLength(1);
    frames.splice(0).forEach((f) => f());
    lists++;
    expect([lists, log.list.value.at(-1)]).toEqual([2, 2500]);
  });
});

describe('a page without its token', () => {
  it('a 401 answer is shown as such, and the websocket stops knocking', async () => {
    const refused = async () => {
      throw new RestError('a valid token is required: open the URL emflow serve printed (it carries ?token=…)', 401);
    };
    const rest = { operators: refused, validate: refused, pipelines: refused } as unknown as Rest;
    const editor = createEditor(rest, new RpcClient('ws://host/api/ws', (url) => new FakeSocket(url)));
    const socket = () => FakeSocket.last;
    await editor.start();
    expect(editor.unauthorized.value).toBe(true);
    expect(socket().readyState).toBe(3);
    expect(editor.catalog.error.value).toMatch(/token/);
  });

  it('other failures are not taken for a missing token', async () => {
    const broken = async () => {
      throw new RestError('internal error', 500);
    };
    const rest = { operators: broken, validate: broken, pipelines: broken } as unknown as Rest;
    const editor = createEditor(rest, new RpcClient('ws://host/api/ws', (url) => new FakeSocket(url)));
    await editor.start();
    expect(editor.unauthorized.value).toBe(false);
    editor.rpc.stop();
  });
});
