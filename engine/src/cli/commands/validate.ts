// emflow validate FILE...
import type { Command } from 'commander';
import { loadPipeline } from '../../pipeline-file.js';
import { createRuntime } from '../../runtime/index.js';
import { findOperator } from '../../runtime/runtime.js';
import { checkPipeline } from '../../validate/pipeline.js';
import { EXIT, reportError } from '../exit.js';

export function validateCommand(program: Command): void {
  program
    .command('validate')
    .description('check pipeline documents against the schema and the operators of a runtime')
    .argument('<files...>', 'pipeline JSON files')
    .option('--runtime <name>', 'runtime whose operators to check against', 'process')
    .option('--json', 'print {file: problems[]} as JSON')
    .addHelpText('after', '\nExit status: 0 all valid, 1 problems found (one line each: JSON pointer, message), 2 unreadable file or usage error.')
    .action(async (files: string[], options: { runtime: string; json?: boolean }) => {
      const catalog = await createRuntime(options.runtime).catalog();
      const lookup = (name: string) => findOperator(catalog, name)?.spec;
      const results: Record<string, { pointer: string; message: string }[]> = {};
      let code: number = EXIT.ok;
      for (const file of files) {
        try {
          const problems = checkPipeline(await loadPipeline(file), lookup).problems;
          results[file] = problems;
          if (problems.length) code = Math.max(code, EXIT.failed);
          if (!options.json) {
            for (const p of problems) process.stdout.write(`${p.pointer || '/'}: ${p.message}\n`);
            process.stderr.write(problems.length ? `${file}: ${problems.length} problem${problems.length > 1 ? 's' : ''}\n` : `${file}: valid\n`);
          }
        } catch (error) {
          code = Math.max(code, reportError(error));
        }
      }
      if (options.json) process.stdout.write(JSON.stringify(results) + '\n');
      process.exitCode = code;
    });
}
