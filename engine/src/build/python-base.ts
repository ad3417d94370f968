// The base image of Python operators, made offline from Debian packages: a `debootstrap --variant=minbase`
// root of Debian bookworm with python3 and numpy (what the Python SDK needs) and the Debian packages the
// operators name in `[tool.emflow] debian = [...]`, trimmed (the compiler tool chain python3-scipy drags in
// through python3-pythran, and what nothing needs: docker/python-base-trim.py) and cleaned (apt lists and
// caches, docs, man pages, locales), with the containers' user, imported with `docker import`. Its tag is a
// hash of the suite, the mirror and the package set (and the recipe): an image with that tag is kept. The
// .deb files debootstrap fetched and the finished root (a tarball) are cached on this machine
// ($EMFLOW_BUILD_CACHE, default /var/cache/emflow), so a removed image is imported again without
// debootstrap and another package set downloads only what is new.
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { parse as parseToml } from 'smol-toml';
import { sha256 } from '../hash.js';
import { isAlive } from '../session/session-dir.js';
import { PYTHON_MANIFEST } from '../runtime/operator-folders.js';
import { EnvironmentError } from '../runtime/runtime.js';
import { CONTAINER_USER, type BuildStep } from './images.js';

const run = promisify(execFile);

export const DEBIAN_SUITE = 'bookworm';
/** What every Python base has: the interpreter and numpy, all the Python SDK needs. */
export const PYTHON_BASE_PACKAGES = ['python3-minimal', 'python3-numpy'];
/** Changes with anything below that shapes the root (cleaning, user table, image settings): a new tag. */
const RECIPE = 1;
/** Picks the packages to purge from a root (run inside it with its python3); its text is part of the tag. */
const TRIM_SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docker', 'python-base-trim.py');
/** Finished roots kept as tarballs (the most recently used). */
const KEEP_TARBALLS = 3;

