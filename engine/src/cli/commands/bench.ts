// emflow bench (filled in below)
import type { Command } from 'commander';

export function benchCommand(program: Command): void {
  program.command('bench').description('data-plane benchmark').option('--json').action(() => {});
}
