#!/usr/bin/env node
// The command host: serves a command operator (an external program wrapped by an emflow-command.json manifest)
// with the SDK's operator host. The process runtime starts it as
//   node command/host.js MANIFEST --describe          print [spec] as JSON, or the manifest's problems on stderr (exit 1)
//   node command/host.js MANIFEST --operator NAME     serve, with EMFLOW_SOCKET, EMFLOW_SESSION_DIR, EMFLOW_TOKEN set
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { parseManifest, type CommandManifest } from './manifest.js';

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { operator: { type: 'string' }, describe: { type: 'boolean', default: false } } });
if (positionals.length !== 1) fail('usage: host.js MANIFEST (--describe | --operator NAME)', 2);
const [file] = positionals;

let manifest: CommandManifest;
try {
  manifest = parseManifest(readFileSync(file, 'utf8'), basename(file));
} catch (error) {
  fail((error as Error).message, 1);
}
if (values.describe) {
  process.stdout.write(JSON.stringify([manifest.spec]) + '\n');
  process.exit(0);
}
if (values.operator !== undefined && values.operator !== manifest.spec.name) fail(`${file} defines operator "${manifest.spec.name}", not "${values.operator}"`, 3);
const env = (name: string) => process.env[name] ?? fail(`environment variable ${name} is not set`, 2);
// loaded only to serve: describing every operator folder of a search path should not load the file codecs
const [{ serveOperator }, { commandOperator }] = await Promise.all([import('@emflow/sdk/host'), import('./command-operator.js')]);
await serveOperator(commandOperator(manifest), { socket: env('EMFLOW_SOCKET'), sessionDir: env('EMFLOW_SESSION_DIR'), token: env('EMFLOW_TOKEN') });
// a frame still running (the engine went away) is ended by its exit guard
process.exit(0);
