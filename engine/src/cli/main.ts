#!/usr/bin/env node
// The emflow command line.
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { EXIT, reportError } from './exit.js';

type Register = (program: Command) => void;
// Each command's module is loaded only when that command runs (the docker client, the benchmark and the
// session are not needed to validate a file): starting the CLI stays quick.
const COMMANDS: Record<string, () => Promise<Register>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  validate: async () => (await import('./commands/validate.js')).validateCommand,
  operators: async () => (await import('./commands/operators.js')).operatorsCommand,
  build: async () => (await import('./commands/build.js')).buildCommand,
  bench: async () => (await import('./commands/bench.js')).benchCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  submit: async () => (await import('./commands/submit.js')).submitCommand,
  jobs: async () => (await import('./commands/jobs.js')).jobsCommand,
  logs: async () => (await import('./commands/logs.js')).logsCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  report: async () => (await import('./commands/report.js')).reportCommand,
  agent: async () => (await import('./commands/agent.js')).agentCommand,
};
const asked = process.argv[2];
const registers = await Promise.all(Object.hasOwn(COMMANDS, asked) ? [COMMANDS[asked]()] : Object.values(COMMANDS).map((load) => load()));

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('emflow')
  .description('containerized scientific data-processing pipelines, electron microscopy first')
  .version(version)
  .showHelpAfterError()
  .exitOverride();
for (const register of registers) register(program);
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
