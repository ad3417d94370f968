// Multi-node runs on three real Slurm hosts (network namespaces with their own hostname and slurmd, joined by a
// bridge; test/infra/hosts.sh): the example pipelines spread one node per host give byte-identical outputs to one
// host; --plan prints the placement and starts nothing; a pipeline that cannot fit is refused before anything
// starts; an agent killed mid-run fails the run naming the node and its host, and nothing is left on any host.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSifs, ProcessRuntime } from '@emflow/engine';
import { operatorDirs, root, sifImages } from '../helpers.js';
import { HOSTS_SLURM_CONF } from './global-setup.js';

const HOSTS = ['emflow-h1', 'emflow-h2', 'emflow-h3'];
const cli = join(root, 'engine/dist/cli/main.js');
const env = { ...process.env, SLURM_CONF: HOSTS_SLURM_CONF };
const scratch = mkdtempSync(join(tmpdir(), 'emflow-hosts-'));
const jobs: string[] = [];
afterAll(() => {
  if (jobs.length) spawnSync('scancel', jobs, { env });
  rmSync(scratch, { recursive: true, force: true });
});

interface Job {
  id: string;
  code: number | null;
  log: string;
}

/** Submit a bash script as a job of the three hosts (2 CPUs each); `ended` resolves once the job is over. */
function submit(name: string, body: string): { ended: Promise<Job>; id: () => string | undefined } {
  const script = join(scratch, `${name}.sh`);
  const log = join(scratch, `${name}.log`);
  writeFileSync(script, `#!/bin/bash\nset -u\ncd ${root}\n${body}\n`);
  let id: string | undefined;
  const sbatch = spawn('sbatch', ['--wait', '--parsable', '-N3', '--exclusive', '-p', 'hosts', `--output=${log}`, script], { env });
  sbatch.stdout.on('data', (chunk: Buffer) => {
    id ??= chunk.toString().trim().split(';')[0];
    jobs.push(id);
  });
  const ended = new Promise<Job>((resolve) => sbatch.on('close', (code) => resolve({ id: id ?? '?', code, log: existsSync(log) ? readFileSync(log, 'utf8') : '' })));
  return { ended, id: () => id };
}

/** An edge from one node's `image` output to another's `image` input, as the pipelines written here have. */
const imageEdge = (from: string, to: string) => ({ from: { node: from, port: 'image' }, to: { node: to, port: 'image' } });

const emflowLine = (args: string) => `${process.execPath} ${cli} ${args}`;

/** Bytes the kernel has sent into a host's namespace so far (its bridge port's transmit counter). */
function bytesInto(host: string): number {
  return Number(readFileSync(`/sys/class/net/veth-emfl-${host.slice('emflow-'.length)}/statistics/tx_bytes`, 'utf8'));
}

