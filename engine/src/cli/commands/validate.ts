// emflow validate FILE...
import type { Command } from 'commander';
import { dirname, resolve } from 'node:path';
import { loadPipeline } from '../../pipeline-file.js';
import { preparePipeline } from '../../prepare.js';
import { formatProblems, type Problem } from '../../validate/problems.js';
import { EXIT, reportError } from '../exit.js';
import { addOperatorsOption, cliRuntime, namesOperatorDirs, operatorDirsOption, runtimeOption } from '../operator-dirs.js';

export function validateCommand(program: Command): void {
  addOperatorsOption(
    program
      .command('validate')
      .description('check pipeline documents against the schema and the operators of a runtime')
      .argument('<files...>', 'pipeline JSON files')
      .option('--runtime <name>', 'runtime whose operators to check against', 'process'),
  )
    .option('--json', 'print {file: problems[]} as JSON')
    .addHelpText('after', '\nExit status: 0 all valid, 1 problems found (one line each: JSON pointer, message), 2 unreadable file or usage error.')
    .action(async (files: string[], options: { runtime: string; json?: boolean; operators: string[] }) => {
      const runtimeName = runtimeOption(options.runtime);
      const operatorDirs = operatorDirsOption(options.operators, runtimeName);
      // one runtime for every document that names no operator folders of its own
      const shared = await cliRuntime(runtimeName, operatorDirs);
      const results: Record<string, Problem[]> = {};
      let code: number = EXIT.ok;
      for (const file of files) {
        try {
          const document = await loadPipeline(file);
          const runtime = namesOperatorDirs(document) ? runtimeName : shared;
          const { problems } = await preparePipeline(document, { runtime, operatorDirs, baseDir: dirname(resolve(file)) });
          results[file] = problems;
          if (problems.length) code = Math.max(code, EXIT.failed);
          if (!options.json) {
            if (problems.length) process.stdout.write(formatProblems(problems) + '\n');
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
