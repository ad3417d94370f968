// Where operators come from: the built-in ones, and beyond them only folders named explicitly
// (EMFLOW_OPERATORS_PATH, --operators, a document's "operators"). Never ./operators of the working directory:
// validating a pipeline someone sent must not run code that happens to lie next to it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from './helpers.js';

const cli = join(root, 'engine/dist/cli/main.js');
const sdk = pathToFileURL(join(root, 'sdk/dist/index.js')).href;
const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'emflow-discovery-')));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function emflow(cwd: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, EMFLOW_OPERATORS_PATH: '', ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** An operator folder whose module writes `marker` as soon as it is loaded, then defines operator `name` (a json source). */
function operatorFolder(dir: string, name: string, marker: string): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: `fake-${name}`, type: 'module', main: 'index.js' }));
  writeFileSync(
    join(folder, 'index.js'),
    `import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(marker)}, 'loaded');
const { operator, json } = await import(${JSON.stringify(sdk)});
class Impostor { process() { return { value: json(42) }; } }
operator({ name: ${JSON.stringify(name)}, version: '9.9.9', description: 'defined by a test', outputs: { value: { type: 'json' } } })(Impostor, { kind: 'class', name: 'Impostor' });
`,
  );
  return folder;
}

const chain = {
  emflow: 1,
  nodes: [
    { id: 'src', operator: 'synthetic', params: { width: 8, height: 8 } },
    { id: 'scale', operator: 'scale' },
    { id: 'stats', operator: 'stats' },
  ],
  edges: [
    { from: { node: 'src', port: 'image' }, to: { node: 'scale', port: 'image' } },
    { from: { node: 'scale', port: 'image' }, to: { node: 'stats', port: 'image' } },
  ],
};

describe('operator discovery', () => {
  const cwd = join(scratch, 'cwd');
  const marker = join(scratch, 'scale-was-loaded');
  const impostor = operatorFolder(join(cwd, 'operators'), 'scale', marker);
  writeFileSync(join(cwd, 'p.json'), JSON.stringify(chain));

  it('validate, run and operators never load ./operators of the working directory', () => {
    expect(emflow(cwd, ['validate', 'p.json'])).toMatchObject({ code: 0, stdout: '' });
    expect(existsSync(marker)).toBe(false);
    const listed = emflow(cwd, ['operators']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(impostor);
    expect(existsSync(marker)).toBe(false);
    const run = emflow(cwd, ['run', 'p.json', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).nodes.scale.frames).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });

  it('--operators adds a folder; two operators named alike are an error naming both places', () => {
    const bundled = realpathSync(join(root, 'operators/scale'));
    const listed = emflow(cwd, ['operators', '--operators', 'operators']);
    expect(listed.code).toBe(1);
    const conflict = `operator "scale" is defined in more than one place: ${bundled} and ${impostor} (rename one, or leave its folder off the search path)`;
    expect(listed.stderr).toContain(conflict);
    const checked = emflow(cwd, ['validate', '--operators', 'operators', 'p.json']);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toBe(`/nodes/1/operator: ${conflict}\n`);
    expect(emflow(cwd, ['run', 'p.json', '--operators', 'operators'])).toMatchObject({ code: 1 });
    expect(emflow(cwd, ['validate', '--operators', 'nowhere', 'p.json'])).toMatchObject({ code: 2, stderr: `emflow: --operators nowhere: no such folder (${join(cwd, 'nowhere')})\n` });
  });

  it("finds operators on EMFLOW_OPERATORS_PATH and in a document's own operators folders", () => {
    const project = join(scratch, 'project');
    const hello = operatorFolder(join(project, 'ops'), 'hello-op', join(scratch, 'hello-loaded'));
    const doc = { emflow: 1, nodes: [{ id: 'h', operator: 'hello-op' }] };
    writeFileSync(join(project, 'plain.json'), JSON.stringify(doc));
    writeFileSync(join(project, 'own.json'), JSON.stringify({ ...doc, operators: ['ops'] }));
    writeFileSync(join(project, 'missing.json'), JSON.stringify({ ...doc, operators: ['ops', 'gone'] }));

    // run from elsewhere: the document's folders are relative to the document
    expect(emflow(root, ['validate', join(project, 'plain.json')])).toMatchObject({ code: 1, stdout: '/nodes/0/operator: unknown operator "hello-op" (see `emflow operators`)\n' });
    expect(emflow(root, ['validate', join(project, 'own.json')])).toMatchObject({ code: 0 });
    expect(emflow(root, ['validate', join(project, 'plain.json')], { EMFLOW_OPERATORS_PATH: `/nonexistent:${join(project, 'ops')}` })).toMatchObject({ code: 0 });
    expect(emflow(root, ['validate', '--operators', join(project, 'ops'), join(project, 'plain.json')])).toMatchObject({ code: 0 });
    const run = emflow(root, ['run', join(project, 'own.json'), '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).nodes.h.frames).toBe(1);
    const missing = emflow(root, ['validate', join(project, 'missing.json')]);
    expect(missing).toMatchObject({ code: 1, stdout: `/operators/1: no such folder "${join(project, 'gone')}"\n` });
    const listed = emflow(root, ['operators', '--operators', join(project, 'ops')]);
    expect(listed.stdout).toContain(`from ${hello}`);
  });
});
