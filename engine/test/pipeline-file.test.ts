import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { importable, runInChild } from '../../test/child.js';
import { applySettings } from '../src/cli/commands/run.js';
import { UsageError } from '../src/cli/exit.js';
import { InputFileError, loadPipeline, parseJsonDocument } from '../src/pipeline-file.js';

const dir = mkdtempSync(join(tmpdir(), 'emflow-pipeline-file-test-'));
chmodSync(dir, 0o755); // the permission case runs as another user
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

/** The error a promise rejects with, or a call throws. */
async function failure(run: () => unknown): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('loadPipeline', () => {
  it('parses a pipeline file', async () => {
    const file = write('ok.json', '{ "emflow": 1, "nodes": [] }\n');
    expect(await loadPipeline(file)).toEqual({ emflow: 1, nodes: [] });
  });

  it('reports a missing file as an InputFileError naming it', async () => {
    const file = join(dir, 'missing.json');
    const error = await failure(() => loadPipeline(file));
    expect(error).toBeInstanceOf(InputFileError);
    expect(error.name).toBe('InputFileError');
    expect(error.message).toBe(`${file}: cannot read pipeline: no such file`);
  });

  it('reports a directory', async () => {
    const sub = join(dir, 'a-folder');
    mkdirSync(sub);
    const error = await failure(() => loadPipeline(sub));
    expect(error).toBeInstanceOf(InputFileError);
    expect(error.message).toBe(`${sub}: cannot read pipeline: is a folder, not a file`);
  });

  it('reports an unreadable file (as an unprivileged user)', () => {
    const file = write('secret.json', '{}');
    chmodSync(file, 0o000);
    const compiled = importable(fileURLToPath(new URL('../dist/pipeline-file.js', import.meta.url)));
    const outcome = runInChild(`await (await import(${compiled})).loadPipeline(${JSON.stringify(file)});`, { unprivileged: true });
    expect(outcome).toEqual({ name: 'InputFileError', error: `${file}: cannot read pipeline: permission denied` });
  });

  it('reports invalid JSON with the file and the line and column', async () => {
    const file = write('bad.json', '{\n  "emflow": 1,\n  "nodes": [,]\n}\n');
    const error = await failure(() => loadPipeline(file));
    expect(error).toBeInstanceOf(InputFileError);
    expect(error.message).toContain(file);
    expect(error.message).toContain('line 3, column');
    expect(error.message).toBe(`${file}: not valid JSON at line 3, column 13: value expected`);
  });
});

