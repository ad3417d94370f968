// emflow submit PIPELINE: a Slurm batch job that runs the pipeline with `emflow run` in an allocation holding all
// of its operators at once. The script is written next to the outputs and can be submitted again by hand.
import type { Command } from 'commander';
import { chmodSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNewFile } from '@emflow/formats';
import { loadPipeline } from '../../pipeline-file.js';
import { preparePipeline } from '../../prepare.js';
import { ValidationError } from '../../validate/problems.js';
import { allocationFor, allocationPerHost, batchScript, checkPartition, checkTime, fitAllocation, jobSlug, parseMem, ScriptValueError } from '../../hpc/script.js';
import { largestNode, requireSlurm, sbatch } from '../../hpc/slurm.js';
import { SlurmError } from '../../hpc/slurm-text.js';
import { EXIT, UsageError } from '../exit.js';
import { addOperatorsOption, cliRuntime, namesOperatorDirs, operatorDirsOption, repeatable, runtimeOption } from '../operator-dirs.js';
import { applySettings } from './run.js';

interface SubmitFlags {
  partition?: string;
  time?: string;
  cpus?: string;
  mem?: string;
  nodes?: string;
  set: string[];
  out?: string;
  runtime: string;
  operators: string[];
  images?: string;
  frames?: string;
  timeout?: string;
  json?: boolean;
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} expects a positive integer, got "${value}"`);
  return n;
}

/** Run a Slurm command's action: Slurm's refusals are one line and exit 1, unusable values are usage errors. */
export function slurmAction<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      if (error instanceof SlurmError) {
        process.stderr.write(`emflow: ${error.message}\n`);
        process.exitCode = EXIT.failed;
        return;
      }
      if (error instanceof ScriptValueError) throw new UsageError(error.message);
      throw error;
    }
  };
}

export function submitCommand(program: Command): void {
  addOperatorsOption(
    program
      .command('submit')
      .description('submit a pipeline as a Slurm batch job (emflow run in an allocation sized from the operators)')
      .argument('<pipeline>', 'pipeline JSON file')
      .option('--partition <name>', 'Slurm partition (default: the cluster default)')
      .option('--time <limit>', 'time limit: minutes, MM:SS, HH:MM:SS or D-HH:MM:SS (default: the partition default)')
      .option('--cpus <n>', 'CPUs for the job (default: the operators’ resources added up, 1 per operator without)')
      .option('--nodes <n>', 'hosts for the job: operators are spread over them, and --cpus and --mem are per host (default 1)')
      .option('--mem <size>', 'memory for the job, e.g. 8G or 4096 (MiB) (default: the operators’ resources added up, 1 GiB per operator without)')
      .option('--set <NODE.PARAM=VALUE>', 'override a param (repeatable; VALUE is JSON or a string)', repeatable, [])
      .option('--out <dir>', 'outputs, the batch script and the job log (default ./emflow-out/<pipeline name>)')
      .option('--runtime <name>', 'where operators run in the job: process, docker or singularity (apptainer)', 'process'),
  )
    .option('--frames <n>', 'stop every source after n frames')
    .option('--timeout <ms>', 'stop an operator that takes longer than this for one frame')
    .option('--json', 'print the job as one JSON object on stdout')
    .addHelpText(
      'after',
      '\nThe pipeline is validated first: a bad one is never submitted. The job id is printed on stdout;\n`emflow jobs` lists jobs, `emflow logs JOB` shows a job’s progress and report.\nExit status: 0 submitted, 1 invalid pipeline or Slurm refused the job, 2 usage error or unreadable file.',
    )
    .action(
      slurmAction(async (file: string, flags: SubmitFlags) => {
        const cpus = positiveInteger('--cpus', flags.cpus);
        const hosts = positiveInteger('--nodes', flags.nodes) ?? 1;
        const frames = positiveInteger('--frames', flags.frames);
        const timeoutMs = positiveInteger('--timeout', flags.timeout);
        const memMB = flags.mem === undefined ? undefined : parseMem(flags.mem);
        if (flags.time !== undefined) checkTime(flags.time);
        if (flags.partition !== undefined) checkPartition(flags.partition);
        const runtimeName = runtimeOption(flags.runtime);
        const operatorDirs = operatorDirsOption(flags.operators, runtimeName);

        // the same checks as emflow run, before anything is written or submitted
        const document = await loadPipeline(file);
        applySettings(document, flags.set, file);
        const baseDir = dirname(resolve(file));
        const { pipeline, problems } = await preparePipeline(document, {
          runtime: namesOperatorDirs(document) ? runtimeName : await cliRuntime(runtimeName, operatorDirs, flags.images),
          operatorDirs,
          baseDir,
        });
        if (problems.length || !pipeline) throw new ValidationError(problems, file);

        requireSlurm('sbatch');
        const given = { cpus, memMB };
        const wanted = hosts > 1 ? allocationPerHost(pipeline.specs, pipeline.order, hosts, given) : allocationFor(pipeline.specs, pipeline.order, given);
        const { allocation, notes, refusal } = fitAllocation(wanted, await largestNode(flags.partition), given, flags.partition);
        if (refusal) throw new SlurmError(refusal);
        for (const note of notes) process.stderr.write(`emflow: note: ${note}\n`);

        const named = (document as { name?: unknown }).name;
        const name = typeof named === 'string' && named.trim() ? named : basename(file).replace(/\.json$/i, '');
        const out = resolve(flags.out ?? join('emflow-out', jobSlug(name)));
        const script = join(out, `emflow-${jobSlug(name)}.sbatch`);
        const text = batchScript({
          name,
          pipeline: resolve(file),
          out,
          cwd: process.cwd(),
          node: process.execPath,
          cli: fileURLToPath(new URL('../main.js', import.meta.url)),
          runtime: runtimeName,
          images: flags.images === undefined ? undefined : resolve(flags.images),
          operators: operatorDirs,
          settings: flags.set,
          frames,
          timeoutMs,
          partition: flags.partition,
          time: flags.time,
          allocation,
        });
        try {
          writeNewFile(script, new TextEncoder().encode(text), true);
          chmodSync(script, 0o644);
        } catch (error) {
          throw new UsageError(`cannot write the batch script: ${(error as Error).message}`);
        }

        const job = await sbatch(script, { partition: flags.partition, time: flags.time, cpus: allocation.cpus, memMB: allocation.memMB });
        const log = join(out, `emflow-${job}.log`);
        if (flags.json) {
          process.stdout.write(
            JSON.stringify({ job, name: `emflow-${jobSlug(name)}`, script, log, out, partition: flags.partition ?? null, time: flags.time ?? null, runtime: runtimeName, ...allocation }) + '\n',
          );
        } else {
          process.stdout.write(`${job}\n`);
          process.stderr.write(
            `emflow: submitted job ${job} (emflow-${jobSlug(name)}: ${allocation.cpus} CPU${allocation.cpus === 1 ? '' : 's'}, ${allocation.memMB} MiB${flags.time ? `, time limit ${flags.time}` : ''}${flags.partition ? `, partition ${flags.partition}` : ''})\n` +
              `  script ${script}\n  log    ${log}\n  emflow logs ${job} shows its progress and report\n`,
          );
        }
      }),
    );
}
