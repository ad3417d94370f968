// The batch script `emflow submit` writes and the allocation it asks for: pure functions of the pipeline, the
// flags and the machine's paths, so that what reaches bash and sbatch can be tested without Slurm.
//
// Two parsers read the script. sbatch reads the `#SBATCH` lines at the top (up to the first line that is not a
// comment): values there are double-quoted with backslash escapes where needed, `%` is doubled (sbatch expands
// %j, %x, ... in --output) and a value sbatch cannot carry (a newline, a backslash in a file name) is refused.
// bash reads the rest: every value that came from the user is single-quoted, so no quote, space, $(...), glob
// or newline in a path or a --set value is interpreted.
import type { OperatorSpec } from '@emflow/sdk';
import { memoryBytes } from '../runtime/binds.js';

/** A value submit cannot put in a batch script, or a flag Slurm would not accept: a usage mistake. */
export class ScriptValueError extends Error {
  override name = 'ScriptValueError';
}

/** Quote one word for bash: bare when it holds only characters bash gives no meaning, else single-quoted. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_/.,:@%+=-]+$/.test(word) && !word.startsWith('=')) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A value on an `#SBATCH --option=VALUE` line: sbatch splits on spaces, honours "..." and \-escapes, stops at #. */
export function sbatchValue(value: string, what: string): string {
  if (/[\n\r\0]/.test(value)) throw new ScriptValueError(`${what} may not contain a line break: ${JSON.stringify(value)}`);
  if (/^[A-Za-z0-9_/.,:@%+=-]+$/.test(value)) return value;
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A job name part from a pipeline name: lower case letters, digits, dot, dash and underscore. */
export function jobSlug(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 64);
  return slug || 'pipeline';
}

/** What sbatch is asked for. */
export interface Allocation {
  cpus: number;
  /** MiB */
  memMB: number;
  /** GPUs (--gres=gpu:N), when any operator asks for them */
  gpus?: number;
  /** hosts, when more than one: cpus, memMB and gpus are then per host (the run spreads its operators over them) */
  nodes?: number;
}

export const DEFAULT_OPERATOR_CPUS = 1;
export const DEFAULT_OPERATOR_MEM_MB = 1024;

/** The whole CPUs an operator's process holds: what its spec asks, at least one. */
export function operatorCpus(spec: OperatorSpec | undefined): number {
  return Math.max(1, Math.ceil(spec?.resources?.cpus ?? DEFAULT_OPERATOR_CPUS));
}

/**
 * The allocation a pipeline needs: its operators all run at once and stay warm for the whole run, so every
 * node's `resources` are added up (a node without them counts 1 CPU and 1024 MiB). `given` (the --cpus and
 * --mem flags) overrides either figure.
 */
export function allocationFor(specs: ReadonlyMap<string, OperatorSpec>, nodes: readonly string[], given: { cpus?: number; memMB?: number } = {}): Allocation {
  let cpus = 0;
  let memMB = 0;
  let gpus = 0;
  for (const id of nodes) {
    const resources = specs.get(id)?.resources ?? {};
    cpus += operatorCpus(specs.get(id));
    memMB += resources.memory === undefined ? DEFAULT_OPERATOR_MEM_MB : Math.ceil(memoryBytes(resources.memory) / 2 ** 20);
    gpus += resources.gpu ?? 0;
  }
  return { cpus: given.cpus ?? Math.max(1, cpus), memMB: given.memMB ?? Math.max(1, memMB), ...(gpus ? { gpus } : {}) };
}

/**
 * The allocation per host of a job of `hosts` nodes (--nodes): an even share of what the operators ask together,
 * and at least what the largest of them asks (an operator runs on one host). `given` overrides either figure.
 */
