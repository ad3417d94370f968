// emflow run FILE
import { Option, type Command } from 'commander';
import { dirname, resolve } from 'node:path';
import { loadPipeline } from '../../pipeline-file.js';
import { documentOperatorDirs, preparePipeline } from '../../prepare.js';
import type { Session } from '../../session/session.js';
import type { NodeReport, RunReport } from '../../session/run.js';
import { RunError } from '../../session/errors.js';
import { ValidationError } from '../../validate/problems.js';
import { EXIT, reportError, UsageError } from '../exit.js';
import { addOperatorsOption, cliRuntime, namesOperatorDirs, operatorDirsOption, repeatable, runtimeOption } from '../operator-dirs.js';
import { spreadOver } from '../hosts.js';
import { createProgress, type Progress } from '../progress.js';
import { Resume } from '../resume.js';

interface RunFlags {
  set: string[];
  operators: string[];
  images?: string;
  runtime: string;
  out?: string;
  report?: string;
  json?: boolean;
  frames?: string;
  timeout?: string;
  progress: string;
  resume?: boolean;
  plan?: boolean;
  spread?: boolean;
}

/** Apply `--set NODE.PARAM=VALUE` (VALUE parsed as JSON when it is JSON, else taken as a string). */
export function applySettings(document: unknown, settings: string[], file: string): void {
  const listed = (document as { nodes?: unknown })?.nodes;
  const nodes = Array.isArray(listed) ? (listed as { id: string; params?: Record<string, unknown> }[]) : [];
  for (const setting of settings) {
    const match = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(setting);
    if (!match) throw new UsageError(`--set ${setting}: expected NODE.PARAM=VALUE`);
    const [, id, param, raw] = match;
    const node = nodes.find((n) => n?.id === id);
    if (!node) throw new UsageError(`--set ${setting}: ${file} has no node "${id}" (nodes: ${nodes.map((n) => n?.id).join(', ') || 'none'})`);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: a plain string
    }
    node.params = { ...(node.params ?? {}), [param]: value };
  }
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} expects a positive integer, got "${value}"`);
  return n;
}

/**
 * The report's nodes in run order, as an object with every node id as an own key: a node named "__proto__"
 * or "constructor" is listed like any other (JSON.stringify and Object.entries see own keys only).
 */
export function nodeReports(report: RunReport, order: readonly string[]): Record<string, NodeReport> {
  return Object.fromEntries(order.filter((id) => report.nodes[id] !== undefined).map((id) => [id, report.nodes[id]]));
}

function summary(report: RunReport, order: readonly string[], operators: Map<string, string>, written: number): string {
  const rows = Object.entries(nodeReports(report, order)).map(([id, n]) => [id, operators.get(id)!, String(n.frames), n.cached ? 'cached' : `${n.ms.toFixed(1)} ms`]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), ['node', 'operator', 'frames', 'time'][i].length));
  const line = (r: string[]) => r.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const lag = report.lag && report.lag.peakBehindFrames > 0 ? [`at most ${report.lag.peakBehindFrames} frames (${report.lag.peakBehindSeconds.toFixed(1)} s) behind acquisition`] : [];
  return [line(['node', 'operator', 'frames', 'time']), ...rows.map(line), ...lag, `run ${report.run} finished in ${report.wallMs.toFixed(0)} ms${written ? `, ${written} output files written` : ''}`].join('\n');
}

export function runCommand(program: Command): void {
  addOperatorsOption(
    program
      .command('run')
      .description('run a pipeline once and report per-node frames and times')
      .argument('<file>', 'pipeline JSON file')
      .option('--set <NODE.PARAM=VALUE>', 'override a param (repeatable; VALUE is JSON or a string)', repeatable, [])
      .option('--runtime <name>', 'where operators run: process, docker or singularity (apptainer)', 'process'),
  )
    .option('--out <dir>', 'write every unconsumed output frame: .npy arrays, .arrow tables, .json values; and the run record emflow-run.json')
    .option('--report <file>', 'write a static HTML report of the run, rewritten while it goes (atomically)')
    .option('--json', 'print the run report as one JSON object on stdout')
    .option('--frames <n>', 'stop every source after n frames')
    .option('--timeout <ms>', 'stop an operator that takes longer than this for one frame', '120000')
    .option('--plan', 'in a Slurm job of several nodes: print which host runs each node, and stop')
    .option('--spread', 'in a Slurm job of several nodes: put one node on each host in turn, whatever they ask (to test transfers between hosts)')
    .option('--resume', 'go on where an earlier run into --out DIR stopped: files its sources finished are skipped (journal in DIR/.emflow-resume)')
    .addOption(new Option('--progress <style>', 'per-node progress on stderr: auto (a live display on a terminal, unless --json), plain (one line per node state change), none').choices(['auto', 'plain', 'none']).default('auto'))
    .addHelpText('after', '\nExit status: 0 success, 1 invalid pipeline or failed run, 2 usage error or unreadable file, 130 interrupted.')
    .action(async (file: string, flags: RunFlags) => {
      const frames = positiveInteger('--frames', flags.frames);
      const timeoutMs = positiveInteger('--timeout', flags.timeout);
      if (flags.resume && !flags.out) throw new UsageError('--resume needs --out DIR: the journal of the files done is kept there');
      const runtimeName = runtimeOption(flags.runtime);
      const operatorDirs = operatorDirsOption(flags.operators, runtimeName);
      const document = await loadPipeline(file);
      applySettings(document, flags.set, file);
      const baseDir = dirname(resolve(file));
      // validated here too, where the document's own operator folders are known; the session checks again
      const prepared = await preparePipeline(document, {
        runtime: namesOperatorDirs(document) ? runtimeName : await cliRuntime(runtimeName, operatorDirs, flags.images),
        operatorDirs,
        baseDir,
      });
      const { problems, catalog, pipeline } = prepared;
      if (problems.length) throw new ValidationError(problems, file);
      // in a Slurm job of several nodes, operators are spread over its hosts (nodes/)
      // an agent's host signalled (Slurm stopping the job reaches every host): stopped as by a signal here, once
      // the handler below is in place
      const signalled = { interrupt: () => {} };
      const hosts = await spreadOver(pipeline!, prepared.runtime, { onSignal: () => signalled.interrupt(), plan: flags.plan, spread: flags.spread, runtimeName, operatorDirs: [...operatorDirs, ...documentOperatorDirs(document, baseDir).dirs], images: flags.images && resolve(flags.images) });
      if (hosts === 'planned') return;
      const runtime = hosts?.runtime ?? prepared.runtime;
      // --resume: sources skip the files an earlier run finished, and journal the ones this run finishes
      const resume = flags.resume ? new Resume(pipeline!, [document, pipeline!.document], resolve(flags.out!), file, { owner: runtime.fileOwner }) : undefined;
      for (const line of resume?.describe() ?? []) process.stderr.write(line + '\n');
      // loaded once the document is known to be good: a bad one is reported without loading the data plane
      const { Session } = await import('../../session/session.js');
      const { writeOutputFrame } = await import('../outputs.js');
      // --out: the run record next to the outputs; --report: the live report (provenance/run-recording.ts)
      const { startRecording } = await import('../../provenance/run-recording.js');
      const recording = await startRecording({ pipeline: pipeline!, catalog, baseDir, runtime: runtimeName, file, settings: flags.set, out: flags.out, report: flags.report });

      // Ctrl-C at any point stops the operators and removes the session's shared memory before exiting
      const state: { session?: Session; progress?: Progress; interrupted: boolean } = { interrupted: false };
      const interrupt = () => {
        if (state.interrupted) return;
        state.interrupted = true;
        state.progress?.stop();
        process.stderr.write('\nemflow: interrupted, stopping operators\n');
        recording?.interrupted();
        void Promise.resolve(state.session?.close())
          .finally(() => hosts?.close())
          .finally(() => process.exit(EXIT.interrupted));
      };
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, interrupt);
      signalled.interrupt = interrupt;
      // one run per session: nothing to re-use, so no frame is kept beyond its consumers
      const session = (state.session = await Session.open({ pipeline: document as object, baseDir, runtime, timeoutMs, cacheBytes: 0 }).catch(async (error: unknown) => {
        await hosts?.close();
        if (state.interrupted) process.exit(EXIT.interrupted);
        await recording?.finish({ error });
        throw error instanceof ValidationError ? new ValidationError(error.problems, file) : error;
      }));
      if (state.interrupted) {
        await session.close();
        await hosts?.close();
        process.exit(EXIT.interrupted);
      }
      const operators = new Map(session.pipeline.document.nodes.map((n) => [n.id, n.operator]));
      const progress = (state.progress = createProgress(
        session.pipeline.order.map((id) => ({ id, operator: operators.get(id)! })),
        flags.progress === 'plain' ? 'plain' : flags.progress === 'auto' && !flags.json && process.stderr.isTTY === true,
      ));
      session.on('node', ({ node, state, frames: count }) => {
        progress.update(node, state, count);
        recording?.nodeState(node, state, count);
        resume?.nodeFrames(node, count);
      });
      session.on('lag', (snapshot) => progress.lag(snapshot));
      session.on('alert', ({ message }) => progress.alert(message));
      const written: string[] = [];
      const out = flags.out ? resolve(flags.out) : undefined;
      try {
        const report = await session.run({
          frames,
          onFrame:
            out || recording
              ? (raw) => {
                  const event = resume ? resume.shifted(raw) : raw;
                  const path = out ? writeOutputFrame(out, event) : undefined;
                  if (path) written.push(path);
                  recording?.frame(event, path);
                }
              : undefined,
        });
        progress.stop();
        await recording?.finish({ report });
        if (flags.json) {
          const nodes = nodeReports(report, session.pipeline.order);
          process.stdout.write(JSON.stringify({ ok: true, pipeline: file, runtime: flags.runtime, ...report, nodes, outputs: written }) + '\n');
        } else {
          process.stderr.write(summary(report, session.pipeline.order, operators, written.length) + '\n');
        }
      } catch (error) {
        progress.stop();
        if (state.interrupted) return; // the interrupt handler reports and exits
        await recording?.finish({ error });
        if (flags.json) {
          const failure = error instanceof RunError ? error.failure : { detail: (error as Error).message };
          process.stdout.write(JSON.stringify({ ok: false, pipeline: file, runtime: flags.runtime, error: { message: (error as Error).message, ...failure }, outputs: written }) + '\n');
        }
        process.exitCode = reportError(error);
      } finally {
        await session.close();
        await hosts?.close();
      }
    });
}
