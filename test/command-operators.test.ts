// Command operators: real Debian programs (ImageMagick's convert, netpbm, sh) wrapped by emflow-command.json
// manifests (test/operators/commands), run in real pipelines on the process runtime and checked against NumPy
// and SciPy; programs that fail, hang, write nothing or are cancelled; manifests that are wrong or hostile.
// After each frame, whatever happened, neither the program nor its scratch folder may be left.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessRuntime, RunError, RunStopped, type Session } from '@emflow/engine';
import type { JsonFrame, NDArray } from '@emflow/sdk';
import { expandTemplate, parseManifest, parseTemplate, type TemplateValues } from '../engine/src/command/manifest.js';
import { firstDifference, operatorDirs, pipeline, processesOf, python, root } from './helpers.js';
import { sessionOpener } from './sessions.js';

const commands = resolve(root, 'test/operators/commands');
const withCommands = { operatorDirs: [...operatorDirs, commands] };
const open = sessionOpener();
const tomviz = resolve(root, 'data/tomviz-sample.tiff');

// The operator hosts inherit the engine's environment, so their programs' scratch folders go here: a folder of
// this test file's own, where "nothing left" can be checked without seeing other tests' temporary files.
const scratchRoot = mkdtempSync(join(tmpdir(), 'emflow-command-test-'));
process.env.TMPDIR = scratchRoot;
afterAll(() => rmSync(scratchRoot, { recursive: true, force: true }));
const scratchFolders = () => readdirSync(scratchRoot).filter((name) => name.startsWith('emflow-'));

/** The session's processes other than operator hosts (which run on this Node): the wrapped programs and their children. */
function programsOf(session: Session): string[] {
  return processesOf(session.paths.dir)
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean);
      } catch {
        return []; // gone meanwhile
      }
    })
    .filter((argv) => argv.length && argv[0] !== process.execPath)
    .map((argv) => argv.join(' '));
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  for (const started = Date.now(); !condition(); ) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms: ${condition.toString()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Neither a program nor a scratch folder of this session is left. */
async function nothingLeft(session: Session): Promise<void> {
  await until(() => programsOf(session).length === 0 && scratchFolders().length === 0, 3000).catch(() => {
    throw new Error(`left behind: programs [${programsOf(session).join('; ')}], scratch folders [${scratchFolders().join(', ')}]`);
  });
}

async function failure(session: Session): Promise<RunError> {
  const error = await session.run().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RunError);
  return error as RunError;
}

/**
 * NumPy/SciPy's side: the Tomviz TIFF read by the independent decoder of test/fixtures/numpy_reference.py, its
 * crop, flipped and rotated, and blurred as ImageMagick 6 (Q16) blurs: -gaussian-blur 0xσ convolves with a 2-D
 * Gaussian whose half-width is the first at which its edge value falls below 1/65535 of the kernel's sum
 * (GetOptimalKernelWidth2D: 7 px for σ = 2, i.e. SciPy's truncate = 3.5) and repeats the edge pixels beyond the
 * border (SciPy's mode "nearest"); an 8-bit image is held as value·257, and the result is rounded to an integer.
 */
const REFERENCE = `
import json, sys
import numpy as np
from scipy.ndimage import gaussian_filter
sys.path.insert(0, sys.argv[1])
import numpy_reference
image = numpy_reference.tiff_png.read_tiff(open(sys.argv[2], "rb").read())[0][0]
x, y, width, height, sigma = (float(a) for a in sys.argv[3:])
crop = image[int(y):int(y + height), int(x):int(x + width)]

def imagemagick_radius(sigma, quantum_scale=1 / 65535):
    width = 5
    while True:
        half = (width - 1) // 2
        u = np.arange(-half, half + 1)
        kernel = np.exp(-(u[:, None] ** 2 + u[None, :] ** 2) / (2 * sigma * sigma))
        if kernel[half, 0] / kernel.sum() < quantum_scale:
            return (width - 3) // 2
        width += 2

radius = imagemagick_radius(sigma)
blurred = gaussian_filter(image.astype(np.float64) * 257, sigma, mode="nearest", truncate=radius / sigma)
arrays = {"flop": np.fliplr(crop), "clockwise": np.rot90(crop, -1), "counterclockwise": np.rot90(crop, 1), "blur": blurred}
print(json.dumps({"radius": radius, **{k: {"shape": list(a.shape), "values": a.ravel().tolist()} for k, a in arrays.items()}}))
`;

