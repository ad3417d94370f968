// emflow report RUN_DIR [--out FILE]
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readRunFolder, REPORT_FILE, reportModel, uplotAssets, writeReport } from '../../report/index.js';
import { UsageError } from '../exit.js';

export function reportCommand(program: Command): void {
  program
    .command('report')
    .description('write a self-contained static HTML report of a run folder: the run record, and plots of per-frame values (JSON numbers, numeric table columns)')
    .argument('<run-dir>', 'the folder emflow run --out wrote')
    .option('--out <file>', `the HTML file to write (default: RUN_DIR/${REPORT_FILE}); replaced atomically`)
    .addHelpText('after', '\nThe page makes no network requests (uPlot, the data and the script are inline): copy it anywhere.\nExit status: 0 written, 1 failure, 2 usage error.')
    .action((runDir: string, flags: { out?: string }) => {
      if (!statSync(runDir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${runDir}: no such folder`);
      const out = resolve(flags.out ?? join(runDir, REPORT_FILE));
      const { record, values, notes } = readRunFolder(runDir);
      const model = reportModel({ record, values, notes, generated: new Date().toISOString() });
      writeReport(out, model, uplotAssets());
      process.stderr.write(`report: ${out} (${model.plots.length} plots${record ? '' : ', no run record found'})\n`);
    });
}
