// The emflow command as a user runs it: exit codes, messages, --json, --out files checked with NumPy, Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectNoLeaks, firstDifference, numpy, pipeline, processesOf, root, type NodeSketch } from './helpers.js';

const cli = join(root, 'engine/dist/cli/main.js');

function emflow(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const scratch = () => mkdtempSync(join(tmpdir(), 'emflow-cli-'));
/** Was this session folder made by process `pid`? (other test files open sessions at the same time) */
function ownedBy(dir: string, pid: number): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as { pid: number }).pid === pid;
  } catch {
    return false; // not written yet, or gone
  }
}
function file(name: string, text: string): string {
  const path = join(scratch(), name);
  writeFileSync(path, text);
  return path;
}

describe('emflow validate', () => {
  it('exits 0 for the example pipelines', () => {
    const result = emflow('validate', 'pipelines/blur-stats.json', 'pipelines/lattice-branches.json');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('pipelines/blur-stats.json: valid');
  });

  it('exits 1 with one line per problem, each starting with its JSON pointer', () => {
    const bad = file(
      'bad.json',
      JSON.stringify({
        emflow: 1,
        nodes: [
          { id: 'src', operator: 'synthetic', params: { width: 0 } },
          { id: 'blur', operator: 'gaussian-blurr' },
        ],
        edges: [{ from: { node: 'src', port: 'img' }, to: { node: 'blur', port: 'image' } }],
      }),
    );
    const result = emflow('validate', bad);
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split('\n')).toEqual([
      '/nodes/0/params/width: expected a value >= 1, got 0',
      '/nodes/1/operator: unknown operator "gaussian-blurr" (see `emflow operators`)',
      '/edges/0/from/port: node "src" (synthetic) has no output port "img" (outputs: image)',
    ]);
  });

  it('exits 2 with one line for a file that is not JSON or does not exist', () => {
    const broken = file('broken.json', '{\n  "emflow": 1,\n  "nodes": [,]\n}');
    const result = emflow('validate', broken);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(new RegExp(`^emflow: ${broken}: not valid JSON at line 3, column \\d+: .+$`));
    const missing = emflow('validate', '/nonexistent.json');
    expect([missing.code, missing.stderr.trim()]).toEqual([2, 'emflow: /nonexistent.json: cannot read pipeline: no such file']);
    expect(emflow('validate').code).toBe(2);
  });
});

describe('emflow run', () => {
  it('prints the run report as JSON and writes unconsumed outputs that NumPy reads back, equal to SciPy blurring and NumPy scaling the source', () => {
    const out = scratch();
    const result = emflow('run', 'pipelines/lattice-branches.json', '--json', '--out', out, '--set', 'blur.sigma=2');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ ok: true, runtime: 'process', nodes: { lattice: { frames: 2, cached: false }, blur: { frames: 2 }, contrast: { frames: 2 } } });
    expect(readdirSync(out).sort()).toEqual([
      'blur_stats.stats.0.json',
      'blur_stats.stats.1.json',
      'contrast.image.0.npy',
      'contrast.image.1.npy',
      'emflow-run.json', // the run record (provenance)
      'raw_stats.stats.0.json',
      'raw_stats.stats.1.json',
    ]);
    // The lattice is consumed inside the pipeline: its source node alone writes the same frames for NumPy.
    const example = JSON.parse(readFileSync(join(root, 'pipelines/lattice-branches.json'), 'utf8')) as { nodes: NodeSketch[] };
    const sourceOut = scratch();
    const lattice = example.nodes.find((n) => n.id === 'lattice')!;
    expect(emflow('run', file('lattice.json', JSON.stringify(pipeline([lattice], []))), '--out', sourceOut).code).toBe(0);
    expect(readdirSync(sourceOut).sort()).toEqual(['emflow-run.json', 'lattice.image.0.npy', 'lattice.image.1.npy']);

    // NumPy reads our .npy; SciPy blurs the lattice and NumPy scales it, as contrast = 10 · blur − 0.5
    const [contrast, raw, reference] = numpy(['read', join(out, 'contrast.image.1.npy'), join(sourceOut, 'lattice.image.0.npy')], ['blur-scale', join(sourceOut, 'lattice.image.1.npy'), 2, 10, -0.5]);
    expect([contrast.dtype, contrast.shape]).toEqual(['float32', [96, 128]]);
    // float32 rounding makes them differ by about 4e-7 on values up to 3.2; 1e-4 leaves room for another summation order
    expect(firstDifference(contrast.values, reference.values, 1e-4)).toBeUndefined();
    const stats = JSON.parse(readFileSync(join(out, 'raw_stats.stats.0.json'), 'utf8'));
    expect(stats.mean).toBeCloseTo(raw.stats.mean!, 9);
    expect(stats.std).toBeCloseTo(raw.stats.std!, 9);
    expect([stats.min, stats.max]).toEqual([raw.stats.min, raw.stats.max]);
  });

  it('fails with exit 1 and one paragraph naming the node when an operator fails', () => {
    const pipeline = file(
      'fails.json',
      JSON.stringify({
        emflow: 1,
        nodes: [
          { id: 'src', operator: 'synthetic', params: { width: 8, height: 8, count: 3 } },
          { id: 'bad', operator: 'test-faulty', params: { mode: 'throw', at: 2 } },
        ],
        edges: [{ from: { node: 'src', port: 'image' }, to: { node: 'bad', port: 'image' } }],
      }),
    );
    const result = spawnSync(process.execPath, [cli, 'run', pipeline], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, EMFLOW_OPERATORS_PATH: join(root, 'test/operators') },
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('emflow: run failed: node "bad" (test-faulty) on frame 2: RangeError: deliberate failure at frame 2');
  });

  it('reports bad params with their pointer, and usage errors with exit 2', () => {
    const result = emflow('run', 'pipelines/blur-stats.json', '--set', 'blur.sigma="wide"');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('pipelines/blur-stats.json: 1 problem\n/nodes/1/params/sigma: expected number, got "wide"');
    expect(emflow('run', 'pipelines/blur-stats.json', '--set', 'nosuch.sigma=1')).toMatchObject({ code: 2, stderr: 'emflow: --set nosuch.sigma=1: pipelines/blur-stats.json has no node "nosuch" (nodes: src, blur, scale, stats)\n' });
    expect(emflow('run', 'pipelines/blur-stats.json', '--frames', '0')).toMatchObject({ code: 2, stderr: 'emflow: --frames expects a positive integer, got "0"\n' });
    expect(emflow('run', 'pipelines/blur-stats.json', '--bogus').code).toBe(2);
  });

  it('stops operators and removes its shared memory on Ctrl-C', async () => {
    const long = file(
      'long.json',
      JSON.stringify({
        emflow: 1,
        nodes: [
          { id: 'src', operator: 'synthetic', params: { pattern: 'gaussian-blobs', width: 512, height: 512, count: 100000 } },
          { id: 'scale', operator: 'scale' },
          { id: 'stats', operator: 'stats' },
        ],
        edges: [
          { from: { node: 'src', port: 'image' }, to: { node: 'scale', port: 'image' } },
          { from: { node: 'scale', port: 'image' }, to: { node: 'stats', port: 'image' } },
        ],
      }),
    );
    const before = new Set(readdirSync('/dev/shm'));
    const child = spawn(process.execPath, [cli, 'run', long], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let dir: string | undefined;
    for (let i = 0; i < 200 && !dir; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const fresh = readdirSync('/dev/shm').find((n) => n.startsWith('emflow-') && !before.has(n) && ownedBy(`/dev/shm/${n}`, child.pid!));
      if (fresh && processesOf(`/dev/shm/${fresh}`).length === 3) dir = `/dev/shm/${fresh}`;
    }
    expect(dir).toBeDefined();
    await new Promise((r) => setTimeout(r, 500)); // frames are flowing
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(stderr).toContain('interrupted, stopping operators');
    await expectNoLeaks(dir!);
  });
});