interface Reference {
  radius: number;
  [name: string]: { shape: number[]; values: number[] } | number;
}

describe('command operators on real programs', () => {
  it('runs ImageMagick and netpbm in a pipeline: flip and rotations exact, the blur within 0.5 of SciPy', async () => {
    const crop = { x: 40, y: 10, width: 300, height: 200 };
    const sigma = 2;
    const session = await open(
      pipeline(
        [
          { id: 'src', operator: 'tiff-reader', params: { path: tomviz } },
          { id: 'crop', operator: 'crop', params: crop },
          { id: 'flop', operator: 'im-flop' },
          { id: 'rotate', operator: 'im-rotate', params: { degrees: 90 } },
          { id: 'netpbm', operator: 'netpbm-rotate' },
          { id: 'blur', operator: 'im-blur', params: { sigma } },
        ],
        ['src.image->crop.image', 'crop.image->flop.image', 'crop.image->rotate.image', 'crop.image->netpbm.image', 'src.image->blur.image'],
      ),
      withCommands,
    );
    const report = await session.run();
    expect(Object.values(report.nodes).map((n) => n.frames)).toEqual([1, 1, 1, 1, 1, 1]);
    const args = [resolve(root, 'test/fixtures'), tomviz, crop.x, crop.y, crop.width, crop.height, sigma].map(String);
    const reference = JSON.parse(execFileSync(python, ['-c', REFERENCE, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 })) as Reference;
    const output = (node: string) => session.outputs(node, 'image')[0] as NDArray;
    const expected = (name: string) => reference[name] as { shape: number[]; values: number[] };

    // exact: PNG (8-bit) and TIFF through convert, PNG through pngtopam | pamflip | pnmtopng
    for (const [node, name] of [['flop', 'flop'], ['rotate', 'clockwise'], ['netpbm', 'counterclockwise']]) {
      expect([output(node).dtype, output(node).shape]).toEqual(['uint8', expected(name).shape]);
      expect(firstDifference(output(node).data, expected(name).values), node).toBeUndefined();
    }
    // ImageMagick's kernel as found above; the only difference left is its rounding to integers
    expect(reference.radius).toBe(7);
    const blur = output('blur');
    expect([blur.dtype, blur.shape]).toEqual(['uint16', [401, 401]]);
    // every pixel, the border included: ImageMagick repeats edge pixels as SciPy's "nearest" does
    const largest = Array.from(blur.data, (v, i) => Math.abs(v - expected('blur').values[i])).reduce((a, b) => Math.max(a, b));
    expect(largest).toBeLessThanOrEqual(0.5 + 1e-9);
    expect(largest).toBeGreaterThan(0.49); // rounding, so the comparison is not of a blank image
    await nothingLeft(session);
  });

  it('gives the program its files, params, stdin lines, frame and scratch folder, and the environment without the token', async () => {
    const session = await open(
      pipeline(
        [
          { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 24, height: 16, count: 2, seed: 3 } },
          { id: 'probe', operator: 'probe', params: { word: 'two words', name: '../../etc/passwd' } },
        ],
        ['src.image->probe.image'],
      ),
      withCommands,
    );
    await session.run();
    const images = session.outputs('src', 'image') as NDArray[];
    const copies = session.outputs('probe', 'copy') as NDArray[];
    const seen = (session.outputs('probe', 'seen') as JsonFrame<Record<string, unknown>>[]).map((f) => f.value);
    for (const frame of [0, 1]) {
      expect([copies[frame].dtype, copies[frame].shape]).toEqual(['float32', [16, 24]]);
      expect(firstDifference(copies[frame].data, images[frame].data)).toBeUndefined();
      expect(seen[frame]).toMatchObject({ word: 'two words', frame, name: '../../etc/passwd', mode: '700', token: 'unset', socket: 'unset' });
      // the program ran in its frame's own scratch folder, under the scratch root, and {workdir} named it
      expect(seen[frame].cwd).toBe(seen[frame].workdir);
      expect(seen[frame].cwd).toMatch(new RegExp(`^${scratchRoot}/emflow-probe-\\w+$`));
    }
    expect(seen[0].cwd).not.toBe(seen[1].cwd);
    await nothingLeft(session);
  });
});

