// Starting `emflow serve` and Chromium for the browser tests and the editor benchmark. Plain ESM JavaScript so
// that `node test/browser/retune-latency.mjs` needs no build step; the tests import it through launch.d.mts.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const cli = join(root, 'engine/dist/cli/main.js');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Chromium from Debian, driven by playwright-core. Missing Chromium is an error, never a skip. */
export async function launchChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium (apt-get install -y chromium; .ci/run installs it)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/**
 * A fresh folder on /dev/shm for the server's session directories (EMFLOW_SHM_DIR): what is left there is a leak.
 * Not named emflow-…: engines sweep folders of that name in /dev/shm that no live engine owns.
 */
export function privateShm() {
  return mkdtempSync('/dev/shm/browser-tests-');
}

const URL_LINE = /(http:\/\/127\.0\.0\.1:(\d+)\/\S*)/;

/**
 * `emflow serve TARGET --port 0 --host 127.0.0.1 ARGS...` as a child process, with its sessions under `shm`.
 * Resolves once the server printed its URL on stdout.
 */
export async function startServer({ target, args = [], shm, timeoutMs = 60_000 }) {
  const child = spawn(process.execPath, [cli, 'serve', ...(target ? [target] : []), '--port', '0', '--host', '127.0.0.1', ...args], {
    cwd: root,
    env: { ...process.env, EMFLOW_SHM_DIR: shm },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = {
    child,
    stdout: '',
    stderr: '',
    /** the URL the server printed (with ?token=… when it printed one) */
    url: '',
    /** http://127.0.0.1:PORT/ */
    base: '',
    port: 0,
    /** resolves with the exit code and signal */
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
    exitStatus: undefined,
  };
  server.exited.then((status) => (server.exitStatus = status));
  child.stdout.setEncoding('utf8').on('data', (d) => (server.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (server.stderr += d));
  const output = () => `stdout: ${server.stdout.trim() || '(nothing)'}\nstderr: ${server.stderr.trim() || '(nothing)'}`;
  await new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => done(new Error(`emflow serve printed no http://127.0.0.1:PORT/ line within ${timeoutMs} ms\n${output()}`)), timeoutMs);
    const check = () => {
      const match = URL_LINE.exec(server.stdout);
      if (match) done(undefined, match);
    };
    function done(error, match) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout.off('data', check);
      if (error) {
        if (server.exitStatus === undefined) child.kill('SIGKILL');
        reject(error);
        return;
      }
      server.url = match[1];
      server.port = Number(match[2]);
      server.base = `http://127.0.0.1:${server.port}/`;
      resolve(undefined);
    }
    child.stdout.on('data', check);
    server.exited.then(({ code, signal }) => done(new Error(`emflow serve exited (code ${code}, signal ${signal}) before printing its URL\n${output()}`)));
  });
  return server;
}

/** SIGINT, then the exit status; a server that has not exited within `timeoutMs` is killed and reported. */
export async function stopServer(server, timeoutMs = 30_000) {
  if (server.exitStatus) return server.exitStatus;
  server.child.kill('SIGINT');
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  const status = await Promise.race([server.exited, late]);
  clearTimeout(timer);
  if (status) return status;
  server.child.kill('SIGKILL');
  await server.exited;
  throw new Error(`emflow serve did not exit within ${timeoutMs} ms of SIGINT (killed)\nstderr: ${server.stderr.trim()}`);
}
