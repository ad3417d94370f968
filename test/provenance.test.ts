// The run record `emflow run --out DIR` writes (DIR/emflow-run.json): its contents against sha256sum and what the
// run printed, a failed run's partial record, Ctrl-C, a symbolic link at the target, and the live --report file.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandLine, newOrChanged, patternFolder, patternRegExp, type RunRecord } from '../engine/src/provenance/record.js';
import { pipeline, root } from './helpers.js';

const cli = join(root, 'engine/dist/cli/main.js');
const scratch = () => mkdtempSync(join(tmpdir(), 'emflow-provenance-'));

function emflow(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** sha256 by coreutils, not by emflow's code. */
function sha256sum(...files: string[]): Record<string, string> {
  const out = execFileSync('sha256sum', ['--', ...files], { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((line) => [line.slice(66), `sha256:${line.slice(0, 64)}`]));
}

const readRecord = (dir: string) => JSON.parse(readFileSync(join(dir, 'emflow-run.json'), 'utf8')) as RunRecord;
const engineVersion = (JSON.parse(readFileSync(join(root, 'engine/package.json'), 'utf8')) as { version: string }).version;

/** A pipeline file using the test operators (test-slow, test-faulty) after a synthetic source, measured by stats. */
function testPipeline(dir: string, count: number, middle: { operator: string; params: Record<string, unknown> }): string {
  const document = {
    ...pipeline(
      [
        { id: 'src', operator: 'synthetic', params: { count, width: 32, height: 32 } },
        { id: 'mid', ...middle },
        { id: 'stats', operator: 'stats' },
      ],
      ['src.image->mid.image', 'mid.image->stats.image'],
    ),
    operators: [resolve(root, 'test/operators')],
  };
  const file = join(dir, 'pipeline.json');
  writeFileSync(file, JSON.stringify(document));
  return file;
}

describe('name patterns and stat snapshots (pure)', () => {
  it('matches what a writer pattern can produce, below the folder no field changes', () => {
    const re = patternRegExp('/r/out/frame-{frame:04d}.{{x}}.png');
    expect(re.test('/r/out/frame-0007.{x}.png')).toBe(true);
    expect(re.test('/r/out/frame-a.{x}.png')).toBe(false);
    expect(patternRegExp('/r/{node}/{name}.tif').test('/r/png/mic-000.tif')).toBe(true);
    expect(patternRegExp('/r/{node}/{name}.tif').test('/r/a/b/c.tif')).toBe(false);
    expect(patternFolder('/r/out/frame-{frame}.png')).toEqual({ folder: '/r/out', depth: 0 });
    expect(patternFolder('/r/{node}/x/{name}.png')).toEqual({ folder: '/r', depth: 2 });
    expect(patternFolder('/r/fixed.png')).toEqual({ folder: '/r', depth: 0 });
    expect(newOrChanged(new Map([['/a', '1'], ['/b', '1']]), new Map([['/a', '1'], ['/b', '2'], ['/c', '1']]))).toEqual(['/b', '/c']);
    expect(commandLine(['emflow', 'run', 'p.json', '--set', "a.b=it's"])).toBe(`emflow run p.json --set 'a.b=it'\\''s'`);
  });
});

describe('emflow run --out writes emflow-run.json', () => {
  it('records the resolved pipeline, operators with identities, input and output hashes (as sha256sum computes them), timings, host and times', () => {
    const out = scratch();
    const written = join(scratch(), 'png');
    const started = Date.now();
    const result = emflow('run', 'pipelines/emdb-projection.json', '--out', out, '--json', '--set', `png.path=${written}/p-{frame:02d}.png`);
    const ended = Date.now();
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    const record = readRecord(out);

    expect(record).toMatchObject({ emflowRun: 1, status: 'ok', runtime: 'process', hashed: true, outDir: out, engine: { version: engineVersion, node: process.version } });
    expect(record.failure).toBeUndefined();
    expect(record.host).toMatchObject({ name: hostname(), user: userInfo().username });
    expect(record.command.argv.slice(2)).toEqual(['run', 'pipelines/emdb-projection.json', '--out', out, '--json', '--set', `png.path=${written}/p-{frame:02d}.png`]);
    expect(record.command.cwd).toBe(resolve(root));
    expect(record.command.line).toMatch(/^emflow run pipelines\/emdb-projection.json --out /);
    const [start, end] = [Date.parse(record.startTime), Date.parse(record.endTime!)];
    expect(new Date(start).toISOString()).toBe(record.startTime);
    expect(start).toBeGreaterThanOrEqual(started - 1000);
    expect(end).toBeGreaterThanOrEqual(start);
    expect(end).toBeLessThanOrEqual(ended + 1000);
    expect(record.wallMs).toBe(report.wallMs);

    // the document as run: --set applied, defaults filled in, paths absolute
    const pipelineFile = join(root, 'pipelines/emdb-projection.json');
    expect(record.pipeline).toMatchObject({ file: pipelineFile, sha256: sha256sum(pipelineFile)[pipelineFile], name: 'EMDB map projection', settings: [`png.path=${written}/p-{frame:02d}.png`] });
    const params = Object.fromEntries(record.pipeline.document.nodes.map((n) => [n.id, n.params]));
    expect(params.map.path).toBe(join(root, 'data/EMD-3001.map'));
    expect(params.png.path).toBe(`${written}/p-{frame:02d}.png`);
    expect(params.blur).toEqual({ sigma: 1 });
    expect(params.png).toHaveProperty('bitDepth');

    // every node: its operator, version, identity and the run report's figures
    expect(record.nodes.map((n) => n.id)).toEqual(['map', 'project', 'blur', 'png', 'stats']);
    const operators = JSON.parse(emflow('operators', '--json').stdout).operators as { spec: { name: string; version: string }; identity: string }[];
    for (const node of record.nodes) {
      const listed = operators.find((o) => o.spec.name === node.operator)!;
      expect(node).toMatchObject({ version: listed.spec.version, identity: listed.identity, state: 'done', cached: false });
      expect(node.identity).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(node.location).toBe(join(root, 'operators', node.operator));
      expect({ frames: node.frames, ms: node.ms, medianMs: node.medianMs }).toEqual({ frames: report.nodes[node.id].frames, ms: report.nodes[node.id].ms, medianMs: report.nodes[node.id].medianMs });
      expect(node.ms).toBeGreaterThan(0);
    }

    // the input the reader read, and the files --out and the writer wrote, hashed
    const map = join(root, 'data/EMD-3001.map');
    expect(record.inputs).toEqual([{ node: 'map', param: 'path', named: map, path: map, size: lstatSync(map).size, sha256: sha256sum(map)[map] }]);
    const png = join(written, 'p-00.png');
    const stats = join(out, 'stats.stats.0.json');
    const sums = sha256sum(png, stats);
    expect(record.outputs).toEqual([
      { by: 'out', path: stats, node: 'stats', port: 'stats', frame: 0, size: lstatSync(stats).size, sha256: sums[stats] },
      { by: 'writer', path: png, node: 'png', param: 'path', size: lstatSync(png).size, sha256: sums[png] },
    ]);
    expect(report.outputs).toEqual([stats]);
  });

  it('hashes every file of a folder a source reads', () => {
    const out = scratch();
    expect(emflow('run', 'pipelines/micrograph-stream.json', '--out', out).code).toBe(0);
    const record = readRecord(out);
    const folder = join(root, 'data/micrographs');
    const files = readdirSync(folder).sort().map((name) => join(folder, name));
    const sums = sha256sum(...files);
    expect(record.inputs).toEqual(files.map((path) => ({ node: 'micrographs', param: 'folder', named: folder, path, size: lstatSync(path).size, sha256: sums[path] })));
    expect(record.nodes.find((n) => n.id === 'stats')).toMatchObject({ frames: 6, cached: false });
    expect(record.outputs.map((o) => o.frame)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('records the replicas of a node that scales up: the most at once, and each change with when and why', () => {
    const dir = scratch();
    const file = testPipeline(dir, 30, { operator: 'test-slow', params: { ms: 40 } });
    const document = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Record<string, unknown>[] };
    document.nodes = document.nodes.map((n) => (n.id === 'mid' ? { ...n, replicas: { min: 1, max: 3, threshold: 1 } } : n));
    writeFileSync(file, JSON.stringify(document));
    const out = join(dir, 'out');
    expect(emflow('run', file, '--out', out).code).toBe(0);
    const { nodes } = readRecord(out);
    const mid = nodes.find((n) => n.id === 'mid')!;
    expect(mid.frames).toBe(30);
    // the source fills the queue at once: slow's 1.2 s of work alone is time for more replicas (checked every 250 ms)
    expect(mid.replicas!.peak).toBeGreaterThanOrEqual(2);
    expect(mid.replicas!.changes[0]).toMatchObject({ replicas: 2 });
    expect(mid.replicas!.changes.every((c) => c.atMs >= 0 && typeof c.reason === 'string' && c.reason.length > 0)).toBe(true);
    expect(Math.max(...mid.replicas!.changes.map((c) => c.replicas))).toBe(mid.replicas!.peak);
    expect(nodes.find((n) => n.id === 'stats')!.replicas).toBeUndefined();
  });

  it('a failed run leaves a partial record: status failed, the failure, what was written before it, node states', () => {
    const dir = scratch();
    const out = join(dir, 'out');
    const file = testPipeline(dir, 5, { operator: 'test-faulty', params: { mode: 'throw', at: 2 } });
    const result = emflow('run', file, '--out', out);
    expect(result.code).toBe(1);
    const record = readRecord(out);
    expect(record.status).toBe('failed');
    expect(record.failure).toMatchObject({ node: 'mid', operator: 'test-faulty', frame: 2 });
    expect(result.stderr).toContain(record.failure!.detail!);
    expect(record.endTime).toBeDefined();
    expect(record.hashed).toBe(true);
    const files = readdirSync(out).filter((f) => f.startsWith('stats.')).sort();
    expect(record.outputs.map((o) => o.path).sort()).toEqual(files.map((f) => join(out, f)));
    const sums = files.length ? sha256sum(...files.map((f) => join(out, f))) : {};
    for (const output of record.outputs) expect(output.sha256).toBe(sums[output.path]);
    expect(record.nodes.find((n) => n.id === 'mid')).toMatchObject({ operator: 'test-faulty', state: 'failed' });
    expect(record.nodes.every((n) => n.ms === undefined)).toBe(true); // no run report for a failed run
  });

  it('refuses a symbolic link where the record goes: the file it points at is left alone, the command fails', () => {
    const out = scratch();
    const victim = join(scratch(), 'victim.txt');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(out, 'emflow-run.json'));
    const result = emflow('run', 'pipelines/blur-stats.json', '--out', out);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/emflow-run\.json is a symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(join(out, 'emflow-run.json')).isSymbolicLink()).toBe(true);
    expect(readdirSync(out).filter((f) => f.startsWith('.emflow-'))).toEqual([]); // no temporary left
  });

  it('Ctrl-C writes the record at once (status interrupted, outputs so far, sizes without hashes) and the report', async () => {
    const dir = scratch();
    const out = join(dir, 'out');
    const report = join(dir, 'report.html');
    const file = testPipeline(dir, 50, { operator: 'test-slow', params: { ms: 150 } });
    const child = spawn(process.execPath, [cli, 'run', file, '--out', out, '--report', report], { cwd: root, stdio: 'ignore' });
    for (let i = 0; i < 300 && !(existsSync(out) && readdirSync(out).filter((f) => f.startsWith('stats.')).length >= 2); i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    const record = readRecord(out);
    expect(record).toMatchObject({ status: 'interrupted', hashed: false, failure: { message: 'interrupted' } });
    expect(record.outputs.length).toBeGreaterThanOrEqual(2);
    expect(record.outputs.length).toBeLessThan(50);
    for (const output of record.outputs) expect(output).toMatchObject({ by: 'out', size: lstatSync(output.path).size });
    expect(record.outputs.every((o) => o.sha256 === undefined)).toBe(true);
    expect(readFileSync(report, 'utf8')).toContain('<span class="status interrupted">interrupted</span>');
  });
});

describe('emflow run --report FILE', () => {
  it('rewrites the report while the run goes, always whole (atomic), and last with the final record', async () => {
    const dir = scratch();
    const report = join(dir, 'served', 'report.html');
    mkdirSync(join(dir, 'served'));
    const frames = 12;
    const file = testPipeline(dir, frames, { operator: 'test-slow', params: { ms: 400 } });
    const child = spawn(process.execPath, [cli, 'run', file, '--report', report], { cwd: root, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    let done = false;
    void exited.then(() => (done = true));
    const versions = new Set<string>();
    let reads = 0;
    while (!done) {
      if (existsSync(report)) {
        const text = readFileSync(report, 'utf8'); // what a web server would send now
        reads++;
        expect(text.startsWith('<!DOCTYPE html>')).toBe(true);
        expect(text.endsWith('</html>\n')).toBe(true);
        versions.add(text);
      }
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(await exited).toBe(0);
    expect(reads).toBeGreaterThan(50);
    const running = [...versions].filter((v) => v.includes('<span class="status running">'));
    expect(running.length).toBeGreaterThanOrEqual(2); // rewritten as frames arrived
    expect(running.some((v) => v.includes('http-equiv="refresh"'))).toBe(true);
    const final = readFileSync(report, 'utf8');
    expect(final).toContain('<span class="status ok">ok</span>');
    expect(final).not.toContain('http-equiv="refresh"');
    const data = JSON.parse(/<script type="application\/json" id="emflow-report-data">(.*?)<\/script>/s.exec(final)![1]) as { plots: { title: string; x: number[] }[] };
    const mean = data.plots.find((p) => p.title === 'stats.stats · mean')!;
    expect(mean.x).toEqual(Array.from({ length: frames }, (_, i) => i));
    expect(readdirSync(join(dir, 'served'))).toEqual(['report.html']); // no temporary left behind
  });
});
