import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entryOf, operatorEntries, sourceFiles } from '../src/runtime/operator-folders.js';

let dir: string;
const folder = (name: string, files: Record<string, string>) => {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(path, file, '..'), { recursive: true });
    writeFileSync(join(path, file), text);
  }
  return path;
};
const pyproject = (emflow: string) => `[project]\nname = "x"\nversion = "1.0.0"\n\n[tool.emflow]\n${emflow}\n`;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'emflow-folders-'));
  delete process.env.EMFLOW_PYTHON;
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  delete process.env.EMFLOW_PYTHON;
});

describe('operator folders by kind', () => {
  it('a command manifest wins over the other manifests, a Python [tool.emflow] over package.json', () => {
    const both = folder('both', { 'pyproject.toml': pyproject('operator = "op.py"'), 'op.py': '', 'package.json': '{}' });
    expect(entryOf(both)).toEqual({ kind: 'python', folder: both, script: join(both, 'op.py'), python: 'python3' });
    const command = folder('command', { 'emflow-command.json': '{}', 'pyproject.toml': pyproject('operator = "op.py"'), 'op.py': '' });
    expect(entryOf(command)).toEqual({ kind: 'command', folder: command, manifest: join(command, 'emflow-command.json') });
    const node = folder('node', { 'package.json': '{"main": "lib/main.js"}' });
    expect(entryOf(node)).toEqual({ kind: 'node', folder: node, module: join(node, 'lib/main.js') });
  });

  it('a pyproject without [tool.emflow] is an ordinary Python package, not an operator', () => {
    expect(entryOf(folder('plain', { 'pyproject.toml': '[project]\nname = "x"\n' }))).toBeUndefined();
    expect(entryOf(folder('empty', {}))).toBeUndefined();
  });

  it('the interpreter: the folder\'s own, else $EMFLOW_PYTHON, else python3', () => {
    const own = folder('own', { 'pyproject.toml': pyproject('operator = "op.py"\npython = "/opt/py/bin/python3"'), 'op.py': '' });
    expect(entryOf(own)).toMatchObject({ python: '/opt/py/bin/python3' });
    process.env.EMFLOW_PYTHON = '/usr/bin/python3';
    expect(entryOf(folder('env', { 'pyproject.toml': pyproject('operator = "op.py"'), 'op.py': '' }))).toMatchObject({ python: '/usr/bin/python3' });
  });

  it('a bad [tool.emflow] is a problem naming the folder and the field; the other folders are still found', () => {
    folder('a-missing', { 'pyproject.toml': pyproject('operator = "nope.py"') });
    folder('b-escape', { 'pyproject.toml': pyproject('operator = "../other/op.py"') });
    folder('c-hidden', { 'pyproject.toml': pyproject('operator = ".op.py"'), '.op.py': '' });
    folder('d-toml', { 'pyproject.toml': '[tool.emflow\noperator = 1' });
    folder('e-python', { 'pyproject.toml': pyproject('operator = "op.py"\npython = 3'), 'op.py': '' });
    const good = folder('f-good', { 'pyproject.toml': pyproject('operator = "op.py"'), 'op.py': '' });
    const problems: { location: string; message: string }[] = [];
    const entries = operatorEntries([dir], problems);
    expect(entries.map((e) => e.folder)).toEqual([good]);
    const byFolder = Object.fromEntries(problems.map((p) => [p.location.split('/').pop(), p.message]));
    expect(byFolder['a-missing']).toBe('pyproject.toml: [tool.emflow] operator names nope.py, which does not exist');
    expect(byFolder['b-escape']).toMatch(/operator must name the operator's script in this folder/);
    expect(byFolder['c-hidden']).toMatch(/operator must name the operator's script in this folder/);
    expect(byFolder['d-toml']).toMatch(/^pyproject\.toml: \S/);
    expect(byFolder['e-python']).toBe('pyproject.toml: [tool.emflow] python must be an interpreter command');
  });

  it('a link to an operator folder counts as the folder, once however many ways lead to it', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'emflow-folders-'));
    try {
      const real = join(elsewhere, 'real');
      mkdirSync(real);
      writeFileSync(join(real, 'pyproject.toml'), pyproject('operator = "op.py"'));
      writeFileSync(join(real, 'op.py'), '');
      symlinkSync(real, join(dir, 'linked'));
      symlinkSync(join(real, 'op.py'), join(dir, 'not-a-folder'));
      expect(operatorEntries([dir], []).map((e) => e.folder)).toEqual([join(dir, 'linked')]);
      // the same folder reached through two search paths, directly and through the link
      expect(operatorEntries([elsewhere, dir], []).map((e) => e.folder)).toEqual([real]);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("a Python operator's identity covers its .py files and pyproject, not caches, environments, build output or data", () => {
    const py = folder('py', {
      'pyproject.toml': pyproject('operator = "op.py"'),
      'op.py': '',
      'lib/helper.py': '',
      '__pycache__/op.cpython-311.pyc': '',
      'notes.txt': '',
      '.venv/lib/site.py': '',
      'venv/lib/os.py': '',
      'build/lib/op.py': '',
      'x.egg-info/PKG-INFO.py': '',
      '.git/hook.py': '',
    });
    const entry = entryOf(py)!;
    expect(sourceFiles(entry).map((f) => f.slice(py.length + 1))).toEqual(['lib/helper.py', 'op.py', 'pyproject.toml']);
  });
});
