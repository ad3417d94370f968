// emflow export --ro-crate RUN_DIR [--out DIR]
import type { Command } from 'commander';
import { ExportError, exportRoCrate } from '../../provenance/export.js';
import { UsageError } from '../exit.js';

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('package a run folder (the outputs and emflow-run.json of emflow run --out) for archiving or publication')
    .argument('<run-dir>', 'the folder emflow run --out wrote')
    .option('--ro-crate', 'as an RO-Crate 1.1: ro-crate-metadata.json (JSON-LD) describing the outputs, the record, the pipeline, its operators and the run')
    .option('--out <dir>', 'copy the crate into this new or empty folder instead of making the run folder itself the crate')
    .option('--json', 'print {crate, metadata, files, warnings} as JSON')
    .addHelpText('after', '\nExit status: 0 written (warnings about files missing or changed since the run on stderr), 1 failure, 2 usage error or no run record.')
    .action(async (runDir: string, flags: { roCrate?: boolean; out?: string; json?: boolean }) => {
      if (!flags.roCrate) throw new UsageError('emflow export: name the format: --ro-crate (the only one so far)');
      const result = await exportRoCrate(runDir, flags.out).catch((error: unknown) => {
        throw error instanceof ExportError ? new UsageError(error.message) : error;
      });
      for (const warning of result.warnings) process.stderr.write(`emflow: warning: ${warning}\n`);
      if (flags.json) process.stdout.write(JSON.stringify({ crate: result.dir, metadata: result.metadata, files: result.files, warnings: result.warnings }) + '\n');
      else process.stderr.write(`RO-Crate: ${result.metadata} (${result.files} files described)\n`);
    });
}
