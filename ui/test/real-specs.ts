// The shipped operators' specs and the engine's accepts table, from the real engine (built by `npm test`):
// the tests check the editor against what the server will send, not against copies.
import { execFileSync } from 'node:child_process';
import type { OperatorSpec, OperatorsResponse } from '@emflow/engine/protocol';

export const REPO = process.env.EMFLOW_REPO!;

let specs: OperatorSpec[] | undefined;

export function realSpecs(): OperatorSpec[] {
  specs ??= (
    JSON.parse(execFileSync(process.execPath, ['engine/dist/cli/main.js', 'operators', '--json'], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20 })) as {
      operators: { spec: OperatorSpec }[];
    }
  ).operators.map((o) => o.spec);
  return specs;
}

export function realSpec(name: string): OperatorSpec {
  const spec = realSpecs().find((s) => s.name === name);
  if (!spec) throw new Error(`no shipped operator ${name}`);
  return spec;
}

export const specMap = () => new Map(realSpecs().map((s) => [s.name, s]));

/** The table GET /api/operators sends: built by the engine's own rule (portAccepts of @emflow/sdk), as the server builds it. */
export function realAccepts(): OperatorsResponse['accepts'] {
  const script = `import { PORT_TYPES, portAccepts } from '@emflow/sdk';
process.stdout.write(JSON.stringify(Object.fromEntries(PORT_TYPES.map((to) => [to, PORT_TYPES.filter((from) => portAccepts(to, from))]))));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8' })) as OperatorsResponse['accepts'];
}