describe('programs that go wrong', () => {
  it('a program that fails: one line naming node, operator, program and exit code with its meaning, then its last 20 stderr lines', async () => {
    const session = await open(pipeline([{ id: 'n', operator: 'fails' }], []), withCommands);
    const error = await failure(session);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('node "n" (fails) on frame 0: Error: fails: sh exited with code 3 (the input is broken)');
    expect(lines.slice(1)).toEqual(['--- last stderr of sh ---', ...Array.from({ length: 19 }, (_, i) => `line ${i + 12}`), 'broken input']);
    // quoted once: the stderr lines of a failed frame do not go to the log as well
    expect(error.failure.log ?? '').not.toContain('broken input');
    await nothingLeft(session);
  });

  it('the same failure as `emflow run` prints it: exit 1, the message on stderr', () => {
    const file = join(scratchRoot, 'fails.json');
    writeFileSync(file, JSON.stringify(pipeline([{ id: 'n', operator: 'fails' }], [])));
    const result = spawnSync(process.execPath, [join(root, 'engine/dist/cli/main.js'), 'run', file, '--operators', commands, '--progress', 'none'], { encoding: 'utf8', timeout: 60_000 });
    rmSync(file);
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n').slice(0, 2)).toEqual(['emflow: run failed: node "n" (fails) on frame 0: Error: fails: sh exited with code 3 (the input is broken)', '--- last stderr of sh ---']);
    expect(result.stderr).toContain('line 30\nbroken input\n');
    expect(scratchFolders()).toEqual([]);
  });

  it('a program that hangs is killed, with its children, when its timeout passes', async () => {
    const session = await open(pipeline([{ id: 'n', operator: 'hangs' }], []), withCommands);
    const started = Date.now();
    const error = await failure(session);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.message).toBe('node "n" (hangs) on frame 0: Error: hangs: sh did not finish within 500 ms (timeoutMs) and was killed');
    await nothingLeft(session);
  });

  it('a program that exits 0 without writing its output', async () => {
    const session = await open(pipeline([{ id: 'n', operator: 'writes-nothing' }], []), withCommands);
    const error = await failure(session);
    expect(error.message).toMatch(new RegExp(`^node "n" \\(writes-nothing\\) on frame 0: Error: writes-nothing: true did not write \\{output\\.image\\} \\(expected ${scratchRoot}/emflow-writes-nothing-\\w+/out-image\\.npy\\)$`));
    await nothingLeft(session);
  });
});

describe('a running program is ended with its frame', () => {
  const slow = pipeline([{ id: 'n', operator: 'slow', params: { seconds: 30 } }], []);
  const running = (session: Session) => () => programsOf(session).some((argv) => argv.startsWith('sleep')) && scratchFolders().length === 1;

  it('when the run is stopped', async () => {
    const session = await open(slow, withCommands);
    const run = session.run().catch((e: unknown) => e);
    await until(running(session));
    session.stop();
    expect(await run).toBeInstanceOf(RunStopped);
    await nothingLeft(session);
  });

  it('when the session closes', async () => {
    const session = await open(slow, withCommands);
    const run = session.run().catch((e: unknown) => e);
    await until(running(session));
    await session.close();
    await run;
    await nothingLeft(session);
  });

  it('when the engine kills the operator host outright (SIGKILL after its call timeout)', async () => {
    const session = await open(slow, { ...withCommands, timeoutMs: 1500 });
    const error = await failure(session);
    expect(error.message).toContain('node "n" (slow) on frame 0: did not answer within 1500 ms; it was stopped');
    // no exit handler runs on SIGKILL: the frame's exit guard kills the program and removes its folder
    await nothingLeft(session);
  });
});

