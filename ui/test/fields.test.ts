// Param forms from the shipped operators' real specs: every kind of param they have, as a field and in the DOM.
import type { FilesResponse, OperatorSpec } from '@emflow/engine/protocol';
import { flushPromises, mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import Inspector from '../src/components/Inspector.vue';
import { BASE_FOLDER, LIST_FILES } from '../src/components/keys';
import ParamField from '../src/components/ParamField.vue';
import { defaultParams } from '../src/model/document';
import { acceptableValue, deriveField, deriveFields, parseNumberInput, type Field, type ParamSpec } from '../src/model/fields';
import { relativeTo, resolvePath } from '../src/model/paths';
import type { LocatedProblem } from '../src/model/problems';
import { ref } from 'vue';
import { realSpec, realSpecs } from './real-specs';

const param = (operator: string, name: string): ParamSpec => {
  const p = realSpec(operator).params?.[name];
  if (!p) throw new Error(`${operator} has no param ${name}`);
  return p;
};
const field = (operator: string, name: string) => deriveField(name, param(operator, name));
const mountField = (f: Field, value: unknown, problems: string[] = [], files?: (path?: string) => Promise<FilesResponse>, base?: string) =>
  mount(ParamField, {
    props: { field: f, value, problems },
    global: { provide: { ...(files && { [LIST_FILES as symbol]: files }), ...(base && { [BASE_FOLDER as symbol]: ref(base) }) } },
    attachTo: document.body,
  });

describe('form derivation from the shipped specs', () => {
  const all = realSpecs().flatMap((spec) => Object.entries(spec.params ?? {}).map(([name, p]) => ({ operator: spec.name, name, p })));

  it('gives every param of every shipped operator the field its spec calls for', () => {
    expect(all.length).toBeGreaterThan(50);
    const kinds = new Set<string>();
    for (const { operator, name, p } of all) {
      const f = deriveField(name, p);
      // an exclusive bound bounds a slider too (nlm-denoise's hFactor: > 0, ≤ 100)
      const bounded = (p.minimum ?? p.exclusiveMinimum) !== undefined && (p.maximum ?? p.exclusiveMaximum) !== undefined;
      const expected = p.enum
        ? 'select'
        : p.type === 'boolean'
          ? 'checkbox'
          : p.type === 'number' || p.type === 'integer'
            ? bounded
              ? 'slider'
              : 'number'
            : p.path
              ? 'path'
              : 'text';
      expect(f.kind, `${operator}.${name}`).toBe(expected);
      expect(f.units).toBe(p.units);
      expect(f.optional).toBe(p.optional === true);
      kinds.add(f.kind);
    }
    // the shipped operators use every kind of field: the checks above covered each
    expect([...kinds].sort()).toEqual(['checkbox', 'number', 'path', 'select', 'slider', 'text']);
  });

  it('gaussian-blur sigma is a slider from 0 to 1000 px with a number field, continuous', () => {
    expect(field('gaussian-blur', 'sigma')).toMatchObject({ kind: 'slider', min: 0, max: 1000, units: 'px', integer: false, step: 'any', default: 1 });
    expect(field('background-subtract', 'order')).toMatchObject({ kind: 'slider', min: 0, max: 4, integer: true, step: 1 });
  });

  it('numbers with one bound or none are number fields; enums are selects with their values, numbers kept numbers', () => {
    expect(field('crop', 'x')).toMatchObject({ kind: 'number', min: 0, max: undefined, integer: true });
    expect(field('scale', 'a')).toMatchObject({ kind: 'number', min: undefined, max: undefined });
    expect(field('synthetic', 'pattern').options).toEqual(['noise', 'gaussian-blobs', 'lattice'].map((v) => ({ value: v, label: v })));
    expect(field('png-writer', 'bitDepth')).toMatchObject({ kind: 'select', options: [{ value: 8, label: '8' }, { value: 16, label: '16' }], units: 'bit' });
  });

  it('path params pick files to read or write; optional params may be cleared', () => {
    expect(field('mrc-reader', 'path')).toMatchObject({ kind: 'path', path: 'read', optional: false });
    expect(field('png-writer', 'path')).toMatchObject({ kind: 'path', path: 'write' });
    expect(field('folder-source', 'folder')).toMatchObject({ kind: 'path', path: 'read' });
    expect(field('histogram', 'min')).toMatchObject({ kind: 'number', optional: true });
  });

  it('new nodes start with every default and nothing else', () => {
    expect(defaultParams(realSpec('gaussian-blur'))).toEqual({ sigma: 1 });
    // crop's width has no default: left for the user (the engine reports it missing)
    expect(defaultParams(realSpec('crop'))).toEqual({ x: 0, y: 0, z: 0 });
  });

  it('only sends values the spec allows while typing', () => {
    const sigma = param('gaussian-blur', 'sigma');
    expect(acceptableValue(sigma, 2.5)).toBe(true);
    expect(acceptableValue(sigma, -1)).toBe(false);
    expect(acceptableValue(sigma, 1001)).toBe(false);
    expect(acceptableValue(sigma, '2')).toBe(false);
    expect(acceptableValue(sigma, NaN)).toBe(false);
    expect(acceptableValue(param('synthetic', 'count'), 2.5)).toBe(false);
    expect(acceptableValue(param('png-writer', 'bitDepth'), 16)).toBe(true);
    expect(acceptableValue(param('png-writer', 'bitDepth'), 12)).toBe(false);
    expect(acceptableValue(param('fft-power', 'removeMean'), 'true')).toBe(false);
    expect(parseNumberInput(' 2.5 ')).toBe(2.5);
    expect(parseNumberInput('')).toBeUndefined();
    expect(parseNumberInput('1e')).toBe('1e');
  });
});

describe('ParamField', () => {
  it('every param of every shipped operator renders its hook on the input itself', () => {
    for (const spec of realSpecs()) {
      for (const f of deriveFields(spec)) {
        const w = mountField(f, defaultParams(spec)[f.name]);
        const input = w.find(`[data-testid="param-${f.name}"]`);
        expect(input.exists(), `${spec.name}.${f.name}`).toBe(true);
        const tag = input.element.tagName;
        const type = input.attributes('type');
        if (f.kind === 'select') expect(tag).toBe('SELECT');
        else if (f.kind === 'checkbox') expect(type).toBe('checkbox');
        else expect([tag, type]).toEqual(['INPUT', 'text']);
        expect(w.find(`[data-testid="param-${f.name}-slider"]`).exists()).toBe(f.kind === 'slider');
        w.unmount();
      }
    }
  });

  it('sigma: a range input 0–1000 and a number field with units; slider drags emit not-final values, the release a final one', async () => {
    const w = mountField(field('gaussian-blur', 'sigma'), 2);
    // as the inspector does: the document takes the value, and the field shows it
    await w.setProps({ onUpdate: (value: unknown) => void w.setProps({ value }) });
    const slider = w.find<HTMLInputElement>('[data-testid="param-sigma-slider"]');
    expect(slider.attributes()).toMatchObject({ type: 'range', min: '0', max: '1000', step: 'any' });
    expect(slider.element.value).toBe('2');
    expect(w.find<HTMLInputElement>('[data-testid="param-sigma"]').element.value).toBe('2');
    expect(w.find('.units').text()).toBe('px');
    slider.element.value = '7';
    await slider.trigger('input');
    await slider.trigger('change');
    expect(w.emitted('update')).toEqual([
      [7, false],
      [7, true],
    ]);
    expect(w.find<HTMLInputElement>('[data-testid="param-sigma"]').element.value).toBe('7');
  });

  it('the number field emits numbers as typed, the text when it is no number (the engine says why), and nothing for empty', async () => {
    const w = mountField(field('gaussian-blur', 'sigma'), 2);
    const input = w.find<HTMLInputElement>('[data-testid="param-sigma"]');
    const type = async (text: string) => {
      input.element.value = text;
      await input.trigger('input');
    };
    await type('2.5');
    await type('abc');
    await type('');
    expect(w.emitted('update')).toEqual([
      [2.5, false],
      ['abc', false],
      [undefined, false],
    ]);
    // leaving the field ends the gesture
    await input.trigger('change');
    expect(w.emitted('update')!.at(-1)).toEqual([undefined, true]);
    // a half-typed number keeps its text when the document answers with the value it means
    await type('3.');
    await w.setProps({ value: 3 });
    expect((input.element as HTMLInputElement).value).toBe('3.');
    // a value from elsewhere (undo) replaces it
    await w.setProps({ value: 4 });
    expect((input.element as HTMLInputElement).value).toBe('4');
  });

  it('enum → select emitting the option value (numbers stay numbers); boolean → checkbox', async () => {
    const pattern = mountField(field('synthetic', 'pattern'), 'noise');
    const select = pattern.find('select');
    expect(select.findAll('option').map((o) => o.text())).toEqual(['noise', 'gaussian-blobs', 'lattice']);
    await select.setValue('2');
    expect(pattern.emitted('update')).toEqual([['lattice', true]]);

    const depth = mountField(field('png-writer', 'bitDepth'), 8);
    await depth.find('select').setValue('1');
    expect(depth.emitted('update')).toEqual([[16, true]]);

    const removeMean = mountField(field('fft-power', 'removeMean'), true);
    const box = removeMean.find<HTMLInputElement>('[data-testid="param-removeMean"]');
    expect(box.element.checked).toBe(true);
    await box.setValue(false);
    expect(removeMean.emitted('update')).toEqual([[false, true]]);
  });

  it('optional params can be cleared; required ones cannot', async () => {
    const min = mountField(field('histogram', 'min'), 3);
    await min.find('[data-testid="param-min-clear"]').trigger('click');
    expect(min.emitted('update')).toEqual([[undefined, true]]);
    expect(mountField(field('histogram', 'min'), undefined).find('[data-testid="param-min-clear"]').exists()).toBe(false);
    expect(mountField(field('gaussian-blur', 'sigma'), 2).find('[data-testid="param-sigma-clear"]').exists()).toBe(false);
  });

  it("shows the engine's message at an invalid field", () => {
    const w = mountField(field('gaussian-blur', 'sigma'), -1, ['expected a value >= 0, got -1']);
    expect(w.classes()).toContain('invalid');
    expect(w.find('[data-testid="param-sigma-problem"]').text()).toBe('expected a value >= 0, got -1');
  });

  it('a read path opens the picker over /api/files: folders browse, a file is chosen', async () => {
    const asked: (string | undefined)[] = [];
    const files = async (path?: string): Promise<FilesResponse> => {
      asked.push(path);
      return path === undefined
        ? { entries: [], roots: { read: ['/data'], write: ['/out'] } }
        : { path, entries: [{ name: 'map.mrc', path: `${path}/map.mrc`, kind: 'file', size: 2048 }], roots: { read: ['/data'], write: ['/out'] } };
    };
    const w = mountField(field('mrc-reader', 'path'), undefined, [], files);
    await w.find('[data-testid="param-path-browse"]').trigger('click');
    await flushPromises();
    const root = w.findAll('.entry').find((e) => e.text().includes('/data'))!;
    await root.trigger('click');
    await flushPromises();
    await w.find('[data-testid="file-entry"]').trigger('click');
    expect(asked).toEqual([undefined, '/data']);
    expect(w.emitted('update')).toEqual([['/data/map.mrc', true]]);
    expect(w.find('[data-testid="file-picker"]').exists()).toBe(false);
  });

  it('relative paths open their folder against the served folder, and files inside it are chosen relative to it', async () => {
    expect(resolvePath('/srv/pipelines', '../data/./a.mrc')).toBe('/srv/data/a.mrc');
    expect(resolvePath('/srv/pipelines', '/abs/b.mrc')).toBe('/abs/b.mrc');
    expect(relativeTo('/srv/pipelines', '/srv/pipelines/raw/c.mrc')).toBe('raw/c.mrc');
    expect(relativeTo('/srv/pipelines', '/srv/pipelines-old/c.mrc')).toBe('/srv/pipelines-old/c.mrc');

    const asked: (string | undefined)[] = [];
    const files = async (path?: string): Promise<FilesResponse> => {
      asked.push(path);
      return { path, parent: '/srv', entries: [{ name: 'c.mrc', path: `${path}/c.mrc`, kind: 'file' }], roots: { read: ['/srv'], write: [] } };
    };
    const w = mountField(field('mrc-reader', 'path'), 'raw/old.mrc', [], files, '/srv/pipelines');
    await w.find('[data-testid="param-path-browse"]').trigger('click');
    await flushPromises();
    await w.find('[data-testid="file-entry"]').trigger('click');
    expect(asked).toEqual(['/srv/pipelines/raw']);
    expect(w.emitted('update')).toEqual([['raw/c.mrc', true]]);
  });

  it('a write path takes a new file name typed in the folder shown', async () => {
    const files = async (path?: string): Promise<FilesResponse> => ({ path, entries: [], roots: { read: [], write: ['/out'] } });
    const w = mountField(field('png-writer', 'path'), '/out/old.png', [], files);
    await w.find('[data-testid="param-path-browse"]').trigger('click');
    await flushPromises();
    const name = w.find<HTMLInputElement>('[data-testid="file-name"]');
    expect(name.element.value).toBe('old.png');
    await name.setValue('frame-{frame:04d}.png');
    await w.findAll('footer button').find((b) => b.text() === 'Choose')!.trigger('click');
    expect(w.emitted('update')).toEqual([['/out/frame-{frame:04d}.png', true]]);
  });
});

describe('Inspector', () => {
  const spec: OperatorSpec = realSpec('gaussian-blur');
  const problem = (message: string, param?: string): LocatedProblem => ({ pointer: `/nodes/0/params/${param ?? ''}`, message, node: 'blur', param, where: 'blur' });

  it('shows the description, the ports, one field per param, and the engine messages at their fields', () => {
    const sigmaProblem = problem('expected a value <= 1000, got 5000', 'sigma');
    const w = mount(Inspector, {
      props: { node: { id: 'blur', operator: 'gaussian-blur', params: { sigma: 5000 } }, spec, problems: [sigmaProblem], paramProblems: new Map([['sigma', [sigmaProblem]]]) },
    });
    expect(w.find('.description').text()).toBe(spec.description);
    expect(w.findAll('.port').map((p) => [p.find('.dir').text(), p.text().replace(/^(in|out)/, '')])).toEqual([
      ['in', 'image: image2d'],
      ['out', 'image: image2d'],
    ]);
    expect(w.find<HTMLInputElement>('[data-testid="param-sigma"]').element.value).toBe('5000');
    expect(w.find('[data-testid="param-sigma-problem"]').text()).toBe('expected a value <= 1000, got 5000');
    // a param's problem is shown at its field, not again in the node's list
    expect(w.find('.node-problems').exists()).toBe(false);
  });

  it('emits param changes with their name, and shows sameAs outputs with the type that feeds them', async () => {
    const w = mount(Inspector, {
      props: { node: { id: 'b', operator: 'bin', params: { factor: 2 } }, spec: realSpec('bin'), problems: [], outputTypes: new Map([['image', 'volume3d' as const]]) },
    });
    expect(w.findAll('.port')[1].text()).toContain('image: volume3d');
    await w.find('[data-testid="param-factor"]').setValue('4');
    expect(w.emitted('param')).toEqual([
      ['factor', 4, false],
      ['factor', 4, true],
    ]);
  });

  it('lists params the operator does not have, to be removed', async () => {
    const w = mount(Inspector, { props: { node: { id: 'blur', operator: 'gaussian-blur', params: { sigma: 1, radius: 3 } }, spec, problems: [] } });
    expect(w.find('.unknown').text()).toContain('radius = 3');
    await w.find('.unknown button').trigger('click');
    expect(w.emitted('param')).toEqual([['radius', undefined, true]]);
  });
});