/** Processes on a host that are not its slurmd: agents, operators, job steps left behind. */
function strays(host: string): string[] {
  const daemon = readFileSync(`/run/slurm-hosts/slurmd-${host}.pid`, 'utf8').trim();
  const pids = spawnSync('ip', ['netns', 'pids', `emfl-${host.slice('emflow-'.length)}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  return pids.filter((pid) => pid !== daemon).map((pid) => `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`);
}

/** Slot folders in /dev/shm that an engine or agent on one of the test hosts made. */
function hostFolders(): string[] {
  return readdirSync('/dev/shm')
    .filter((name) => name.startsWith('emflow-'))
    .filter((name) => {
      try {
        return HOSTS.includes((JSON.parse(readFileSync(join('/dev/shm', name, 'owner.json'), 'utf8')) as { host: string }).host);
      } catch {
        return false;
      }
    });
}

/** Nothing of a run stays on any host: no process but slurmd, no slot folder (job steps take a moment to end). */
async function expectNothingLeft(): Promise<void> {
  let left: string[] = [];
  for (let i = 0; i < 100; i++) {
    left = [...HOSTS.flatMap(strays), ...hostFolders()];
    if (!left.length) return;
    await sleep(100);
  }
  expect(left).toEqual([]);
}

/** Files of an --out folder but the run record, by name. */
function outputs(dir: string): Map<string, Buffer> {
  return new Map(
    readdirSync(dir)
      .filter((name) => name !== 'emflow-run.json')
      .sort()
      .map((name) => [name, readFileSync(join(dir, name))]),
  );
}

/** The outputs of `emflow run ARGS` on this machine alone, outside any job: what a run over the hosts must match. */
function oneHostOutputs(name: string, args: string[]): Map<string, Buffer> {
  const here = join(scratch, `${name}-one-host`);
  const local = spawnSync(process.execPath, [cli, 'run', ...args, '--out', here, '--progress', 'none'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  expect(local.status, `${name} on one host: ${local.stderr}`).toBe(0);
  return outputs(here);
}

/** `out` holds exactly the files of `expected`, each byte for byte. */
function expectSameOutputs(out: string, expected: Map<string, Buffer>): void {
  expect([...outputs(out)].map(([name, bytes]) => [name, bytes.equals(expected.get(name)!)])).toEqual([...expected.keys()].map((name) => [name, true]));
}

// the example pipelines but facility-stream (its rows hold arrival times, and its newest-only view drops frames by
// timing: two runs on one host differ too); writers are pointed into the run's folder, so that what they write is
// compared too
const EXAMPLES: { name: string; writers?: string[] }[] = [
  { name: 'blur-stats' },
  { name: 'emdb-projection' },
  { name: 'micrograph-stream' },
  { name: 'micrograph-explorer' },
  { name: 'lattice-peaks' },
  { name: 'lattice-branches' },
  { name: 'tiff-diffractogram', writers: ['png'] },
  { name: 'python-denoise', writers: ['png-denoised', 'png-fft'] },
];
const runArgs = (example: (typeof EXAMPLES)[number], out: string) =>
  [`pipelines/${example.name}.json`, '--out', out, '--progress', 'none', ...(example.writers ?? []).flatMap((w) => ['--set', `${w}.path=${out}/${w}-{frame:02d}.png`])];

describe('multi-node runs on three hosts', () => {
  it('the example pipelines, one node per host in turn, give byte-identical outputs to a run on one host', async () => {
    const spread = join(scratch, 'spread');
    const lines = EXAMPLES.map((e) => `${emflowLine(['run', ...runArgs(e, join(spread, e.name)), '--spread'].join(' '))} || { echo "FAILED: ${e.name}"; exit 1; }`);
    const job = await submit('examples', lines.join('\n')).ended;
    expect(job.log).not.toContain('FAILED');
    expect(job.code).toBe(0);
    // the runs really were spread: each printed its placement with nodes on every host
    expect(job.log.match(/^ {2}emflow-h3: (?!-)/gm)?.length).toBe(EXAMPLES.length);

    for (const example of EXAMPLES) {
      const here = join(scratch, 'one-host', example.name);
      const local = spawnSync(process.execPath, [cli, 'run', ...runArgs(example, here)], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      expect(local.status, `${example.name} on one host: ${local.stderr}`).toBe(0);
      const expected = outputs(here);
      const got = outputs(join(spread, example.name));
      expect(expected.size, example.name).toBeGreaterThan(0);
      expect([...got.keys()], example.name).toEqual([...expected.keys()]);
      for (const [name, bytes] of expected) expect(got.get(name)!.equals(bytes), `${example.name}/${name} differs between three hosts and one`).toBe(true);
    }
    await expectNothingLeft();
  });

  it('frames between two hosts that are not the engine\'s go agent to agent: the engine\'s host gets their headers only', async () => {
    // src on emflow-h2 feeds scale and stats on emflow-h3: 24 frames of 1024² float32 (4 MiB each) cross h2 → h3
    const file = join(scratch, 'direct.json');
    const nodes = [
      { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 1024, height: 1024, count: 24 } },
      { id: 'scale', operator: 'scale', params: { a: 2 } },
      { id: 'stats', operator: 'stats' },
    ];
    writeFileSync(file, JSON.stringify({ emflow: 1, nodes, edges: [imageEdge('src', 'scale'), imageEdge('scale', 'stats')], placement: { hosts: { src: 1, scale: 2, stats: 2 } } }));
    const frameBytes = 24 * 1024 * 1024 * 4;
    const before = HOSTS.map(bytesInto);
    const out = join(scratch, 'direct-out');
    const job = await submit('direct', emflowLine(`run ${file} --out ${out} --progress none`)).ended;
    expect(job.code, job.log).toBe(0);
    const [engineHost, , consumerHost] = HOSTS.map((host, i) => bytesInto(host) - before[i]);
    expect(consumerHost).toBeGreaterThan(frameBytes);
    // before agent-to-agent transfers, every frame made on h2 reached h1 whole (over 96 MiB)
    expect(engineHost).toBeLessThan(frameBytes / 20);
    const expected = oneHostOutputs('direct', [file]);
    expect(expected.size).toBeGreaterThan(0);
    expectSameOutputs(out, expected);
    await expectNothingLeft();
  });

  it('with the singularity runtime too: each host runs its operators in Apptainer, and the outputs are those of one host', async () => {
    // the SIFs of blur-stats' operators (built once; kept between runs, as for the Apptainer tests)
    const runtime = new ProcessRuntime({ operatorDirs });
    const { operators } = await runtime.catalog();
    const wanted = ['synthetic', 'gaussian-blur', 'scale', 'stats'];
    await buildSifs(operators.filter((info) => wanted.includes(info.spec.name)).map((info) => ({ info, entry: runtime.entryOf(info)! })), { imagesDir: sifImages, say: () => undefined });
    const out = join(scratch, 'sif-spread');
    const job = await submit('sif', emflowLine(`run pipelines/blur-stats.json --runtime singularity --images ${sifImages} --spread --out ${out} --progress none`)).ended;
    expect(job.code, job.log).toBe(0);
    expect(job.log).toMatch(/^ {2}emflow-h3: scale/m);
    const expected = oneHostOutputs('sif', ['pipelines/blur-stats.json']);
    expect(expected.size).toBe(4);
    expectSameOutputs(out, expected);
    await expectNothingLeft();
  });

  it('--plan prints the placement (connected nodes together, a pin honoured) and starts nothing', async () => {
    const pinned = join(scratch, 'pinned.json');
    const document = JSON.parse(readFileSync(join(root, 'pipelines/blur-stats.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(pinned, JSON.stringify({ ...document, placement: { hosts: { stats: 2 } } }));
    const job = await submit('plan', [emflowLine('run pipelines/blur-stats.json --plan'), emflowLine(`run ${pinned} --plan`)].join('\n')).ended;
    expect(job.code).toBe(0);
    const plans = job.log.split('placement over 3 hosts:\n').slice(1).map((p) => p.trim().split('\n').map((l) => l.trim()));
    expect(plans).toEqual([
      ['emflow-h1 (engine): src, blur  [2 of 2 CPUs]', 'emflow-h2: scale, stats  [2 of 2 CPUs]', 'emflow-h3: -  [0 of 2 CPUs]'],
      // stats pinned to the third host draws scale, its neighbour, there
      ['emflow-h1 (engine): src, blur  [2 of 2 CPUs]', 'emflow-h2: -  [0 of 2 CPUs]', 'emflow-h3: scale, stats  [2 of 2 CPUs]'],
    ]);
    expect(job.log).not.toContain('node src');
    await expectNothingLeft();
  });

  it('replicas added while a run scales up start on the hosts the placement gave them, and the outputs are those of one host', async () => {
    // src and slow fill emflow-h1, stats goes to emflow-h2; slow's two extra replicas: emflow-h3 (most room), then h2
    const file = join(scratch, 'scaling.json');
    const nodes = [
      { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 64, height: 64, count: 60 } },
      { id: 'slow', operator: 'test-slow', params: { ms: 100 }, replicas: { min: 1, max: 3, threshold: 1 } },
      { id: 'stats', operator: 'stats' },
    ];
    writeFileSync(file, JSON.stringify({ emflow: 1, nodes, edges: [imageEdge('src', 'slow'), imageEdge('slow', 'stats')] }));
    const out = join(scratch, 'scaling-out');
    const run = submit('scaling', `${emflowLine(`run ${file} --plan ${operatorFlags}`)}\n${emflowLine(`run ${file} --out ${out} --progress none ${operatorFlags}`)}`);
    // a replica of slow (the one operator of test/operators/faults here) in emflow-h3's namespace while the run goes
    let seenOnH3 = false;
    while (run.id() === undefined) await sleep(100);
    for (let i = 0; i < 300 && !seenOnH3; i++) {
      seenOnH3 = strays('emflow-h3').some((line) => line.includes('test/operators/faults'));
      await sleep(100);
    }
    const job = await run.ended;
    expect(job.code, job.log).toBe(0);
    const plan = job.log.split('placement over 3 hosts:\n')[1].trim().split('\n').slice(0, 3).map((l) => l.trim());
    expect(plan).toEqual(['emflow-h1 (engine): src, slow[0]  [2 of 2 CPUs]', 'emflow-h2: slow[2]+, stats  [1 of 2 CPUs]', 'emflow-h3: slow[1]+  [0 of 2 CPUs]']);
    expect(seenOnH3).toBe(true);
    const record = JSON.parse(readFileSync(join(out, 'emflow-run.json'), 'utf8')) as { nodes: { id: string; frames: number; replicas?: { peak: number } }[] };
    expect(record.nodes.find((n) => n.id === 'slow')).toMatchObject({ frames: 60, replicas: { peak: 3 } });
    const expected = oneHostOutputs('scaling', [file, ...operatorFlags.split(' ')]);
    expect(expected.size).toBeGreaterThan(0);
    expectSameOutputs(out, expected);
    await expectNothingLeft();
  });

  it('a pipeline that cannot fit the allocation is refused before anything starts, naming the node and what is free', async () => {
    const big = join(scratch, 'big.json');
    const document = JSON.parse(readFileSync(join(root, 'pipelines/blur-stats.json'), 'utf8')) as { nodes: Record<string, unknown>[] };
    document.nodes = document.nodes.map((n) => (n.id === 'scale' ? { ...n, replicas: { min: 5 } } : n));
    writeFileSync(big, JSON.stringify(document));
    const job = await submit('big', `${emflowLine(`run ${big}`)}\necho "exit $?"`).ended;
    expect(job.log).toContain(
      'emflow: node "scale" (scale) asks 5 replicas × 1 CPU: no host of the allocation has that left (free now: emflow-h1 0 of 2 CPUs; emflow-h2 0 of 2 CPUs; emflow-h3 0 of 2 CPUs)',
    );
    expect(job.log).toContain('exit 1');
    expect(job.log).not.toMatch(/\n\s+at /); // no stack trace
    expect(job.log).not.toContain('node src');
    await expectNothingLeft();
  });

  it('an agent killed mid-run fails the run naming the node and its host; nothing is left on any host', async () => {
    const run = submit('killed', `${emflowLine(`run ${slowPipeline()} --spread --progress plain ${operatorFlags}`)}\necho "exit $?"`);
    // the agent on emflow-h2 (which runs `slow`), once frames flow
    await slowRunning(join(scratch, 'killed.log'));
    const agent = agentOn('emflow-h2');
    expect(agent, 'no agent on emflow-h2 while frames flow').toBeDefined();
    // its secret came through the environment, never its command line
    const environ = readFileSync(`/proc/${agent}/environ`, 'utf8').split('\0');
    const secret = environ.find((v) => v.startsWith('EMFLOW_AGENT_SECRET='))!.slice('EMFLOW_AGENT_SECRET='.length);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(`/proc/${agent}/cmdline`, 'utf8')).not.toContain(secret);
    process.kill(agent!, 'SIGKILL');
    const job = await run.ended;
    expect(job.log).toMatch(/emflow: run failed: node "slow" \(test-slow\) on frame \d+: lost with its host: the (agent on emflow-h2 ended|connection to the agent on emflow-h2 closed)/);
    expect(job.log).toContain('exit 1');
    await expectNothingLeft();
  });

  it('emflow bench --nodes 3 --quick measures frames from the engine host to each other host and between the other two, and raw TCP between the same hosts', async () => {
    const job = await submit('bench', emflowLine('bench --nodes 3 --quick --json')).ended;
    expect(job.code).toBe(0);
    const { nodes } = JSON.parse(job.log.slice(job.log.indexOf('{'))) as { nodes: { frameBytes: number; pairs: { from: string; to: string; frames: number; framesMBps: number; tcpMBps: number; ratio: number; target: string }[] } };
    expect(nodes.frameBytes).toBe(4096 * 4096 * 4);
    expect(nodes.pairs.map((p) => [p.from, p.to, p.frames, p.target])).toEqual([
      ['emflow-h1', 'emflow-h2', 4, '≥ 0.5 × raw TCP'],
      ['emflow-h1', 'emflow-h3', 4, '≥ 0.5 × raw TCP'],
      // agent to agent
      ['emflow-h2', 'emflow-h3', 4, '≥ 0.5 × raw TCP'],
    ]);
    for (const pair of nodes.pairs) {
      expect(pair.framesMBps).toBeGreaterThan(0);
      expect(pair.tcpMBps).toBeGreaterThan(0);
      expect(pair.ratio).toBeCloseTo(pair.framesMBps / pair.tcpMBps, 9);
    }
    await expectNothingLeft();
  });

  it('a job cancelled mid-run (as by its time limit) stops in order on every host and writes the partial run record', async () => {
    const out = join(scratch, 'cancelled-out');
    const run = submit('cancelled', emflowLine(`run ${slowPipeline()} --spread --progress plain --out ${out} ${operatorFlags}`));
    await slowRunning(join(scratch, 'cancelled.log'));
    expect(spawnSync('scancel', [run.id()!], { env }).status).toBe(0);
    const job = await run.ended;
    expect(job.log).toContain('emflow: interrupted, stopping operators');
    const record = JSON.parse(readFileSync(join(out, 'emflow-run.json'), 'utf8')) as { status: string; nodes: { id: string; frames: number }[] };
    expect(record.status).toBe('interrupted');
    const slow = record.nodes.find((n) => n.id === 'slow')!;
    expect(slow.frames).toBeGreaterThan(0);
    expect(slow.frames).toBeLessThan(400);
    await expectNothingLeft();
  });
});

const operatorFlags = operatorDirs.map((d) => `--operators ${d}`).join(' ');

/** A source, an operator slower than it, and stats: a run that lasts about 20 s. */
function slowPipeline(): string {
  const file = join(scratch, 'slow.json');
  const nodes = [
    { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 64, height: 64, count: 400 } },
    { id: 'slow', operator: 'test-slow', params: { ms: 50 } },
    { id: 'stats', operator: 'stats' },
  ];
  writeFileSync(file, JSON.stringify({ emflow: 1, nodes, edges: [imageEdge('src', 'slow'), imageEdge('slow', 'stats')] }));
  return file;
}

/** Wait until a job's log says the slow node runs, and a moment more for frames to flow. */
async function slowRunning(log: string): Promise<void> {
  for (let i = 0; i < 600 && !(existsSync(log) && readFileSync(log, 'utf8').includes('node slow (test-slow) running')); i++) await sleep(100);
  expect(readFileSync(log, 'utf8')).toContain('node slow (test-slow) running');
  await sleep(500);
}

/** The pid of the emflow agent serving `host`, if one runs. */
function agentOn(host: string): number | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmdline[1] !== cli || cmdline[2] !== 'agent') continue;
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`SLURMD_NODENAME=${host}`)) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
