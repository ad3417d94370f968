// Before the Apptainer tests: apptainer must answer, and every operator (shipped and test) gets its SIF, built
// without Docker into a folder kept between runs on this machine (builds are incremental: unchanged operators
// keep their SIF). SIFs are built for TypeScript operators only: Python and command operators are not passed.
import { execFileSync } from 'node:child_process';
import { buildSifs, ProcessRuntime } from '@emflow/engine';
import { operatorDirs, sifImages } from '../helpers.js';

export default async function setup(): Promise<void> {
  try {
    execFileSync(process.env.EMFLOW_APPTAINER ?? 'apptainer', ['--version'], { stdio: 'pipe' });
  } catch {
    throw new Error('apptainer is not installed or does not run: bash test/infra/apptainer.sh installs it (CI runs it); these tests never skip');
  }
  const runtime = new ProcessRuntime({ operatorDirs });
  const { operators, problems } = await runtime.catalog();
  if (problems.length) throw new Error(`operators that cannot be loaded: ${problems.map((p) => `${p.location}: ${p.message}`).join('; ')}`);
  await buildSifs(
    operators.map((info) => ({ info, entry: runtime.entryOf(info)! })).filter(({ entry }) => entry.kind === 'node'),
    { imagesDir: sifImages, say: (m) => process.stderr.write(`build --sif: ${m}\n`) },
  );
}
