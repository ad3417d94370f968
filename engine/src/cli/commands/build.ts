// emflow build
import type { Command } from 'commander';
import { buildImages } from '../../build/images.js';
import { ProcessRuntime } from '../../runtime/process.js';
import { connectDocker } from '../../runtime/docker.js';
import { UsageError } from '../exit.js';

export function buildCommand(program: Command): void {
  program
    .command('build')
    .description('build operator images for the docker runtime, from local files only (incremental)')
    .argument('[operators...]', 'operator names (default: every operator the process runtime finds)')
    .option('--base <kind>', "'offline': a base image from this machine's Node, no registry; 'slim': FROM node:20-slim", 'offline')
    .option('--force', 'rebuild images whose content has not changed')
    .option('--json', 'print the build steps as JSON')
    .action(async (names: string[], options: { base: string; force?: boolean; json?: boolean }) => {
      if (options.base !== 'offline' && options.base !== 'slim') throw new UsageError(`--base must be offline or slim, got "${options.base}"`);
      const runtime = new ProcessRuntime();
      const catalog = await runtime.catalog();
      const unknown = names.filter((n) => !catalog.operators.some((o) => o.spec.name === n));
      if (unknown.length) throw new UsageError(`no operator named ${unknown.join(', ')} (see \`emflow operators\`)`);
      const chosen = catalog.operators.filter((o) => !names.length || names.includes(o.spec.name));
      const docker = await connectDocker();
      const steps = await buildImages(
        docker,
        chosen.map((info) => ({ info, module: runtime.modulePath(info)! })),
        { base: options.base, force: options.force, say: (m) => !options.json && process.stderr.write(`build: ${m}\n`) },
      );
      if (options.json) process.stdout.write(JSON.stringify({ steps }, null, 2) + '\n');
    });
}
