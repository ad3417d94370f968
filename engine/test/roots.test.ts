// Path roots (for the editor server): file params must stay inside the allowed folders, as the system will
// open them: symlinks followed, `..` taken after them.
import type { OperatorSpec } from '@emflow/sdk';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validatePipeline } from '../src/index.js';
import { checkPipeline } from '../src/validate/pipeline.js';
import { checkPathRoots, realPathOf, type PathRoots } from '../src/validate/roots.js';
import { lookup } from './specs.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'emflow-roots-')));
afterAll(() => rmSync(base, { recursive: true, force: true }));

// base/data (read root) with a file, a link to a file outside and a link to a folder outside;
// base/out (write root); base/outside (no root) with a secret and a sub folder
const data = join(base, 'data');
const out = join(base, 'out');
const outside = join(base, 'outside');
for (const dir of [data, out, join(outside, 'sub')]) mkdirSync(dir, { recursive: true });
writeFileSync(join(data, 'in.mrc'), 'x');
writeFileSync(join(out, 'previous.mrc'), 'x');
writeFileSync(join(outside, 'secret.mrc'), 'x');
symlinkSync(join(outside, 'secret.mrc'), join(data, 'innocent.mrc'));
symlinkSync(join(outside, 'sub'), join(data, 'elsewhere'));
symlinkSync(data, join(base, 'data-link'));
const roots: PathRoots = { read: [data], write: [out] };

const writer: OperatorSpec = {
  name: 'writer',
  version: '1.0.0',
  description: 'Writes files.',
  inputs: { data: { type: 'ndarray' } },
  outputs: {},
  params: { path: { type: 'string', path: 'write' } },
};
const specs = (name: string) => (name === 'writer' ? writer : lookup(name));

/** Problems of a reader of `read` feeding a writer of `write`, relative paths taken against `baseDir`. */
function problemsOf(read: string, write = join(out, 'x.npy'), r: PathRoots = roots, baseDir = data) {
  const doc = {
    emflow: 1,
    nodes: [
      { id: 'in', operator: 'reader', params: { path: read } },
      { id: 'out', operator: 'writer', params: { path: write } },
    ],
    edges: [{ from: { node: 'in', port: 'image' }, to: { node: 'out', port: 'data' } }],
  };
  const { pipeline, problems } = checkPipeline(doc, specs);
  expect(problems).toEqual([]);
  return checkPathRoots(pipeline!, baseDir, r);
}

describe('realPathOf', () => {
  it('follows links in the longest existing prefix and appends the rest', () => {
    expect(realPathOf(join(data, 'innocent.mrc'))).toBe(join(outside, 'secret.mrc'));
    expect(realPathOf(join(data, 'elsewhere', 'new', 'file.png'))).toBe(join(outside, 'sub', 'new', 'file.png'));
  });

  it('takes .. after a link, where the kernel takes it', () => {
    expect(realPathOf(join(data, 'elsewhere') + '/../secret.mrc')).toBe(join(outside, 'secret.mrc'));
    expect(realPathOf(join(data, 'elsewhere') + '/../new.mrc')).toBe(join(outside, 'new.mrc'));
  });
});

describe('checkPathRoots', () => {
  it('accepts reads inside a read or a write root, and writes inside a write root', () => {
    expect(problemsOf('in.mrc')).toEqual([]);
    expect(problemsOf(join(data, 'in.mrc'))).toEqual([]);
    expect(problemsOf(join(out, 'previous.mrc'))).toEqual([]);
    expect(problemsOf('in.mrc', join(out, 'new', 'deeper', 'frame-{frame:04d}.npy'))).toEqual([]);
    // a root given through a link is the folder it names
    expect(problemsOf('in.mrc', join(out, 'x.npy'), { read: [join(base, 'data-link')], write: [out] })).toEqual([]);
  });

  it.each([
    ['a relative path climbing out', '../outside/secret.mrc'],
    ['an absolute path elsewhere', join(outside, 'secret.mrc')],
    ['a link inside the root to a file outside', 'innocent.mrc'],
    ['a link to a folder outside, then a file that does not exist yet', 'elsewhere/later.mrc'],
    ['.. after a link that leads outside', 'elsewhere/../secret.mrc'],
    ['a sibling folder whose name starts like the root', `${data}-other/in.mrc`],
  ])('rejects a read of %s, naming the param pointer', (_what, path) => {
    const problems = problemsOf(path);
    expect(problems).toHaveLength(1);
    expect(problems[0].pointer).toBe('/nodes/0/params/path');
    expect(problems[0].message).toMatch(/^".*" is outside the allowed folders for reading \(it is ".*"; allowed: .*\)$/);
    expect(problems[0].message).toContain(`allowed: ${data}, ${out}`);
  });

  it('rejects a write inside a read root only, or outside every root', () => {
    expect(problemsOf('in.mrc', join(data, 'x.npy'))).toEqual([
      { pointer: '/nodes/1/params/path', message: `"${join(data, 'x.npy')}" is outside the allowed folders for writing (it is "${join(data, 'x.npy')}"; allowed: ${out})` },
    ]);
    expect(problemsOf('in.mrc', join(out, '..', 'escape.npy'))[0].pointer).toBe('/nodes/1/params/path');
    expect(problemsOf('in.mrc', 'x.npy', { read: [data], write: [] })[0].message).toContain('allowed: none');
  });
});

describe('validatePipeline with roots', () => {
  const doc = (path: string, extra: object = {}) => ({
    emflow: 1,
    nodes: [
      { id: 'src', operator: 'synthetic', params: { width: 8, height: 8 } },
      { id: 'save', operator: 'npy-writer', params: { path } },
    ],
    edges: [{ from: { node: 'src', port: 'image' }, to: { node: 'save', port: 'data' } }],
    ...extra,
  });

  it('checks file params only when roots are given', async () => {
    expect(await validatePipeline(doc('../outside/x.npy'), { baseDir: data })).toEqual([]);
    expect(await validatePipeline(doc('x.npy'), { baseDir: out, roots })).toEqual([]);
    const problems = await validatePipeline(doc('../outside/x.npy'), { baseDir: out, roots });
    expect(problems.map((p) => p.pointer)).toEqual(['/nodes/1/params/path']);
  });

  it('does not let a document name operator folders when roots apply', async () => {
    expect(await validatePipeline(doc('x.npy', { operators: ['.'] }), { baseDir: out, roots })).toEqual([
      { pointer: '/operators', message: 'a document may not name operator folders here (the operators are chosen where the engine runs)' },
    ]);
  });
});