export function allocationPerHost(specs: ReadonlyMap<string, OperatorSpec>, nodes: readonly string[], hosts: number, given: { cpus?: number; memMB?: number } = {}): Allocation {
  const total = allocationFor(specs, nodes);
  const each = nodes.map((id) => allocationFor(specs, [id]));
  const share = (sum: number, largest: number) => Math.max(largest, Math.ceil(sum / hosts));
  const gpus = share(total.gpus ?? 0, Math.max(0, ...each.map((a) => a.gpus ?? 0)));
  return {
    cpus: given.cpus ?? share(total.cpus, Math.max(...each.map((a) => a.cpus))),
    memMB: given.memMB ?? share(total.memMB, Math.max(...each.map((a) => a.memMB))),
    ...(gpus ? { gpus } : {}),
    nodes: hosts,
  };
}

/** What one node of a partition has (sinfo %c and %m). */
export interface NodeSize {
  cpus: number;
  memMB: number;
}

/**
 * An allocation computed from the specs, made to fit the largest node of the partition: operators of one job
 * share one node, and more CPUs or memory than a node has can never be granted. Figures the user gave are not
 * changed: one that no node has is a `refusal` (Slurm would accept such a job and leave it pending for ever).
 */
export function fitAllocation(wanted: Allocation, node: NodeSize | undefined, given: { cpus?: number; memMB?: number }, partition = '(default)'): { allocation: Allocation; notes: string[]; refusal?: string } {
  const notes: string[] = [];
  if (!node) return { allocation: wanted, notes };
  const allocation = { ...wanted };
  const too = [given.cpus !== undefined && node.cpus > 0 && given.cpus > node.cpus ? `--cpus ${given.cpus}: its largest node has ${node.cpus} CPUs` : '', given.memMB !== undefined && node.memMB > 0 && given.memMB > node.memMB ? `--mem ${given.memMB}M: its largest node has ${node.memMB} MiB` : ''].filter(Boolean);
  if (too.length) return { allocation, notes, refusal: `partition ${partition} can never grant this job (${too.join('; ')})` };
  if (given.cpus === undefined && node.cpus > 0 && wanted.cpus > node.cpus) {
    notes.push(`the operators ask for ${wanted.cpus} CPUs together; the partition's largest node has ${node.cpus}: asking for ${node.cpus} (operators share them; --cpus sets it)`);
    allocation.cpus = node.cpus;
  }
  if (given.memMB === undefined && node.memMB > 0 && wanted.memMB > node.memMB) {
    notes.push(`the operators ask for ${wanted.memMB} MiB together; the partition's largest node has ${node.memMB} MiB: asking for ${node.memMB} MiB (--mem sets it)`);
    allocation.memMB = node.memMB;
  }
  return { allocation, notes };
}

/** --mem as Slurm reads it (a number of MiB, or with a K, M, G or T suffix) in MiB. */
export function parseMem(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(value.trim());
  if (!match) throw new ScriptValueError(`--mem ${value}: expected a size such as 4096, 512M, 16G`);
  const unit = match[2].toLowerCase();
  const mb = Number(match[1]) * (unit === 'k' ? 1 / 1024 : unit === 'g' ? 1024 : unit === 't' ? 1024 * 1024 : 1);
  if (!(mb > 0)) throw new ScriptValueError(`--mem ${value}: expected a size greater than 0`);
  return Math.ceil(mb);
}

/** --time in one of Slurm's forms: minutes, m:s, h:m:s, d-h, d-h:m, d-h:m:s, or UNLIMITED. Returns it unchanged. */
export function checkTime(value: string): string {
  if (/^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|unlimited|infinite)$/i.test(value)) return value;
  throw new ScriptValueError(`--time ${value}: expected minutes, MM:SS, HH:MM:SS or D-HH:MM:SS (Slurm's forms)`);
}

/** --partition: a name as slurm.conf spells them (several may be given, separated by commas). */
export function checkPartition(value: string): string {
  if (/^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/.test(value)) return value;
  throw new ScriptValueError(`--partition ${JSON.stringify(value)}: not a partition name`);
}