/** The Debian mirror: $EMFLOW_DEBIAN_MIRROR (as test/infra/apptainer.sh), by default deb.debian.org. */
export function debianMirror(): string {
  const mirror = process.env.EMFLOW_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
  if (!/^(https?|file):\/\/[^\s"'\\]+$/.test(mirror)) throw new EnvironmentError(`docker build: EMFLOW_DEBIAN_MIRROR must be a Debian mirror's URL (http://, https:// or file://), got ${JSON.stringify(mirror)}`);
  return mirror;
}
/** Where the .deb cache and the root tarballs live (they must survive between builds, e.g. CI runs). */
export const buildCacheDir = () => join(process.env.EMFLOW_BUILD_CACHE || '/var/cache/emflow', 'python-base');

/** A Debian package name (policy §5.6.1): nothing else may reach debootstrap's --include list. */
const DEBIAN_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/** The Debian packages a Python operator folder needs: `[tool.emflow] debian = ["python3-skimage", ...]`. */
export function debianPackagesOf(folder: string): string[] {
  const toml = parseToml(readFileSync(join(folder, PYTHON_MANIFEST), 'utf8')) as { tool?: { emflow?: { debian?: unknown } } };
  const debian = toml.tool?.emflow?.debian ?? [];
  if (!Array.isArray(debian) || !debian.every((name) => typeof name === 'string' && DEBIAN_NAME.test(name))) {
    throw new Error(`${join(folder, PYTHON_MANIFEST)}: [tool.emflow] debian must be a list of Debian package names, e.g. debian = ["python3-skimage"]`);
  }
  return debian as string[];
}

export interface PythonBase {
  tag: string;
  hash: string;
  suite: string;
  mirror: string;
  /** sorted, each once, the SDK's own first */
  packages: string[];
}

/** The base image for these extra packages: `emflow/python-base:<hash of suite, mirror and package set>`. */
export function pythonBase(extra: readonly string[], mirror = debianMirror()): PythonBase {
  const packages = [...PYTHON_BASE_PACKAGES, ...[...new Set(extra)].filter((p) => !PYTHON_BASE_PACKAGES.includes(p)).sort()];
  const hash = sha256(JSON.stringify({ suite: DEBIAN_SUITE, mirror, packages: [...packages].sort(), recipe: RECIPE }), readFileSync(TRIM_SCRIPT)).slice(0, 16);
  return { tag: `emflow/python-base:${hash}`, hash, suite: DEBIAN_SUITE, mirror, packages };
}

function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  return dirs.map((dir) => join(dir, name)).find((path) => existsSync(path));
}

/** Why this machine cannot make a Python base (one actionable line), or undefined when it can. */
export function debootstrapUnavailable(): string | undefined {
  const why = 'the base image of Python operators is made with debootstrap';
  if (process.getuid?.() !== 0) return `docker build: ${why}, which needs root: run emflow build as root, or run Python operators with --runtime process`;
  if (!findProgram('debootstrap')) return `docker build: ${why}, which is not installed: apt-get install debootstrap (or run Python operators with --runtime process)`;
  if (!findProgram('unshare')) return `docker build: ${why} in a mount namespace of its own, and unshare is missing: apt-get install util-linux`;
  return undefined;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Files and folders of a finished root that no operator needs (and host details docker supplies at run time). */
const CLEAN = ['var/lib/apt/lists', 'var/cache/apt', 'var/log', 'usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'usr/share/lintian', 'dev', 'run', 'tmp'];

async function debootstrap(base: PythonBase, root: string, log: string, say: (m: string) => void): Promise<void> {
  const debs = join(buildCacheDir(), 'debs');
  mkdirSync(debs, { recursive: true });
  const started = performance.now();
  say(`${base.tag}: debootstrap ${base.suite} with ${base.packages.join(' ')} (minutes the first time; log in ${log})`);
  // in a mount namespace of its own: the /proc and /sys debootstrap mounts inside the root vanish with it, even if it is killed
  const args = ['--mount', '--propagation', 'private', findProgram('debootstrap')!, '--variant=minbase', `--include=${base.packages.join(',')}`, `--cache-dir=${debs}`, base.suite, root, base.mirror];
  const out = openSync(log, 'w');
  const code = await new Promise<number | string>((resolveDone) => {
    const child = spawn(findProgram('unshare')!, args, { stdio: ['ignore', out, out] });
    child.on('error', (error) => resolveDone(error.message));
    child.on('exit', (status, signal) => resolveDone(status ?? signal ?? 'killed'));
  }).finally(() => closeSync(out));
  if (code !== 0) {
    const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-2).join(' | ');
    throw new EnvironmentError(`docker build: debootstrap of the Python base failed (${code}: ${tail}); whole log in ${log}`);
  }
  say(`${base.tag}: debootstrap took ${seconds(performance.now() - started)}`);
  await trim(base, root, log);
  for (const part of CLEAN) {
    rmSync(join(root, part), { recursive: true, force: true });
    mkdirSync(join(root, part), { recursive: true });
  }
  for (const file of ['etc/resolv.conf', 'etc/hostname', 'var/cache/debconf/config.dat-old', 'var/cache/debconf/templates.dat-old']) rmSync(join(root, file), { force: true });
  // the containers' user when the engine runs as root (otherwise containers run as the engine's own user)
  appendFileSync(join(root, 'etc/passwd'), `emflow:x:${CONTAINER_USER.uid}:${CONTAINER_USER.gid}:emflow:/tmp:/usr/sbin/nologin\n`);
  appendFileSync(join(root, 'etc/group'), `emflow:x:${CONTAINER_USER.gid}:\n`);
  chmodSync(join(root, 'tmp'), 0o1777);
}

/** Purge what docker/python-base-trim.py picks, with the root's own python3 and dpkg (nothing is mounted: no maintainer script needs it). */
async function trim(base: PythonBase, root: string, log: string): Promise<void> {
  const chroot = findProgram('chroot') ?? 'chroot';
  const inside = ['/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL=C'];
  copyFileSync(TRIM_SCRIPT, join(root, 'tmp', 'trim.py'));
  try {
    const status = readFileSync(join(root, 'var/lib/dpkg/status'), 'utf8');
    const picked = await new Promise<string>((resolveDone, reject) => {
      const child = execFile(chroot, [root, ...inside, 'python3', '/tmp/trim.py', ...base.packages], { maxBuffer: 16 << 20 }, (error, stdout) => (error ? reject(error) : resolveDone(stdout)));
      child.stdin!.end(status);
    });
    const purge = picked.split('\n').filter(Boolean);
    appendFileSync(log, `\n# purged (docker/python-base-trim.py): ${purge.join(' ')}\n`);
    if (purge.length) {
      const { stdout, stderr } = await run(chroot, [root, ...inside, 'dpkg', '--purge', '--force-depends', ...purge], { maxBuffer: 64 << 20 });
      appendFileSync(log, stdout + stderr);
    }
    await run(chroot, [root, ...inside, 'python3', '-c', 'import numpy']);
  } catch (error) {
    appendFileSync(log, `${(error as { stderr?: string }).stderr ?? (error as Error).message}\n`);
    throw new EnvironmentError(`docker build: trimming the Python base failed (${(error as Error).message.split('\n')[0]}); log in ${log}`);
  }
}

/** Remove a root folder (device nodes and all) without crossing into anything mounted below it. */
const removeRoot = (root: string) => run('rm', ['-rf', '--one-file-system', root]).then(() => undefined);

/** Roots of builds that were killed half-way, and tarballs beyond the most recently used. */
async function tidy(cache: string, keep: string): Promise<void> {
  for (const name of readdirSync(cache)) {
    const pid = /^root\.(\d+)$/.exec(name)?.[1] ?? /^.+\.tar\.(\d+)$/.exec(name)?.[1];
    if (pid && !isAlive(Number(pid))) await removeRoot(join(cache, name));
  }
  const tarballs = readdirSync(cache)
    .filter((n) => n.endsWith('.tar') && n !== keep)
    .map((n) => ({ n, used: statSync(join(cache, n)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const { n } of tarballs.slice(KEEP_TARBALLS - 1)) rmSync(join(cache, n), { force: true });
}

/** The root of `base` as a tarball in the build cache: made with debootstrap, or the one made before. */
async function rootTarball(base: PythonBase, force: boolean, say: (m: string) => void): Promise<string> {
  const cache = buildCacheDir();
  mkdirSync(cache, { recursive: true });
  const tarball = join(cache, `${base.hash}.tar`);
  if (!force && existsSync(tarball)) {
    const now = new Date();
    utimesSync(tarball, now, now);
    say(`${base.tag}: the root made before is cached (${tarball})`);
    return tarball;
  }
  const problem = debootstrapUnavailable();
  if (problem) throw new EnvironmentError(problem);
  const root = join(cache, `root.${process.pid}`);
  await removeRoot(root);
  try {
    await debootstrap(base, root, join(cache, `${base.hash}.log`), say);
    // written beside the target and renamed: a reader never sees half a tarball
    const partial = `${tarball}.${process.pid}`;
    await run('tar', ['-C', root, '--numeric-owner', '-cf', partial, '.']);
    renameSync(partial, tarball);
    writeFileSync(join(cache, `${base.hash}.json`), JSON.stringify({ suite: base.suite, mirror: base.mirror, packages: base.packages, recipe: RECIPE }) + '\n');
  } finally {
    await removeRoot(root);
  }
  await tidy(cache, `${base.hash}.tar`);
  return tarball;
}

/** Build (or keep) the Python base with these extra Debian packages. */
export async function buildPythonBase(docker: Docker, base: PythonBase, options: { force?: boolean; say?: (m: string) => void; exists: (tag: string) => Promise<boolean>; follow: (stream: NodeJS.ReadableStream, what: string) => Promise<void> }): Promise<BuildStep> {
  const started = performance.now();
  const say = options.say ?? (() => {});
  if (!options.force && (await options.exists(base.tag))) return { tag: base.tag, status: 'unchanged', ms: performance.now() - started };
  const tarball = await rootTarball(base, options.force ?? false, say);
  const [repo, tag] = base.tag.split(':');
  const changes = [
    'ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8',
    `USER ${CONTAINER_USER.uid}:${CONTAINER_USER.gid}`,
    'WORKDIR /tmp',
    `LABEL emflow.debian.suite=${base.suite} emflow.debian.mirror=${base.mirror} emflow.debian.packages=${base.packages.join(',')}`,
  ];
  const stream = await docker.importImage(tarball, { repo, tag, changes } as object);
  await options.follow(stream, `importing ${base.tag}`);
  return { tag: base.tag, status: 'built', ms: performance.now() - started };
}