describe('manifests', () => {
  const good = {
    emflow: 1,
    spec: {
      name: 'NAME',
      version: '1.0.0',
      description: 'a manifest with one thing wrong',
      inputs: { image: { type: 'image2d' } },
      outputs: { image: { type: 'image2d' } },
      params: { sigma: { type: 'number', default: 1 }, level: { type: 'integer', optional: true } },
    },
    command: ['convert', '{input.image}', '-blur', '0x{params.sigma}', '{output.image}'],
    formats: { input: { image: 'png' }, output: { image: 'png' } },
  };
  type Manifest = Record<string, unknown> & typeof good;
  const cases: [string, (m: Manifest) => unknown, string][] = [
    ['unknown-port', (m) => ({ ...m, command: ['convert', '{input.imag}', '{input.image}', '{output.image}'] }), '/command/1: {input.imag}: spec has no input port "imag" (inputs: image)'],
    [
      'unknown-placeholder',
      (m) => ({ ...m, command: [...m.command, '{sigma}'] }),
      '/command/5: unknown placeholder "{sigma}" (placeholders: {input.PORT}, {output.PORT}, {params.NAME}, {frame}, {workdir}; {{ and }} are literal braces)',
    ],
    ['unclosed-brace', (m) => ({ ...m, command: [...m.command, '{output.image'] }), '/command/5: unclosed "{" at character 1 (write {{ for a literal brace)'],
    ['unknown-param', (m) => ({ ...m, stdin: ['{params.radius}'] }), '/stdin/0: {params.radius}: spec has no param "radius" (params: sigma, level)'],
    ['optional-param', (m) => ({ ...m, stdin: ['{params.level}'] }), '/stdin/0: {params.level}: the param is optional without a default, so it may have no value (give it a default)'],
    ['program-from-params', (m) => ({ ...m, command: ['{params.sigma}', ...m.command.slice(1)] }), '/command/0: the program is named literally: no placeholders or braces'],
    ['output-never-named', (m) => ({ ...m, command: m.command.slice(0, 4) }), '/command: output port "image" is never passed to the program: put {output.image} into command or stdin'],
    ['unknown-field', (m) => ({ ...m, shell: true }), '/shell: unknown field "shell"'],
    ['format-of-type', (m) => ({ ...m, spec: { ...m.spec, outputs: { image: { type: 'volume3d' } } } }), '/formats/output/image: png cannot carry volume3d (volume3d goes as mrc, tiff, npy)'],
    ['table-port', (m) => ({ ...m, spec: { ...m.spec, outputs: { image: { type: 'table' } } }, formats: { ...m.formats, output: { image: 'json' } } }), '/formats/output/image: json cannot carry table (no file format carries a table)'],
    ['missing-format', (m) => ({ ...m, formats: { input: { image: 'png' } } }), '/formats/output: no format for output port "image" (one of mrc, tiff, png, npy, json)'],
    ['bad-format', (m) => ({ ...m, formats: { ...m.formats, input: { image: 'jpeg' } } }), '/formats/input/image: expected one of "mrc", "tiff", "png", "npy", "json"; got "jpeg"'],
    ['optional-input', (m) => ({ ...m, spec: { ...m.spec, inputs: { image: { type: 'image2d', required: false } } } }), '/spec/inputs/image/required: inputs of a command operator are required: the program is always given a file for each'],
    ['spec-problem', (m) => ({ ...m, spec: { ...m.spec, version: 'one' } }), '/spec/version: "one" does not match ^\\d+\\.\\d+(\\.\\d+)?([-+][0-9A-Za-z.-]+)?$'],
    ['success-message', (m) => ({ ...m, exitMessages: { 0: 'fine' } }), '/exitMessages/0: exit code 0 means success (successCodes): messages are for failures'],
    ['proto-key', (m) => JSON.parse(JSON.stringify(m).replace('{', '{"__proto__": {"timeoutMs": 1},')), '/__proto__: unknown field "__proto__"'],
    ['proto-format', (m) => JSON.parse(JSON.stringify(m).replace('"input":{', '"input":{"__proto__":"npy",')), '/formats/input/__proto__: spec has no input port "__proto__" (inputs: image)'],
    ['proto-exit-code', (m) => ({ ...m, exitMessages: JSON.parse('{"__proto__": "x"}') }), '/exitMessages/__proto__: "__proto__" does not match ^(0|[1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$'],
  ];

  const text = (change: (m: Manifest) => unknown, name: string) => JSON.stringify(change({ ...good, spec: { ...good.spec, name } }));

  it('each wrong or hostile manifest is one problem that names the field', () => {
    expect(parseManifest(text((m) => m, 'fine'), 'emflow-command.json')).toMatchObject({ timeoutMs: 100000, successCodes: [0] });
    for (const [name, change, message] of cases) expect(() => parseManifest(text(change, `bad-${name}`), 'emflow-command.json'), name).toThrow(`emflow-command.json: 1 problem\n${message}`);
    expect(() => parseManifest('{"emflow": 1,\n  "spec": }', 'emflow-command.json')).toThrow('emflow-command.json: not valid JSON at line 2, column 11: value expected');
  });

  it('the process runtime and `emflow operators` list a manifest\'s problems under its folder, and load the other operators', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emflow-bad-manifests-'));
    try {
      const folders = { 'unknown-port': cases[0][1], 'proto-key': cases.find(([name]) => name === 'proto-key')![1], fine: (m: Manifest) => m };
      for (const [name, change] of Object.entries(folders)) {
        mkdirSync(join(dir, name));
        writeFileSync(join(dir, name, 'emflow-command.json'), text(change, `bad-${name}`));
      }
      const catalog = await new ProcessRuntime({ operatorDirs: [dir] }).catalog();
      expect(catalog.problems).toHaveLength(2);
      expect(catalog.problems).toContainEqual({ location: join(dir, 'proto-key'), message: 'emflow-command.json: 1 problem\n/__proto__: unknown field "__proto__"' });
      expect(catalog.problems).toContainEqual({ location: join(dir, 'unknown-port'), message: `emflow-command.json: 1 problem\n${cases[0][2]}` });
      expect(catalog.operators.map((o) => o.spec.name)).toContain('bad-fine');
      const listed = spawnSync(process.execPath, [join(root, 'engine/dist/cli/main.js'), 'operators', '--operators', dir], { encoding: 'utf8', timeout: 60_000 });
      expect(listed.status).toBe(1);
      expect(listed.stderr).toContain(`emflow: cannot load operator at ${join(dir, 'unknown-port')}: emflow-command.json: 1 problem\n${cases[0][2]}\n`);
      expect(listed.stderr).not.toMatch(/\n\s+at /); // no stack: nothing crashed
      expect(listed.stdout).toContain('bad-fine');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the manifests of docs/wrapping-programs.md are valid', () => {
    const blocks = [...readFileSync(resolve(root, 'docs/wrapping-programs.md'), 'utf8').matchAll(/```json\n(\{\n {2}"emflow": 1,[^]*?)```/g)].map((m) => m[1]);
    expect(blocks.map((block) => parseManifest(block, 'docs').spec.name)).toEqual(['im-blur', 'motioncor2', 'ctffind4']);
  });

  it('placeholders expand to one argv string each, never split or interpreted; {{ and }} are braces', () => {
    const values: TemplateValues = { input: { image: '/s/in-image.png' }, output: { image: '/s/out-image.png' }, params: { sigma: 1.5, name: 'a b; rm -rf ~ $(x)' }, frame: 7, workdir: '/s' };
    expect(['-blur', '0x{params.sigma}', '{params.name}', '{workdir}/f{frame}.txt', '{{x}}', '{input.image}'].map((t) => expandTemplate(t, values))).toEqual([
      '-blur',
      '0x1.5',
      'a b; rm -rf ~ $(x)',
      '/s/f7.txt',
      '{x}',
      '/s/in-image.png',
    ]);
    expect(parseTemplate('a{{b}}{frame}c')).toEqual(['a{b}', { kind: 'frame' }, 'c']);
    expect(() => parseTemplate('x}')).toThrow('unopened "}" at character 2 (write }} for a literal brace)');
    expect(() => expandTemplate('{params.constructor}', values)).toThrow('{params.constructor} has no value');
  });

  it('a param with a line break cannot answer more than its own stdin line; a NUL reaches no program', () => {
    const values: TemplateValues = { input: {}, output: {}, params: { word: 'x\n99', carriage: 'x\r99', nul: 'a\0b' }, frame: 0, workdir: '/s' };
    expect(expandTemplate('{params.word}', values)).toBe('x\n99'); // one argv string: harmless there
    expect(() => expandTemplate('{params.word}', values, true)).toThrow("{params.word}: a value with a line break cannot go into a stdin line (it would answer the program's next question too)");
    expect(() => expandTemplate('answer {params.carriage}', values, true)).toThrow('{params.carriage}: a value with a line break');
    expect(() => expandTemplate('{params.nul}', values)).toThrow('{params.nul}: a value with a NUL character cannot be passed to a program');
  });
});
