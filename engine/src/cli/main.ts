#!/usr/bin/env node
// The emflow command line.
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { benchCommand } from './commands/bench.js';
import { buildCommand } from './commands/build.js';
import { operatorsCommand } from './commands/operators.js';
import { runCommand } from './commands/run.js';
import { validateCommand } from './commands/validate.js';
import { EXIT, reportError } from './exit.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('emflow')
  .description('containerized scientific data-processing pipelines, electron microscopy first')
  .version(version)
  .showHelpAfterError()
  .exitOverride();
for (const register of [runCommand, validateCommand, operatorsCommand, buildCommand, benchCommand]) register(program);
program.commands.forEach((c) => c.exitOverride().showHelpAfterError());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    process.exitCode = reportError(error);
  }
}
