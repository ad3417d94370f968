// emflow serve [PIPELINE_OR_FOLDER]: the web editor and its API.
import type { Command } from 'commander';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { accessPolicy, isLoopback } from '../../server/security.js';
import { EXIT, UsageError } from '../exit.js';
import { addOperatorsOption, cliRuntime, operatorDirsOption, repeatable, runtimeOption } from '../operator-dirs.js';

interface ServeFlags {
  port: string;
  host: string;
  /** commander: false with --no-token */
  token?: string | false;
  runtime: string;
  operators: string[];
  images?: string;
  data: string[];
  output: string[];
  maxSessions: string;
}

function folders(flag: string, dirs: readonly string[]): string[] {
  return dirs.map((dir) => {
    const absolute = resolve(dir);
    if (!statSync(absolute, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${flag} ${dir}: no such folder (${absolute})`);
    return absolute;
  });
}

/** The URL to open: loopback as typed, a wildcard address as this machine's name, the token as Jupyter puts it. */
export function editorUrl(host: string, port: number, token?: string): string {
  const name = host === '0.0.0.0' || host === '::' ? hostname() : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}/${token ? `?token=${token}` : ''}`;
}

export function serveCommand(program: Command): void {
  addOperatorsOption(
    program
      .command('serve')
      .description('serve the web editor: build pipelines, run them, watch displays, re-tune params live')
      .argument('[pipeline-or-folder]', 'a folder of pipeline documents, or one document (its folder is served and it opens first)', '.')
      .option('--port <n>', 'TCP port (0: any free port)', '8000')
      .option('--host <address>', 'address to listen on; any but loopback requires a token', '127.0.0.1')
      .option('--token <token>', 'the token the browser must present (default: $EMFLOW_SERVE_TOKEN, or one generated and printed in the URL)')
      .option('--no-token', 'no token (loopback only: then any local user can drive the editor)')
      .option('--runtime <name>', 'where operators run: process, docker or singularity (apptainer)', 'process'),
  )
    .option('--data <dir>', 'a folder whose files params may read (repeatable; default: the working directory)', repeatable, [])
    .option('--max-sessions <n>', 'editor tabs that may have a session (operators, shared memory) open at once', '8')
    .option('--output <dir>', 'a folder params may write into (repeatable; default: the working directory)', repeatable, [])
    .addHelpText('after', '\nCtrl-C stops every operator and removes the shared memory before exiting.\nExit status: 0 after Ctrl-C, 2 usage error.')
    .action(async (target: string, flags: ServeFlags) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port expects 0–65535, got "${flags.port}"`);
      // the environment keeps the token out of `ps`, which every user of the machine can read
      const token = flags.token === false ? false : (flags.token ?? process.env.EMFLOW_SERVE_TOKEN);
      if (typeof token === 'string' && !/^[\x21-\x7e]{8,200}$/.test(token)) throw new UsageError('--token must be 8–200 printable characters without spaces');
      if (token === false && !isLoopback(flags.host)) throw new UsageError(`--no-token: only on a loopback address, not ${flags.host}`);
      const stat = statSync(resolve(target), { throwIfNoEntry: false });
      if (!stat) throw new UsageError(`${target}: no such file or folder`);
      const folder = stat.isDirectory() ? resolve(target) : dirname(resolve(target));
      const initial = stat.isDirectory() ? undefined : basename(target).replace(/\.json$/, '');
      const runtimeName = runtimeOption(flags.runtime);
      const runtime = await cliRuntime(runtimeName, operatorDirsOption(flags.operators, runtimeName), flags.images);
      const roots = { read: folders('--data', flags.data.length ? flags.data : ['.']), write: folders('--output', flags.output.length ? flags.output : ['.']) };
      const { createEditorServer } = await import('../../server/app.js');
      const policy = accessPolicy(flags.host, token);
      const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };
      const maxSessions = Number(flags.maxSessions);
      if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new UsageError(`--max-sessions expects a positive integer, got "${flags.maxSessions}"`);
      const app = await createEditorServer({ runtime, runtimeName, folder, initial, roots, policy, version, maxSessions });

      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          // a second Ctrl-C: exit now; the exit hook still kills operators and removes shared memory
          process.exit(EXIT.interrupted);
        }
        stopping = true;
        process.stderr.write(`\nemflow: ${signal}, stopping operators\n`);
        void app.close().then(
          () => process.exit(EXIT.ok),
          (error: unknown) => {
            process.stderr.write(`emflow: while stopping: ${(error as Error).message}\n`);
            process.exit(EXIT.failed);
          },
        );
      };
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));

      try {
        await app.listen({ port, host: flags.host });
      } catch (error) {
        await app.close();
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new UsageError(`port ${port} on ${flags.host} is in use: choose another with --port (0: any free port)`);
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UsageError(`--host ${flags.host}: not an address of this machine`);
        throw error;
      }
      const address = app.server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      process.stdout.write(`emflow editor: ${editorUrl(flags.host, bound, policy.token)}\n`);
      process.stderr.write(
        `  documents: ${folder}\n  data (read): ${roots.read.join(', ')}\n  output (write): ${roots.write.join(', ')}\n  runtime: ${runtimeName}\n  Ctrl-C stops the server and every operator.\n`,
      );
    });
}