describe('parseJsonDocument', () => {
  it('returns the parsed value', () => {
    expect(parseJsonDocument('[1, {"a": null}]', 'x.json')).toEqual([1, { a: null }]);
  });

  it.each([
    ['a value missing in an array', '{\n  "emflow": 1,\n  "nodes": [,]\n}', 'line 3, column 13: value expected'],
    ['a stray word', '{\n  "emflow": 1,\n  "nodes": [] x\n}', 'line 3, column 15: invalid symbol'],
    ['an unquoted property name', '{\n  "a": 1,\n  b: 2\n}', 'line 3, column 3: invalid symbol'],
    ['a trailing comma', '{\n  "a": 1,\n}', 'line 3, column 1: property name expected'],
    ['a missing value after CRLF lines', '{\r\n "a": 1,\r\n "b": }', 'line 3, column 7: value expected'],
    ['a tab inside a string', '{"a": "x\ty"}', 'line 1, column 7: invalid character'],
    ['an empty text', '', 'line 1, column 1: value expected'],
    ['a comment', '{\n  // nodes\n  "emflow": 1\n}', 'line 2, column 3: invalid comment token'],
  ])('locates %s', (_what, text, where) => {
    const error = (() => {
      try {
        parseJsonDocument(text, 'p.json');
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a failure');
    })();
    expect(error).toBeInstanceOf(InputFileError);
    expect(error.message).toBe(`p.json: not valid JSON at ${where}`);
  });
});

/** The InputFileError parseJsonDocument throws for `text`. */
function parseFailure(text: string): Error {
  try {
    parseJsonDocument(text, 'p.json');
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('parseJsonDocument: hostile and careless files', () => {
  it('reports nesting deeper than 64 levels with the place, not a stack overflow', () => {
    const error = parseFailure('['.repeat(5000) + ']'.repeat(5000));
    expect(error).toBeInstanceOf(InputFileError);
    expect(error.message).toBe('p.json: nested deeper than 64 levels at line 1, column 65 (arrays and objects may nest 64 levels)');
  });

  it('reports deep nesting in a file that is not JSON either', () => {
    expect(parseFailure('{"a":'.repeat(100_000)).message).toBe('p.json: nested deeper than 64 levels at line 1, column 321 (arrays and objects may nest 64 levels)');
  });

  it('accepts 64 levels, and brackets inside strings do not count', () => {
    const text = '['.repeat(63) + '{"a": "[[[[\\"[[{{"}' + ']'.repeat(63);
    expect(() => parseJsonDocument(text, 'p.json')).not.toThrow();
  });

  it.each([
    ['1e400', 'width'],
    ['-1e400', 'width'],
    ['12345678901234567890e300', 'width'],
  ])('reports %s as a number out of range at its pointer, not as null', (literal) => {
    const text = `{\n  "emflow": 1,\n  "nodes": [{ "id": "s", "operator": "synthetic", "params": { "width": ${literal} } }]\n}`;
    const error = parseFailure(text);
    expect(error).toBeInstanceOf(InputFileError);
    expect(error.message).toBe(`p.json: /nodes/0/params/width (line 3, column 72): number ${literal} is out of range (at most ±1.7976931348623157e+308)`);
  });

  it('reads a file that starts with a byte-order mark', () => {
    expect(parseJsonDocument('\uFEFF{"emflow": 1, "nodes": []}', 'p.json')).toEqual({ emflow: 1, nodes: [] });
  });

  it('reports a key given twice in one object (JSON.parse would keep the last silently)', () => {
    const error = parseFailure('{\n  "emflow": 1,\n  "nodes": [{ "id": "a", "operator": "x", "params": { "sigma": 1, "sigma": 2 } }]\n}');
    expect(error.message).toBe('p.json: /nodes/0/params/sigma (line 3, column 67): key "sigma" appears twice in one object');
  });

  it('allows the same key in different objects', () => {
    expect(() => parseJsonDocument('[{"a": 1}, {"a": 2, "b": {"a": 3}}]', 'p.json')).not.toThrow();
  });

  it('clips a long duplicate key in the message', () => {
    const key = 'k'.repeat(10_000);
    const message = parseFailure(`{"${key}": 1, "${key}": 2}`).message;
    expect(message.length).toBeLessThan(300);
    expect(message).toContain('…');
  });

  it('parses a 10 MB string quickly', () => {
    const started = performance.now();
    const value = parseJsonDocument(JSON.stringify({ emflow: 1, name: 'x'.repeat(10 << 20), nodes: [] }), 'p.json') as { name: string };
    expect(value.name).toHaveLength(10 << 20);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('applySettings (emflow run --set)', () => {
  const doc = () => ({
    emflow: 1,
    nodes: [
      { id: 'src', operator: 'synthetic', params: { width: 64 } },
      { id: 'blur', operator: 'gaussian-blur' },
    ],
  });

  it('sets a number', () => {
    const d = doc();
    applySettings(d, ['blur.sigma=2.5'], 'p.json');
    expect(d.nodes[1]).toEqual({ id: 'blur', operator: 'gaussian-blur', params: { sigma: 2.5 } });
  });

  it('keeps the other params of the node', () => {
    const d = doc();
    applySettings(d, ['src.height=32'], 'p.json');
    expect(d.nodes[0].params).toEqual({ width: 64, height: 32 });
  });

  it('overrides an existing value; the last setting wins', () => {
    const d = doc();
    applySettings(d, ['src.width=128', 'src.width=256'], 'p.json');
    expect(d.nodes[0].params).toEqual({ width: 256 });
  });

  it('sets booleans and null', () => {
    const d = doc();
    applySettings(d, ['blur.on=true', 'blur.off=false', 'blur.none=null'], 'p.json');
    expect(d.nodes[1].params).toEqual({ on: true, off: false, none: null });
  });

  it('sets JSON values', () => {
    const d = doc();
    applySettings(d, ['src.box=[1,2,3]', 'src.opts={"a":{"b":1}}', 'src.name="quoted"'], 'p.json');
    expect(d.nodes[0].params).toEqual({ width: 64, box: [1, 2, 3], opts: { a: { b: 1 } }, name: 'quoted' });
  });

  it('takes anything that is not JSON as a string', () => {
    const d = doc();
    applySettings(d, ['src.pattern=lattice', 'src.path=data/*.mrc', 'src.code=007', 'src.empty=', 'src.eq=a=b'], 'p.json');
    expect(d.nodes[0].params).toEqual({ width: 64, pattern: 'lattice', path: 'data/*.mrc', code: '007', empty: '', eq: 'a=b' });
  });

  it('splits at the first dot: the rest is the param name', () => {
    const d = doc();
    applySettings(d, ['blur.a.b=1'], 'p.json');
    expect(d.nodes[1].params).toEqual({ 'a.b': 1 });
  });

  it('does nothing without settings', () => {
    const d = doc();
    applySettings(d, [], 'p.json');
    expect(d).toEqual(doc());
  });

  it('reports an unknown node as a UsageError naming the file and the nodes', () => {
    const d = doc();
    const error = (() => {
      try {
        applySettings(d, ['blurr.sigma=2'], 'p.json');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error!.message).toBe('--set blurr.sigma=2: p.json has no node "blurr" (nodes: src, blur)');
  });

  it('reports an unknown node in a document without nodes', () => {
    expect(() => applySettings({ emflow: 1 }, ['a.b=1'], 'p.json')).toThrow(new UsageError('--set a.b=1: p.json has no node "a" (nodes: none)'));
    expect(() => applySettings(null, ['a.b=1'], 'p.json')).toThrow(new UsageError('--set a.b=1: p.json has no node "a" (nodes: none)'));
  });

  // `emflow run` applies --set before validating: a malformed node list must give a usage error, not a crash
  it('reports an unknown node when nodes is not an array', () => {
    expect(() => applySettings({ emflow: 1, nodes: { src: {} } }, ['src.x=1'], 'p.json')).toThrow(UsageError);
  });

  it.each(['blur', 'blur=2', 'blur.sigma', '.sigma=2', 'blur.=2', '=2'])('reports the malformed assignment %j', (setting) => {
    const d = doc();
    let error: unknown;
    try {
      applySettings(d, [setting], 'p.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(`--set ${setting}: expected NODE.PARAM=VALUE`);
    expect(d).toEqual(doc());
  });

  it('applies the settings before a failing one', () => {
    const d = doc();
    expect(() => applySettings(d, ['blur.sigma=3', 'nope.x=1'], 'p.json')).toThrow(UsageError);
    expect(d.nodes[1].params).toEqual({ sigma: 3 });
  });
});
