#!/usr/bin/env node
// Entry point of an operator process (the process runtime spawns it; container images use it as ENTRYPOINT):
//   node host/main.js MODULE [--operator NAME]     serve, with EMFLOW_SOCKET, EMFLOW_SESSION_DIR, EMFLOW_TOKEN set
//   node host/main.js MODULE --describe            print the specs of the module's operators as JSON
// MODULE and NAME may also come from EMFLOW_MODULE and EMFLOW_OPERATOR (how operator images run it).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { definedOperators } from '../operator.js';
import { serveOperator } from './serve.js';

function fail(message: string, code: number): never {
  process.stderr.write(`emflow-operator: ${message}\n`);
  process.exit(code);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { operator: { type: 'string' }, describe: { type: 'boolean', default: false } },
});
// container images name the module and operator in the environment (EMFLOW_MODULE, EMFLOW_OPERATOR)
const module = positionals[0] ?? process.env.EMFLOW_MODULE;
if (positionals.length > 1 || !module) fail('usage: emflow-operator MODULE [--operator NAME] [--describe]', 2);
values.operator ??= process.env.EMFLOW_OPERATOR;

try {
  await import(pathToFileURL(resolve(module)).href);
} catch (error) {
  fail(`cannot load operator module ${module}: ${(error as Error).stack ?? error}`, 3);
}
const definitions = definedOperators();
if (values.describe) {
  process.stdout.write(JSON.stringify(definitions.map((d) => d.spec)) + '\n');
  process.exit(0);
}
const chosen = values.operator ? definitions.filter((d) => d.spec.name === values.operator) : definitions;
if (chosen.length !== 1) {
  const names = definitions.map((d) => d.spec.name).join(', ') || 'none';
  fail(values.operator ? `module defines no operator "${values.operator}" (defined: ${names})` : `module defines ${definitions.length} operators (${names}): pass --operator NAME`, 3);
}
const env = (name: string) => process.env[name] ?? fail(`environment variable ${name} is not set`, 2);
await serveOperator(chosen[0], { socket: env('EMFLOW_SOCKET'), sessionDir: env('EMFLOW_SESSION_DIR'), token: env('EMFLOW_TOKEN') });
process.exit(0);
