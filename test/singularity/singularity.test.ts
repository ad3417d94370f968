// The singularity runtime against real Apptainer: SIF images built without Docker carry the operators' specs;
// the same pipelines give bit-for-bit the same outputs as the process runtime; operators are contained; faults
// are reported clearly; nothing is left behind.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openSession, ProcessRuntime, RunError, SingularityRuntime, type Session } from '@emflow/engine';
import type { JsonFrame } from '@emflow/sdk';
import { exampleWritingInto, expectNoLeaks, filesIn, operatorDirs, pipeline, processesOf, root, sessionSnapshot, sifImages, zipAndBroadcast } from '../helpers.js';

const sessions: Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) {
    await s.close();
    await expectNoLeaks(s.paths.dir);
  }
});
const scratch = mkdtempSync(join(tmpdir(), 'emflow-singularity-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const singularity = new SingularityRuntime({ images: sifImages, slurm: false });

async function open(runtime: 'process' | 'singularity', document: object | string, options: Record<string, unknown> = {}) {
  const session = await openSession({ pipeline: document, runtime: runtime === 'process' ? 'process' : singularity, operatorDirs, ...options });
  sessions.push(session);
  return session;
}

describe('SIF images', () => {
  it('carry the same spec as the operator folder, with the SIF file digest as identity', async () => {
    const processes = new ProcessRuntime({ operatorDirs });
    const local = await processes.catalog();
    const { operators, problems } = await singularity.catalog();
    expect(problems).toEqual([]);
    // SIF images are built for TypeScript operators only (Python and wrapped-program operators are skipped)
    const typescript = local.operators.filter((o) => processes.entryOf(o)?.kind === 'node');
    expect(operators.map((o) => o.spec.name).sort()).toEqual(typescript.map((o) => o.spec.name).sort());
    for (const info of operators) expect(info.spec).toEqual(local.operators.find((o) => o.spec.name === info.spec.name)!.spec);
    const blur = operators.find((o) => o.spec.name === 'gaussian-blur')!;
    expect(blur.identity).toBe(`sha256:${execFileSync('sha256sum', [blur.location], { encoding: 'utf8' }).split(' ')[0]}`);
    expect(JSON.parse(execFileSync('apptainer', ['inspect', '--labels', '--json', blur.location], { encoding: 'utf8' })).data.attributes.labels).toMatchObject({
      'org.opencontainers.image.title': 'gaussian-blur',
      'org.opencontainers.image.version': blur.spec.version,
    });
  });

  it('are listed by emflow operators --runtime singularity, and a corrupt or unlabelled file is a problem naming it', () => {
    const listed = JSON.parse(execFileSync(process.execPath, [join(root, 'engine/dist/cli/main.js'), 'operators', '--runtime', 'singularity', '--images', sifImages, '--json'], { encoding: 'utf8' }));
    expect(listed.operators.map((o: { spec: { name: string } }) => o.spec.name)).toContain('gaussian-blur');
    const folder = mkdtempSync(join(scratch, 'images-'));
    const blur = readdirSync(sifImages).find((f) => f.startsWith('gaussian-blur-'))!;
    copyFileSync(join(sifImages, blur), join(folder, blur));
    writeFileSync(join(folder, 'corrupt.sif'), Buffer.alloc(4096, 7));
    const result = spawnSync(process.execPath, [join(root, 'engine/dist/cli/main.js'), 'operators', '--runtime', 'apptainer', '--images', folder], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('gaussian-blur');
    expect(result.stderr).toContain(`cannot load operator at ${join(folder, 'corrupt.sif')}: not a readable SIF image`);
  });

  it('say clearly when apptainer is missing or the folder has no images', async () => {
    await expect(new SingularityRuntime({ images: sifImages, apptainer: join(scratch, 'no-such-apptainer') }).catalog()).rejects.toThrow(/singularity runtime: .*no-such-apptainer.* does not run/);
    const { operators, problems } = await new SingularityRuntime({ images: join(scratch, 'nothing-here') }).catalog();
    expect(operators).toEqual([]);
    expect(problems[0].message).toContain('no such folder of SIF images');
  });
});

describe('conformance: singularity and process runtimes give identical outputs', () => {
  it.each([
    ['pipelines/blur-stats.json', `${root}pipelines/blur-stats.json`],
    ['zip and broadcast', zipAndBroadcast],
  ] as const)('%s', async (_name, document) => {
    const local = await open('process', document);
    await local.run();
    const contained = await open('singularity', document);
    const report = await contained.run();
    expect(Object.values(report.nodes).every((n) => n.frames > 0)).toBe(true);
    expect(sessionSnapshot(contained)).toEqual(sessionSnapshot(local));
  });

  it.each(['emdb-projection', 'tiff-diffractogram', 'lattice-peaks', 'micrograph-stream'])('the EM example %s, data bound read-only and results written through a writable bind', async (name) => {
    const results = mkdtempSync(join(scratch, 'conformance-'));
    const baseDir = join(root, 'pipelines');
    const local = await open('process', exampleWritingInto(name, results, 'process'), { baseDir });
    await local.run();
    const contained = await open('singularity', exampleWritingInto(name, results, 'singularity'), { baseDir });
    await contained.run();
    expect(sessionSnapshot(contained)).toEqual(sessionSnapshot(local));
    expect(filesIn(join(results, 'singularity'))).toEqual(filesIn(join(results, 'process')));
  });

  it('re-runs only the last node after its param changes, operators kept warm', async () => {
    const session = await open('singularity', `${root}pipelines/blur-stats.json`);
    await session.run();
    const pids = processesOf(session.paths.dir).sort();
    session.setParams('stats', {});
    session.setParams('scale', { a: 7 });
    const report = await session.run();
    expect(Object.fromEntries(Object.entries(report.nodes).map(([id, n]) => [id, n.cached]))).toEqual({ src: true, blur: true, scale: false, stats: false });
    expect(processesOf(session.paths.dir).sort()).toEqual(pids);
  });
});

describe('operators in Apptainer', () => {
  it('are contained: clean environment, only their own slot folder writable, no other shared memory, no home, no host tree', async () => {
    const session = await open('singularity', pipeline([{ id: 'probe', operator: 'test-sandbox-probe', params: { hostPath: root } }], []));
    await session.run();
    const [{ value }] = session.outputs('probe', 'report') as JsonFrame<Record<string, unknown>>[];
    // nothing of the engine's environment but what the operator needs
    expect((value.env as string[]).filter((name) => name.startsWith('EMFLOW_')).sort()).toEqual(['EMFLOW_MODULE', 'EMFLOW_NODE', 'EMFLOW_OPERATOR', 'EMFLOW_SESSION_DIR', 'EMFLOW_SOCKET', 'EMFLOW_TOKEN']);
    expect((value.env as string[]).filter((name) => name.startsWith('npm_') || name.startsWith('VITEST'))).toEqual([]);
    expect(value.ownFolderWrite).toBe('written');
    expect(value.sessionWrite).not.toBe('written');
    expect(value.rootWrite).not.toBe('written');
    // a private, empty /dev/shm: the session folder is bound at /emflow/session, no other session is visible
    expect(value.devShm).toEqual([]);
    expect(value.hostPathVisible).toBe(false);
    // a network namespace of its own with loopback only
    expect(value.interfaces).toEqual(['lo']);
  });

  it('report an operator that exits, with its exit code and last output, and start it again for the next run', async () => {
    const session = await open(
      'singularity',
      pipeline(
        [
          { id: 'src', operator: 'synthetic', params: { width: 16, height: 16, count: 2 } },
          { id: 'faulty', operator: 'test-faulty', params: { mode: 'exit', at: 1 } },
        ],
        ['src.image->faulty.image'],
      ),
    );
    const failure = await session.run().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RunError);
    expect((failure as RunError).message).toMatch(/node "faulty" \(test-faulty\) on frame 1: .*exited with code 3/);
    expect((failure as RunError).failure.log).toContain('about to exit with code 3');
    session.setParams('faulty', { mode: 'ok' });
    expect((await session.run()).nodes.faulty.frames).toBe(2);
  });
});

describe('under Slurm', () => {
  const cli = join(root, 'engine/dist/cli/main.js');
  const emflow = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const submitted: string[] = [];
  afterAll(() => void (submitted.length && spawnSync('scancel', submitted)));
  const submit = (...args: string[]) => {
    const result = emflow('submit', ...args, '--runtime', 'singularity', '--images', sifImages, '--json');
    expect(result.status, result.stderr).toBe(0);
    const job = JSON.parse(result.stdout) as { job: string; out: string; log: string };
    submitted.push(job.job);
    return job;
  };
  const state = (id: string) => (JSON.parse(emflow('jobs', '--json').stdout) as { jobs: { id: string; state: string }[] }).jobs.find((j) => j.id === id)?.state;
  const until = async <T>(what: string, probe: () => T | undefined, ms = 180_000): Promise<T> => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 500))) {
      const value = probe();
      if (value !== undefined) return value;
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const jobProcesses = (id: string) =>
    readdirSync('/proc').filter((pid) => {
      try {
        return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`SLURM_JOB_ID=${id}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
      } catch {
        return false;
      }
    });

  it('a batch job on the singularity runtime writes the same files as a local run on the process runtime', async () => {
    const local = mkdtempSync(join(scratch, 'local-'));
    expect(emflow('run', 'pipelines/blur-stats.json', '--out', local).status).toBe(0);
    const job = submit('pipelines/blur-stats.json', '--out', join(scratch, 'batch'));
    expect(await until('the job to end', () => (['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT'].includes(state(job.job) ?? '') ? state(job.job) : undefined))).toBe('COMPLETED');
    // the run record (emflow-run.json) differs from run to run: times, host, command
    const results = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'emflow-run.json').sort();
    const files = results(local);
    expect(files.length).toBe(4);
    expect(results(job.out)).toEqual(files);
    for (const file of files) expect(readFileSync(join(job.out, file)).equals(readFileSync(join(local, file))), file).toBe(true);
  });

  it('starts each operator as its own job step, and leaves nothing behind when the job is cancelled', async () => {
    const document = join(scratch, 'slow.json');
    writeFileSync(
      document,
      JSON.stringify(
        pipeline(
          [
            { id: 'src', operator: 'synthetic', params: { width: 32, height: 32, count: 100000 } },
            { id: 'slow', operator: 'test-slow', params: { ms: 20 } },
          ],
          ['src.image->slow.image'],
        ),
      ),
    );
    const job = submit(document, '--out', join(scratch, 'slow'));
    const steps = await until('both operators running as job steps', () => {
      const names = spawnSync('squeue', ['--steps', '--noheader', '--format=%j', `--jobs=${job.job}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
      return names.includes('emflow-src') && names.includes('emflow-slow') ? names : undefined;
    });
    expect(steps).toEqual(expect.arrayContaining(['emflow-slow', 'emflow-src']));
    expect(spawnSync('scancel', [job.job]).status).toBe(0);
    await until('the job to be gone', () => (['RUNNING', 'PENDING', 'COMPLETING'].includes(state(job.job) ?? '') ? undefined : true));
    await until('its processes to be gone', () => (jobProcesses(job.job).length ? undefined : true), 30_000);
  });
});
