// Before the Docker tests: the daemon must answer, and every operator (shipped and test) gets its image.
import { buildImages, connectDocker, ProcessRuntime } from '@emflow/engine';
import { operatorDirs } from '../helpers.js';

export default async function setup(): Promise<void> {
  const docker = await connectDocker(); // throws the actionable message when dockerd is not running
  const runtime = new ProcessRuntime({ operatorDirs });
  const { operators, problems } = await runtime.catalog();
  if (problems.length) throw new Error(`operators that cannot be loaded: ${problems.map((p) => `${p.location}: ${p.message}`).join('; ')}`);
  await buildImages(
    docker,
    operators.map((info) => ({ info, module: runtime.modulePath(info)! })),
    { base: 'offline', say: (m) => process.stderr.write(`build: ${m}\n`) },
  );
}
