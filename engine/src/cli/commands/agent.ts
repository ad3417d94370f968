// emflow agent: started by a multi-node run on each of its other hosts (nodes/agent.ts); not for users to run.
import type { Command } from 'commander';
import { UsageError } from '../exit.js';

export function agentCommand(program: Command): void {
  program
    .command('agent', { hidden: true })
    .description("serve a multi-node run's operators on this host (started by the engine with srun; reads EMFLOW_AGENT_ENGINE and EMFLOW_AGENT_SECRET)")
    .option('--sweep', 'remove the slot folders of agents and engines on this host that are gone, and exit')
    .option('--source <bytes>', 'for emflow bench --nodes: write a raw TCP stream of this many bytes to a --sink, and exit')
    .option('--sink', 'for emflow bench --nodes: read a raw TCP stream from a --source to its end, answer, and exit')
    .action(async (flags: { sweep?: boolean; sink?: boolean; source?: string }) => {
      if (flags.sweep) {
        const { sweepStaleSessionDirs } = await import('../../session/session-dir.js');
        for (const dir of sweepStaleSessionDirs()) process.stderr.write(`emflow agent: removed ${dir}\n`);
        return;
      }
      const { agentEnvironment, runAgent } = await import('../../nodes/agent.js');
      let env;
      try {
        env = agentEnvironment();
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      if (flags.sink || flags.source !== undefined) {
        const { rawSink, rawSource } = await import('../../bench/nodes.js');
        process.exitCode = await (flags.sink ? rawSink(env) : rawSource(env, Number(flags.source)));
        return;
      }
      process.exitCode = await runAgent(env);
    });
}
