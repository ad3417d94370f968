// The docker runtime against a real daemon: the same pipelines give bit-for-bit the same outputs as the
// process runtime; containers are locked down; faults are reported with exit codes and logs; nothing is left.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildImages, connectDocker, DockerRuntime, openSession, ProcessRuntime, RunError, type Session } from '@emflow/engine';
import { exampleWritingInto, expectNoLeaks, filesIn, operatorDirs, pipeline, root, sessionSnapshot, zipAndBroadcast } from '../helpers.js';
import { dockerOperatorDirs } from './python.js';

const sessions: Session[] = [];
afterEach(async () => {
  const docker = await connectDocker();
  for (const s of sessions.splice(0)) {
    await s.close();
    await expectNoLeaks(s.paths.dir);
    expect(await docker.listContainers({ all: true, filters: { label: [`emflow.session=${s.id}`] } })).toEqual([]);
  }
});

async function open(runtime: 'process' | 'docker', document: object | string, options: Record<string, unknown> = {}) {
  const session = await openSession({ pipeline: document, runtime, operatorDirs, ...options });
  sessions.push(session);
  return session;
}

describe('replicas as containers', () => {
  it('a node with replicas runs as that many containers, each writing only its own slot folder; results in frame order, as the process runtime gives them', async () => {
    const document = pipeline(
      [
        { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 64, height: 48, count: 12, seed: 9 } },
        { id: 'slow', operator: 'test-slow', params: { ms: 60 } },
        { id: 'stats', operator: 'stats' },
      ],
      ['src.image->slow.image', 'slow.image->stats.image'],
    );
    Object.assign(document.nodes[1], { replicas: { min: 3 } });
    const local = await open('process', document);
    await local.run();
    const contained = await open('docker', document);
    const docker = await connectDocker();
    const nodes = (await docker.listContainers({ filters: { label: [`emflow.session=${contained.id}`] } })).map((c) => c.Labels['emflow.node']).sort();
    expect(nodes).toEqual(['slow', 'slow.r1', 'slow.r2', 'src', 'stats']);
    const report = await contained.run();
    expect(report.nodes.slow.replicas).toEqual({ peak: 3, changes: [] });
    expect(sessionSnapshot(contained)).toEqual(sessionSnapshot(local));
  });
});

describe('conformance: docker and process runtimes give identical outputs', () => {
  it.each([
    ['pipelines/blur-stats.json', `${root}pipelines/blur-stats.json`],
    ['pipelines/lattice-branches.json', `${root}pipelines/lattice-branches.json`],
    ['zip and broadcast', zipAndBroadcast],
  ] as const)('%s', async (_name, document) => {
    const local = await open('process', document);
    await local.run();
    const contained = await open('docker', document);
    const report = await contained.run();
    expect(Object.values(report.nodes).every((n) => n.frames > 0)).toBe(true);
    expect(sessionSnapshot(contained)).toEqual(sessionSnapshot(local));
  });
});

// python-denoise mixes TypeScript and Python operators (the Python one in its image on the Python base)
const examples = ['emdb-projection', 'tiff-diffractogram', 'lattice-peaks', 'micrograph-stream', 'python-denoise'];

describe('conformance on the EM example pipelines: data mounted read-only, results written through a read-write mount', () => {
  it.each(examples)('%s', async (name) => {
    const results = mkdtempSync(join(tmpdir(), 'emflow-conformance-'));
    const baseDir = join(root, 'pipelines');
    const local = await open('process', exampleWritingInto(name, results, 'process'), { baseDir });
    await local.run();
    const contained = await open('docker', exampleWritingInto(name, results, 'docker'), { baseDir });
    await contained.run();
    expect(sessionSnapshot(contained)).toEqual(sessionSnapshot(local));
    expect(filesIn(join(results, 'docker'))).toEqual(filesIn(join(results, 'process')));
  });
});