describe('emflow run on a watching source', () => {
  it('stops promptly on Ctrl-C although the source never finishes its step', async () => {
    const before = new Set(readdirSync('/dev/shm'));
    const child = spawn(process.execPath, [cli, 'run', 'pipelines/micrograph-stream.json', '--set', 'micrographs.watch=true', '--set', 'micrographs.interval=100'], { cwd: root, stdio: 'ignore' });
    let dir: string | undefined;
    for (let i = 0; i < 200 && !dir; i++) {
      await new Promise((r) => setTimeout(r, 100));
      // this child's session (other test files open sessions meanwhile): its owner file names the child
      const fresh = readdirSync('/dev/shm').find((n) => n.startsWith('emflow-') && !before.has(n) && ownedBy(`/dev/shm/${n}`, child.pid!));
      if (fresh && processesOf(`/dev/shm/${fresh}`).length === 4) dir = `/dev/shm/${fresh}`;
    }
    expect(dir).toBeDefined();
    await new Promise((r) => setTimeout(r, 1500)); // the six files are done; the source is watching
    const interrupted = Date.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(Date.now() - interrupted).toBeLessThan(5000);
    await expectNoLeaks(dir!);
  });
});

describe('emflow operators', () => {
  it('lists the shipped operators with their specs as JSON', () => {
    const result = emflow('operators', '--json');
    expect(result.code).toBe(0);
    const { operators } = JSON.parse(result.stdout);
    const names = operators.map((o: { spec: { name: string } }) => o.spec.name);
    expect(names).toEqual(expect.arrayContaining(['synthetic', 'scale', 'gaussian-blur', 'stats']));
    const blur = operators.find((o: { spec: { name: string } }) => o.spec.name === 'gaussian-blur');
    expect(blur.spec.params.sigma).toMatchObject({ type: 'number', minimum: 0, default: 1, units: 'px' });
    expect(blur.identity).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('says in one line, without a stack, that a runtime is not available on this machine', () => {
    for (const [runtime, env, expected] of [
      ['singularity', { EMFLOW_APPTAINER: '/nonexistent/apptainer' }, 'emflow: singularity runtime: /nonexistent/apptainer does not run (ENOENT)'],
      ['docker', { DOCKER_SOCKET: '/nonexistent.sock' }, 'emflow: docker runtime: cannot reach the Docker daemon at /nonexistent.sock'],
    ] as const) {
      const result = spawnSync(process.execPath, [cli, 'operators', '--runtime', runtime], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
      expect(result.status, runtime).toBe(1);
      expect(result.stderr.trim().split('\n'), runtime).toHaveLength(1);
      expect(result.stderr, runtime).toContain(expected);
    }
  });

  it('explains every command with --help', () => {
    for (const command of ['run', 'validate', 'operators', 'bench']) {
      const result = emflow(command, '--help');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: emflow ${command}`);
    }
  });
});
