// emflow operators
import type { Command } from 'commander';
import type { PortSpec } from '@emflow/sdk';
import { addOperatorsOption, cliRuntime, operatorDirsOption, runtimeOption } from '../operator-dirs.js';

const ports = (p: Readonly<Record<string, PortSpec>> | undefined) =>
  Object.entries(p ?? {})
    .map(([name, port]) => `${name}:${port.type}${port.required === false ? '?' : ''}`)
    .join(', ') || '-';

export function operatorsCommand(program: Command): void {
  addOperatorsOption(program.command('operators').description('list the operators a runtime can start, with their specs').option('--runtime <name>', 'runtime to ask', 'process'))
    .option('--json', 'print the full specs as JSON')
    .action(async (options: { runtime: string; json?: boolean; operators: string[]; images?: string }) => {
      const runtime = runtimeOption(options.runtime);
      const catalog = await (await cliRuntime(runtime, operatorDirsOption(options.operators, runtime), options.images)).catalog();
      if (options.json) {
        process.stdout.write(JSON.stringify({ runtime: options.runtime, ...catalog }, null, 2) + '\n');
      } else {
        for (const { spec, location } of catalog.operators) {
          process.stdout.write(`${spec.name} ${spec.version}  ${ports(spec.inputs)} -> ${ports(spec.outputs)}\n  ${spec.description}\n`);
          for (const [name, p] of Object.entries(spec.params ?? {})) {
            const range = [p.minimum !== undefined ? `≥${p.minimum}` : '', p.maximum !== undefined ? `≤${p.maximum}` : '', p.enum ? `one of ${p.enum.join('|')}` : ''].filter(Boolean).join(' ');
            process.stdout.write(`    ${name}: ${p.type}${p.default !== undefined ? ` = ${JSON.stringify(p.default)}` : ''}${p.units ? ` ${p.units}` : ''}${range ? ` (${range})` : ''}${p.description ? `  ${p.description}` : ''}\n`);
          }
          process.stdout.write(`  from ${location}\n`);
        }
      }
      for (const problem of catalog.problems) process.stderr.write(`emflow: cannot load operator at ${problem.location}: ${problem.message}\n`);
      if (catalog.problems.length) process.exitCode = 1;
    });
}
