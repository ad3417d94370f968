// Operator stacks mapped to their sources by the engine (operators start without --enable-source-maps). The
// compiled files and maps are TypeScript's own output, and the stacks are real ones thrown by that code; the
// expected lines are found in the source text.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { stackInSources } from '../src/runtime/stack-sources.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'emflow-stack-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SOURCE = [
  '// a comment, so that source and compiled lines differ',
  'interface Params { at: number }',
  '',
  'export function fail(params: Params): never {',
  '  const message: string = `deliberate failure at ${params.at}`;',
  '  throw new RangeError(message);',
  '}',
  '',
].join('\n');
const THROW_LINE = SOURCE.split('\n').findIndex((l) => l.includes('throw new RangeError')) + 1;
// V8 places a frame where the error is constructed: at `new`
const THROW_COLUMN = SOURCE.split('\n')[THROW_LINE - 1].indexOf('new RangeError') + 1;

/** `src/fail.ts` compiled by TypeScript into `dist/fail.js` of an operator folder, its map beside it or inline. */
function operatorFolder(name: string, inline: boolean): { folder: string; compiled: string; source: string } {
  const folder = join(root, name);
  mkdirSync(join(folder, 'src'), { recursive: true });
  mkdirSync(join(folder, 'dist'), { recursive: true });
  const source = join(folder, 'src', 'fail.ts');
  const compiled = join(folder, 'dist', 'fail.js');
  writeFileSync(source, SOURCE);
  const out = ts.transpileModule(SOURCE, { fileName: source, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: true } });
  // as tsc writes it with outDir: the sources relative to the map (beside the compiled file, or inline in it)
  const map = JSON.stringify({ ...(JSON.parse(out.sourceMapText!) as object), sources: ['../src/fail.ts'] });
  const url = inline ? `data:application/json;base64,${Buffer.from(map).toString('base64')}` : 'fail.js.map';
  writeFileSync(compiled, out.outputText.replace(/\/\/# sourceMappingURL=.*$/m, `//# sourceMappingURL=${url}`));
  if (!inline) writeFileSync(`${compiled}.map`, map);
  return { folder, compiled, source };
}

/** The stack the compiled code throws in a plain Node process, as an operator's (the test runner maps its own). */
function stackOf(compiled: string): string {
  const code = `import { fail } from ${JSON.stringify(pathToFileURL(compiled).href)}; try { fail({ at: 3 }); } catch (e) { process.stdout.write(e.stack); }`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
}

describe('operator stacks in their sources', () => {
  it.each([
    ['a map beside the compiled file', false],
    ['an inline map', true],
  ])("%s: the throwing frame points at the TypeScript line and column of the throw", (name, inline) => {
    const { folder, compiled, source } = operatorFolder(name.replace(/\W+/g, '-'), inline);
    const stack = stackOf(compiled);
    expect(stack).toContain(`${pathToFileURL(compiled).href}:`);
    const mapped = stackInSources(stack, folder);
    expect(mapped.split('\n')[0]).toBe('RangeError: deliberate failure at 3');
    expect(mapped.split('\n')[1]).toMatch(new RegExp(`^\\s+at fail \\(${source.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${THROW_LINE}:${THROW_COLUMN}\\)$`));
    // frames of other files (node's own) stay as they were
    expect(mapped.split('\n').slice(2)).toEqual(stack.split('\n').slice(2));
  });

  it('leaves frames outside the operator folder alone, even with a map beside them', async () => {
    const { compiled } = operatorFolder('outside', false);
    const stack = stackOf(compiled);
    expect(stackInSources(stack, join(root, 'another-operator'))).toBe(stack);
    expect(stackInSources(stack, join(root, 'outside-but-a-prefix'))).toBe(stack);
  });

  it('leaves a frame alone when its map is missing or is not a source map, and a line the map does not cover', async () => {
    const { folder, compiled } = operatorFolder('broken', false);
    const stack = stackOf(compiled);
    writeFileSync(`${compiled}.map`, '{ not json');
    expect(stackInSources(stack, folder)).toBe(stack);
    rmSync(`${compiled}.map`);
    expect(stackInSources(stack, folder)).toBe(stack);
    const beyond = `Error: x\n    at f (${pathToFileURL(compiled).href}:9999:1)`;
    expect(stackInSources(beyond, folder)).toBe(beyond);
  });

  it('line or column 0, and a map whose mappings do not parse, leave the frame as it came', () => {
    const { folder, compiled } = operatorFolder('odd-positions', false);
    const url = pathToFileURL(compiled).href;
    const odd = `Error: x\n    at f (${url}:0:5)\n    at g (${url}:1:0)`;
    expect(stackInSources(odd, folder)).toBe(odd);
    writeFileSync(`${compiled}.map`, JSON.stringify({ version: 3, sources: ['../src/fail.ts'], names: [], mappings: '!!!;;@@@' }));
    const stack = `Error: x\n    at f (${url}:1:1)`;
    expect(stackInSources(stack, folder)).toBe(stack);
  });

  it('a map with a sourceRoot: sources are under it, relative to the map', () => {
    const { folder, compiled, source } = operatorFolder('source-root', false);
    const map = JSON.parse(readFileSync(`${compiled}.map`, 'utf8')) as { sources: string[]; sourceRoot?: string };
    writeFileSync(`${compiled}.map`, JSON.stringify({ ...map, sourceRoot: '../src/', sources: ['fail.ts'] }));
    expect(stackInSources(stackOf(compiled), folder).split('\n')[1]).toBe(`    at fail (${source}:${THROW_LINE}:${THROW_COLUMN})`);
  });

  it('a stack of a container image (its location is no folder here) is returned as it came', () => {
    const { compiled } = operatorFolder('image-like', false);
    const stack = stackOf(compiled);
    expect(stackInSources(stack, 'emflow/scale:1.0.0')).toBe(stack);
  });

  it('a hostile stack (odd paths, a huge line) is returned as it came, without throwing', () => {
    const lines = ['Error: x', '    at f (file:///%zz/x.js:1:1)', '    at /nonexistent/dir/x.js:1:1', `    at g (${'/a'.repeat(5000)}.js:1:1)`, '    at h (file:///etc/passwd:1:1)'].join('\n');
    expect(stackInSources(lines, '/')).toBe(lines);
  });
});

describe('folders reached through links, and links out of a folder', () => {
  it('an operator folder reached through a link: its frames (real paths in the stack) are mapped', () => {
    const { folder, compiled, source } = operatorFolder('linked-target', false);
    const link = join(root, 'linked');
    symlinkSync(folder, link);
    const mapped = stackInSources(stackOf(compiled), link);
    expect(mapped.split('\n')[1]).toBe(`    at fail (${source}:${THROW_LINE}:${THROW_COLUMN})`);
  });

  it('a link inside the folder to code outside it is not followed there', () => {
    const outside = operatorFolder('link-target-outside', false);
    const folder = join(root, 'with-a-link-out');
    mkdirSync(folder);
    symlinkSync(join(outside.folder, 'dist'), join(folder, 'dist'));
    const stack = stackOf(join(folder, 'dist', 'fail.js'));
    expect(stackInSources(stack, folder)).toBe(stack);
  });

  it('a map outside the folder, named by a compiled file inside it, is not read', () => {
    const outside = operatorFolder('map-outside', false);
    const { folder, compiled } = operatorFolder('names-a-map-outside', false);
    writeFileSync(compiled, `${readFileSync(compiled, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, `//# sourceMappingURL=${outside.compiled}.map`)}`);
    const stack = stackOf(compiled);
    expect(stackInSources(stack, folder)).toBe(stack);
  });
});

describe('files an operator folder may hold instead of compiled code', () => {
  it('a FIFO named in a stack is not read (a read would block the engine), nor is its map', () => {
    const folder = join(root, 'fifo');
    mkdirSync(join(folder, 'dist'), { recursive: true });
    execFileSync('mkfifo', [join(folder, 'dist', 'x.js'), join(folder, 'dist', 'y.js')]);
    writeFileSync(join(folder, 'dist', 'z.js'), 'export {};\n//# sourceMappingURL=y.js\n');
    const stack = `Error: x\n    at f (${join(folder, 'dist', 'x.js')}:1:1)\n    at g (${join(folder, 'dist', 'z.js')}:1:1)`;
    expect(stackInSources(stack, folder)).toBe(stack);
  });
});