describe('containers', () => {
  it('are locked down: no network, read-only root, no capabilities, non-root, only the session directory mounted', async () => {
    const session = await open('docker', pipeline([{ id: 'src', operator: 'synthetic', params: { width: 8, height: 8 } }], []));
    const docker = await connectDocker();
    const [listed] = await docker.listContainers({ filters: { label: [`emflow.session=${session.id}`] } });
    const info = await docker.getContainer(listed.Id).inspect();
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.IpcMode).not.toBe('host');
    expect(info.Config.User).toBe('10001:10001');
    // the session directory read-only, only the node's own slot folder writable
    expect(info.HostConfig.Binds).toEqual([`${session.paths.dir}:/emflow/session:ro`, `${session.paths.dir}/src:/emflow/session/src:rw`]);
    // default limits: the spec of synthetic declares no resources
    expect([info.HostConfig.Memory, info.HostConfig.NanoCpus, info.HostConfig.PidsLimit]).toEqual([4 * 2 ** 30, 2e9, 256]);
    const attempt = async (file: string) => {
      const exec = await docker.getContainer(listed.Id).exec({ Cmd: ['node', '-e', `require('fs').writeFileSync(${JSON.stringify(file)}, 'x')`], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      stream.resume();
      await new Promise((resolve) => stream.on('end', resolve));
      return (await exec.inspect()).ExitCode;
    };
    expect(await attempt('/emflow/session/intruder')).not.toBe(0);
    expect(await attempt('/emflow/session/src/probe')).toBe(0);
    expect(info.Config.Labels).toMatchObject({ 'emflow.session': session.id, 'emflow.node': 'src', 'emflow.engine': `${hostname()}:${process.pid}` });
    await session.run();
  });

  it('a changed path param is visible to its container: only that container is started again, with the new mounts', async () => {
    const micrographs = join(root, 'data/micrographs');
    const [first, second] = readdirSync(micrographs).filter((n) => n.endsWith('.mrc')).sort();
    const place = (name: string) => {
      const folder = mkdtempSync(join(tmpdir(), 'emflow-remount-'));
      copyFileSync(join(micrographs, name), join(folder, 'm.mrc'));
      return join(folder, 'm.mrc');
    };
    const [a, b] = [place(first), place(second)];
    const document = pipeline(
      [
        { id: 'read', operator: 'mrc-reader', params: { path: a, sections: 'frames' } },
        { id: 'stats', operator: 'stats' },
      ],
      ['read.section->stats.image'],
    );
    const session = await open('docker', document);
    const reference = await open('process', { ...document, nodes: [{ ...document.nodes[0], params: { path: b, sections: 'frames' } }, document.nodes[1]] });
    await reference.run();
    const docker = await connectDocker();
    const containers = async () => Object.fromEntries((await docker.listContainers({ filters: { label: [`emflow.session=${session.id}`] } })).map((c) => [c.Labels['emflow.node'], c.Id]));
    await session.run();
    const before = await containers();
    session.setParams('read', { path: b });
    const report = await session.run();
    expect(report.nodes.read.cached).toBe(false);
    expect(sessionSnapshot(session)['stats.stats']).toEqual(sessionSnapshot(reference)['stats.stats']);
    const after = await containers();
    expect(after.stats).toBe(before.stats);
    expect(after.read).not.toBe(before.read);
  });

  it('re-run with a changed param at the last node runs only that node, in the warm containers', async () => {
    const session = await open('docker', `${root}pipelines/blur-stats.json`);
    await session.run();
    session.setParams('stats', {});
    session.setParams('scale', { a: 3 });
    const report = await session.run();
    expect([report.nodes.src.cached, report.nodes.blur.cached, report.nodes.scale.cached, report.nodes.stats.cached]).toEqual([true, true, false, false]);
  });
});

describe('faults in containers', () => {
  const faulty = (mode: string, extra: Record<string, unknown> = {}) =>
    pipeline(
      [
        { id: 'src', operator: 'synthetic', params: { width: 16, height: 16, count: 2 } },
        { id: 'bad', operator: mode === 'hog' ? 'test-hog' : 'test-faulty', params: mode === 'hog' ? {} : { mode, at: 1, ...extra } },
      ],
      ['src.image->bad.image'],
    );

  it('a container that exits: its exit code and the tail of its logs; the next run starts it again', async () => {
    const session = await open('docker', faulty('exit'));
    const error = (await session.run().catch((e: unknown) => e)) as RunError;
    expect(error).toBeInstanceOf(RunError);
    expect(error.message).toContain('node "bad" (test-faulty) on frame 1: exited with code 3 while processing');
    expect(error.failure.log).toContain('about to exit with code 3');
    session.setParams('bad', { mode: 'ok' });
    expect((await session.run()).nodes.bad.frames).toBe(2);
  });

  it('a container killed for memory says so', async () => {
    const session = await open('docker', faulty('hog'));
    const error = (await session.run().catch((e: unknown) => e)) as RunError;
    expect(error).toBeInstanceOf(RunError);
    expect(error.message).toMatch(/node "bad" \(test-hog\) on frame 0: exited with code 137 \(OOMKilled: out of memory\) while processing/);
  });

  it('a container that never says hello fails the start, and is removed', async () => {
    const error = await openSession({ pipeline: pipeline([{ id: 'mute', operator: 'test-silent' }], []), runtime: 'docker', startTimeoutMs: 3000 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^node "mute" \(test-silent\): did not connect within 3000 ms \(container [0-9a-f]{12}\); it was stopped$/);
    const docker = await connectDocker();
    expect(await docker.listContainers({ all: true, filters: { label: ['emflow.node=mute'] } })).toEqual([]);
  });

  it('a missing daemon gives one actionable line', async () => {
    await expect(new DockerRuntime('/nonexistent/docker.sock').catalog()).rejects.toThrow(
      /^docker runtime: cannot reach the Docker daemon at \/nonexistent\/docker.sock \(ENOENT\); start it .* or use --runtime process$/,
    );
  });

  it('an image that is not there is named', async () => {
    const error = await openSession({ pipeline: pipeline([{ id: 'x', operator: 'emflow/not-built:9.9' }], []), runtime: 'docker' }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('/nodes/0/operator: unknown operator "emflow/not-built:9.9"');
  });
});

describe('images', () => {
  it('carry the decorator spec and the OCI labels, and an unchanged operator is not rebuilt', async () => {
    const docker = await connectDocker();
    const processes = new ProcessRuntime({ operatorDirs });
    const blur = (await processes.catalog()).operators.find((o) => o.spec.name === 'gaussian-blur')!;
    const labels = (await docker.getImage('emflow/gaussian-blur:1.0.0').inspect()).Config.Labels;
    expect(JSON.parse(labels['emflow.operator'])).toEqual(blur.spec);
    expect(labels).toMatchObject({
      'org.opencontainers.image.title': 'gaussian-blur',
      'org.opencontainers.image.version': '1.0.0',
      'org.opencontainers.image.description': blur.spec.description,
      'org.opencontainers.image.source': 'operators/gaussian-blur',
    });
    const steps = await buildImages(docker, [{ info: blur, entry: processes.entryOf(blur)! }], { base: 'offline' });
    expect(steps.map((s) => [s.tag, s.status])).toEqual([
      [`emflow/node-base:${process.versions.node}`, 'unchanged'],
      ['emflow/runtime:0.1.0', 'unchanged'],
      ['emflow/gaussian-blur:1.0.0', 'unchanged'],
    ]);
    const listed = (await new DockerRuntime().catalog()).operators.find((o) => o.spec.name === 'gaussian-blur')!;
    expect(listed.identity).toBe((await docker.getImage('emflow/gaussian-blur:1.0.0').inspect()).Id);
  });
});

describe('Python operators', () => {
  const fixture = join(root, 'test/docker/operators/py-affine');
  const sources = async () => {
    const processes = new ProcessRuntime({ operatorDirs: dockerOperatorDirs });
    const { operators } = await processes.catalog();
    return operators.map((info) => ({ info, entry: processes.entryOf(info)! }));
  };

  it('get an image on the Python base: labels as TypeScript operators, python3 -m emflow_sdk on their script; a rebuild keeps base and images', async () => {
    const docker = await connectDocker();
    const all = await sources();
    const python = all.filter((s) => s.entry.kind === 'python');
    const affine = python.find((s) => s.info.spec.name === 'test-py-affine')!;
    const image = await docker.getImage('emflow/test-py-affine:1.0.0').inspect();
    expect(JSON.parse(image.Config.Labels['emflow.operator'])).toEqual(affine.info.spec);
    expect(image.Config.Labels).toMatchObject({
      'org.opencontainers.image.title': 'test-py-affine',
      'org.opencontainers.image.version': '1.0.0',
      'org.opencontainers.image.description': affine.info.spec.description,
      'org.opencontainers.image.source': 'test/docker/operators/py-affine',
    });
    expect(image.Config.Entrypoint).toEqual(['python3', '-m', 'emflow_sdk']);
    expect(image.Config.User).toBe('10001:10001');
    expect(image.Config.Env).toEqual(
      expect.arrayContaining([
        'PYTHONPATH=/opt/emflow/sdk/python',
        'EMFLOW_MODULE=/opt/emflow/test/docker/operators/py-affine/operator.py',
        'EMFLOW_OPERATOR=test-py-affine',
        'PYTHONUNBUFFERED=1',
        'PYTHONDONTWRITEBYTECODE=1',
      ]),
    );
    // the same script, another operator: each image starts its own
    const stats = await docker.getImage('emflow/test-py-stats:1.0.0').inspect();
    expect(stats.Config.Env).toContain('EMFLOW_OPERATOR=test-py-stats');

    // nothing changed: the base and the images are kept; a command operator is skipped with a note
    const command = { info: { ...affine.info, spec: { ...affine.info.spec, name: 'test-wrapped' } }, entry: { kind: 'command' as const, folder: fixture, manifest: join(fixture, 'emflow-command.json') } };
    const messages: string[] = [];
    const steps = await buildImages(docker, [...python, command], { base: 'offline', say: (m) => messages.push(m) });
    expect(steps.map((s) => [s.tag.replace(/:[0-9a-f]{16}$/, ':HASH'), s.status])).toEqual([
      ['emflow/python-base:HASH', 'unchanged'],
      ...python.map((s) => [`emflow/${s.info.spec.name}:${s.info.spec.version}`, 'unchanged']),
      ['emflow/test-wrapped:1.0.0', 'skipped'],
    ]);
    expect(messages.at(-1)).toBe('emflow/test-wrapped:1.0.0: skipped (command operators wrap a program on this machine, no image is built; run them with --runtime process)');
    // the base: Debian bookworm with python3, numpy and the packages the operators name in [tool.emflow] debian
    const base = (await docker.getImage(steps[0].tag).inspect()).Config.Labels;
    expect(base['emflow.debian.suite']).toBe('bookworm');
    expect(base['emflow.debian.packages'].split(',')).toEqual(expect.arrayContaining(['python3-minimal', 'python3-numpy', 'python3-mrcfile']));
  });

  it('run on the docker runtime with the same frames and files as on the process runtime', async () => {
    const results = mkdtempSync(join(tmpdir(), 'emflow-python-'));
    const document = (runtime: string) =>
      pipeline(
        [
          { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 96, height: 64, count: 3, seed: 7 } },
          { id: 'affine', operator: 'test-py-affine', params: { a: 1.5, b: -0.25 } },
          { id: 'stats', operator: 'test-py-stats' },
          { id: 'write', operator: 'npy-writer', params: { path: join(results, runtime, 'affine-{frame:02d}.npy') } },
          { id: 'rows', operator: 'npy-writer', params: { path: join(results, runtime, 'rows-{frame:02d}.npy') } },
        ],
        ['src.image->affine.image', 'affine.image->stats.image', 'affine.image->write.data', 'stats.rows->rows.data'],
      );
    const local = await open('process', document('process'), { operatorDirs: dockerOperatorDirs });
    await local.run();
    const contained = await open('docker', document('docker'));
    const docker = await connectDocker();
    const images = (await docker.listContainers({ filters: { label: [`emflow.session=${contained.id}`] } })).map((c) => c.Image).sort();
    expect(images).toEqual(expect.arrayContaining(['emflow/test-py-affine:1.0.0', 'emflow/test-py-stats:1.0.0']));
    const report = await contained.run();
    expect([report.nodes.affine.frames, report.nodes.stats.frames]).toEqual([3, 3]);
    expect(sessionSnapshot(contained)).toEqual(sessionSnapshot(local));
    const written = filesIn(join(results, 'docker'));
    expect(Object.keys(written)).toEqual(['affine-00.npy', 'affine-01.npy', 'affine-02.npy', 'rows-00.npy', 'rows-01.npy', 'rows-02.npy']);
    expect(written).toEqual(filesIn(join(results, 'process')));
  });
});

describe('leftovers of engines that died', () => {
  it('are removed at start-up; those of a live engine are not', async () => {
    const docker = await connectDocker();
    const create = (engine: string) => docker.createContainer({ Image: 'emflow/runtime:0.1.0', Cmd: ['node', '-e', ''], Labels: { 'emflow.session': 'test-leftover', 'emflow.engine': engine } });
    const dead = await create(`${hostname()}:999999`);
    const live = await create(`${hostname()}:${process.pid}`);
    await new DockerRuntime().catalog();
    await expect(docker.getContainer(dead.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await docker.getContainer(live.id).inspect()).Id).toBe(live.id);
    await live.remove({ force: true });
  });
});

describe("emflow bench's container start floor", () => {
  it('starts bare containers of an image both ways and removes them; a start that fails is named and removed too', async () => {
    const { containerStartFloor } = (await import(join(root, 'engine/dist/bench/start-floor.js'))) as typeof import('../../engine/src/bench/start-floor.js');
    const docker = await connectDocker();
    const left = () => docker.listContainers({ all: true, filters: { label: ['emflow.session=bench-floor'] } });
    const floor = await containerStartFloor(docker, 'emflow/runtime:0.1.0', 2, 1);
    expect(floor.what).toBe('2 bare containers of emflow/runtime:0.1.0 (node -e 0)');
    expect(floor.sequentialMs).toBeGreaterThan(50); // a container start takes hundreds of milliseconds
    expect(floor.ratio).toBeCloseTo(floor.parallelMs / floor.sequentialMs, 10);
    expect(await left()).toEqual([]);
    // an image that is not there: the daemon's refusal, and nothing left
    await expect(containerStartFloor(docker, 'emflow/no-such-image:0', 2, 1)).rejects.toMatchObject({ statusCode: 404 });
    expect(await left()).toEqual([]);
  });
});

describe('an engine that exits without closing its session (process.exit, a second Ctrl-C)', () => {
  it('removes its containers on the way out', async () => {
    const script = `
      import { openSession } from '@emflow/engine';
      const session = await openSession({ pipeline: ${JSON.stringify(pipeline([{ id: 'src', operator: 'synthetic', params: { width: 8, height: 8 } }, { id: 'stats', operator: 'stats' }], ['src.image->stats.image']))}, runtime: 'docker' });
      process.stdout.write(session.id + '\\n');
      process.exit(0);`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(root, 'engine'), encoding: 'utf8', timeout: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    const id = result.stdout.trim();
    expect(id).toMatch(/^[0-9a-z]+-[0-9a-f]{8}$/);
    const docker = await connectDocker();
    expect(await docker.listContainers({ all: true, filters: { label: [`emflow.session=${id}`] } })).toEqual([]);
    expect(existsSync(join('/dev/shm', `emflow-${id}`))).toBe(false);
  });
});
