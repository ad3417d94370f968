// emflow build
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { ProcessRuntime } from '../../runtime/process.js';
import { UsageError } from '../exit.js';

interface BuildFlags {
  base: string;
  force?: boolean;
  json?: boolean;
  sif?: boolean;
  images?: string;
}

export function buildCommand(program: Command): void {
  program
    .command('build')
    .description('build operator images from local files only, incrementally: docker images (TypeScript and Python operators), or SIF images for Apptainer/Singularity (--sif, TypeScript operators)')
    .argument('[operators...]', 'operator names (default: every operator the process runtime finds)')
    .option('--sif', 'build one SIF per operator for the singularity runtime (needs apptainer, not Docker)')
    .option('--images <dir>', 'with --sif: where the SIF files go (default $EMFLOW_IMAGES, or ~/.cache/emflow/sif)')
    .option('--base <kind>', "docker: 'offline', a base image from this machine's Node, no registry; 'slim': FROM node:20-slim", 'offline')
    .option('--force', 'rebuild images whose content has not changed')
    .option('--json', 'print the build steps as JSON')
    .action(async (names: string[], options: BuildFlags) => {
      if (options.base !== 'offline' && options.base !== 'slim') throw new UsageError(`--base must be offline or slim, got "${options.base}"`);
      if (options.images !== undefined && !options.sif) throw new UsageError('--images applies to --sif builds');
      const runtime = new ProcessRuntime();
      const catalog = await runtime.catalog();
      const unknown = names.filter((n) => !catalog.operators.some((o) => o.spec.name === n));
      if (unknown.length) throw new UsageError(`no operator named ${unknown.join(', ')} (see \`emflow operators\`)`);
      // every operator with its folder entry: TypeScript and Python operators get images, command operators are skipped
      const known = catalog.operators.map((info) => ({ info, entry: runtime.entryOf(info)! }));
      const chosen = known.filter(({ info }) => !names.length || names.includes(info.spec.name));
      const say = (m: string) => !options.json && process.stderr.write(`build: ${m}\n`);
      let steps: object[];
      if (options.sif) {
        const { buildSifs } = await import('../../build/sif.js');
        steps = await buildSifs(chosen, { imagesDir: options.images === undefined ? undefined : resolve(options.images), force: options.force, say });
      } else {
        const [{ buildImages }, { connectDocker }] = await Promise.all([import('../../build/images.js'), import('../../runtime/docker.js')]);
        // one Python base for all Python operators known here, whichever are built now
        const { debianPackagesOf } = await import('../../build/python-base.js');
        const debianPackages = known.flatMap(({ entry }) => (entry.kind === 'python' ? debianPackagesOf(entry.folder) : []));
        // Python operators named on the command line must be built; otherwise a machine that cannot make their base skips them
        steps = await buildImages(await connectDocker(), chosen, { base: options.base, force: options.force, say, debianPackages, pythonOptional: !names.length });
      }
      if (options.json) process.stdout.write(JSON.stringify({ steps }, null, 2) + '\n');
    });
}