export interface BatchScriptOptions {
  /** the pipeline's name (from the document, else the file name): the job is emflow-<slug of it> */
  name: string;
  /** absolute path of the pipeline file */
  pipeline: string;
  /** absolute output folder: the run's --out, the script and the job's log */
  out: string;
  /** absolute working directory the job starts in (where emflow submit ran) */
  cwd: string;
  /** absolute paths of the node binary and of emflow's CLI module */
  node: string;
  cli: string;
  runtime: string;
  images?: string;
  operators?: readonly string[];
  settings?: readonly string[];
  frames?: number;
  timeoutMs?: number;
  partition?: string;
  time?: string;
  allocation: Allocation;
}

/** The job's log file as sbatch's --output pattern (%j: the job id); `%` in the folder name is escaped. */
export function logPattern(out: string): string {
  if (out.includes('\\')) throw new ScriptValueError(`--out ${JSON.stringify(out)}: sbatch cannot write its log into a folder whose path contains a backslash`);
  return `${out.replace(/%/g, '%%')}/emflow-%j.log`;
}

/** The script submitted: `#SBATCH` options, then `emflow run` of the pipeline with this machine's node and emflow. */
export function batchScript(o: BatchScriptOptions): string {
  for (const [what, path] of [['pipeline', o.pipeline], ['--out', o.out], ['working directory', o.cwd], ['node', o.node], ['emflow', o.cli], ...(o.images ? [['--images', o.images]] : []), ...(o.operators ?? []).map((d) => ['--operators', d])]) {
    if (!path.startsWith('/')) throw new Error(`batchScript: ${what} must be an absolute path, got ${JSON.stringify(path)}`);
  }
  const sbatch = [
    `--job-name=emflow-${jobSlug(o.name)}`,
    `--output=${sbatchValue(logPattern(o.out), '--out')}`,
    ...(o.partition ? [`--partition=${sbatchValue(checkPartition(o.partition), '--partition')}`] : []),
    ...(o.time ? [`--time=${checkTime(o.time)}`] : []),
    // one task per host: emflow run on the first, its agents on the others (nodes/)
    ...(o.allocation.nodes && o.allocation.nodes > 1 ? [`--nodes=${positive(o.allocation.nodes, 'nodes')}`, '--ntasks-per-node=1'] : ['--nodes=1', '--ntasks=1']),
    `--cpus-per-task=${positive(o.allocation.cpus, 'cpus')}`,
    `--mem=${positive(o.allocation.memMB, 'memory')}M`,
    ...(o.allocation.gpus ? [`--gres=gpu:${positive(o.allocation.gpus, 'gpus')}`] : []),
  ];
  // one flag per line after the pipeline, for a reader; every word is quoted, the line ends are bash's
  const lines: string[][] = [
    ['exec', o.node, o.cli, 'run', o.pipeline],
    ['--runtime', o.runtime],
    ...(o.images ? [['--images', o.images]] : []),
    ...(o.operators ?? []).map((dir) => ['--operators', dir]),
    ['--out', o.out],
    ...(o.frames !== undefined ? [['--frames', String(positive(o.frames, 'frames'))]] : []),
    ...(o.timeoutMs !== undefined ? [['--timeout', String(positive(o.timeoutMs, 'timeout'))]] : []),
    ['--json', '--progress', 'plain'],
    ...(o.settings ?? []).map((setting) => ['--set', setting]),
  ];
  const command = lines.map((words, i) => (i === 0 ? ['exec', ...words.slice(1).map(shellQuote)] : words.map(shellQuote)).join(' '));
  return [
    '#!/bin/bash',
    ...sbatch.map((option) => `#SBATCH ${option}`),
    '#',
    '# Written by `emflow submit`: runs the pipeline with `emflow run` in a Slurm allocation holding all of its',
    '# operators at once. Submit it again with: sbatch THIS_FILE',
    'set -euo pipefail',
    `cd -- ${shellQuote(o.cwd)}`,
    command.join(' \\\n  '),
    '',
  ].join('\n');
}

function positive(n: number, what: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new ScriptValueError(`${what}: expected a positive integer, got ${n}`);
  return n;
}
