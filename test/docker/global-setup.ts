// Before the Docker tests: the daemon must answer, and every operator (shipped and test, and the Python fixture
// of these tests) gets its image: TypeScript operators on the Node base, Python operators on the Python base
// (debootstrapped once per machine and package set, then kept), command operators skipped.
import { buildImages, connectDocker, ProcessRuntime } from '@emflow/engine';
import { dockerOperatorDirs } from './python.js';

export default async function setup(): Promise<void> {
  const docker = await connectDocker(); // throws the actionable message when dockerd is not running
  const runtime = new ProcessRuntime({ operatorDirs: dockerOperatorDirs });
  const { operators, problems } = await runtime.catalog();
  if (problems.length) throw new Error(`operators that cannot be loaded: ${problems.map((p) => `${p.location}: ${p.message}`).join('; ')}`);
  const started = performance.now();
  await buildImages(
    docker,
    operators.map((info) => ({ info, entry: runtime.entryOf(info)! })),
    { base: 'offline', say: (m) => process.stderr.write(`build: ${m}\n`) },
  );
  process.stderr.write(`build: all images in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
