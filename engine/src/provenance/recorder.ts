// Gathers the run record while `emflow run` goes: node states, the files --out wrote, what writers left behind,
// and at the end the hashes; writes `emflow-run.json` (a failed run and Ctrl-C too). The I/O shell around record.ts.
import { createRequire } from 'node:module';
import { arch, hostname, platform, userInfo } from 'node:os';
import type { OperatorSpec } from '@emflow/sdk';
import type { OperatorInfo } from '../runtime/runtime.js';
import type { FrameEvent, NodeState, RunReport } from '../session/run.js';
import type { PipelineDocument } from '../validate/pipeline.js';
import { filesNamedBy, hashed, patternSnapshot, sha256File, sized, writeJsonFile } from './files.js';
import { assembleRecord, commandLine, failureOf, newOrChanged, type InputFile, type NodeIdentity, type NodeProgress, type OutputFile, type RunFailure, type RunRecord, type RunStatus } from './record.js';

const { version: ENGINE_VERSION } = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface RecorderOptions {
  /** the document as run: defaults filled in, path params absolute */
  document: PipelineDocument;
  /** node id → its operator's spec */
  specs: ReadonlyMap<string, OperatorSpec>;
  /** node id → the operator the runtime starts for it */
  operators: ReadonlyMap<string, OperatorInfo>;
  /** node ids in run order */
  order: readonly string[];
  runtime: string;
  pipelineFile?: string;
  settings?: string[];
  outDir?: string;
  /** where the record is written; unset: kept in memory (for --report alone) */
  recordPath?: string;
  /** files never counted as writer outputs (the record, the live report) */
  ignore?: string[];
  argv?: readonly string[];
  cwd?: string;
}

function user(): { user: string; uid?: number } {
  const uid = process.getuid?.();
  try {
    return { user: userInfo().username, uid };
  } catch {
    return { user: process.env.USER ?? process.env.LOGNAME ?? String(uid ?? 'unknown'), uid }; // no passwd entry (a container)
  }
}

interface WriterTarget {
  node: string;
  param: string;
  pattern: string;
  before: Map<string, string>;
}

export class RunRecorder {
  readonly startTime = new Date().toISOString();
  private readonly progress = new Map<string, NodeProgress>();
  private readonly written: OutputFile[] = [];
  private readonly writers: WriterTarget[] = [];
  private readonly nodes: NodeIdentity[];
  private readonly pipelineHash: Promise<string | undefined>;
  private readonly argv: string[];

  constructor(private readonly options: RecorderOptions) {
    this.argv = [...(options.argv ?? process.argv)];
    this.nodes = options.order.map((id) => {
      const info = options.operators.get(id)!;
      return { id, operator: info.spec.name, version: info.spec.version, identity: info.identity, location: info.location };
    });
    for (const node of options.document.nodes) {
      for (const [param, spec] of Object.entries(options.specs.get(node.id)?.params ?? {})) {
        const value = Object.hasOwn(node.params, param) ? node.params[param] : undefined;
        if (spec.path === 'write' && typeof value === 'string' && value !== '') this.writers.push({ node: node.id, param, pattern: value, before: patternSnapshot(value) });
      }
    }
    this.pipelineHash = options.pipelineFile ? sha256File(options.pipelineFile).catch(() => undefined) : Promise.resolve(undefined);
  }

  /** A session `node` event. */
  nodeState(node: string, state: NodeState, frames: number): void {
    this.progress.set(node, { state, frames });
  }

  /** A frame `emflow run --out` wrote to `path`. */
  outputWritten(path: string, event: Pick<FrameEvent, 'node' | 'port' | 'index'>): void {
    this.written.push({ by: 'out', path, node: event.node, port: event.port, frame: event.index });
  }

  private inputs(): InputFile[] {
    const inputs: InputFile[] = [];
    for (const node of this.options.document.nodes) {
      for (const [param, spec] of Object.entries(this.options.specs.get(node.id)?.params ?? {})) {
        const value = Object.hasOwn(node.params, param) ? node.params[param] : undefined;
        if (spec.path !== 'read' || typeof value !== 'string' || value === '') continue;
        for (const file of filesNamedBy(value)) inputs.push({ node: node.id, param, named: value, ...file });
      }
    }
    return inputs;
  }

  /** Files that appeared (or changed) where writer params point since the recorder was made. */
  private writerOutputs(): OutputFile[] {
    const ignore = new Set(this.options.ignore ?? []);
    const seen = new Set(this.written.map((f) => f.path));
    return this.writers.flatMap(({ node, param, pattern, before }) =>
      newOrChanged(before, patternSnapshot(pattern))
        .filter((path) => !ignore.has(path) && !seen.has(path))
        .map((path): OutputFile => ({ by: 'writer', path, node, param })),
    );
  }

  private assemble(status: RunStatus, files: { inputs: InputFile[]; outputs: OutputFile[]; hashed: boolean }, extra: { report?: RunReport; failure?: RunFailure; pipelineSha256?: string; endTime?: string }): RunRecord {
    const { document, pipelineFile, settings = [], outDir, runtime, cwd = process.cwd() } = this.options;
    return assembleRecord({
      status,
      ...(extra.failure ? { failure: extra.failure } : {}),
      engine: { version: ENGINE_VERSION, node: process.version },
      command: { argv: this.argv, line: commandLine(['emflow', ...this.argv.slice(2)]), cwd },
      host: { name: hostname(), platform: platform(), arch: arch(), ...user() },
      runtime,
      startTime: this.startTime,
      ...(extra.endTime ? { endTime: extra.endTime } : {}),
      pipeline: {
        ...(pipelineFile ? { file: pipelineFile } : {}),
        ...(extra.pipelineSha256 ? { sha256: extra.pipelineSha256 } : {}),
        ...(document.name !== undefined ? { name: document.name } : {}),
        settings,
        document,
      },
      ...(outDir ? { outDir } : {}),
      nodes: this.nodes,
      progress: this.progress,
      report: extra.report,
      ...files,
    });
  }

  /** The record so far, without hashes (the live report shows it while the run goes). */
  snapshot(): RunRecord {
    return this.assemble('running', { inputs: this.inputs(), outputs: [...this.written], hashed: false }, {});
  }

  /** The final record: every input and output hashed; written to `recordPath` when there is one. */
  async finish(outcome: { report: RunReport } | { error: unknown }): Promise<RunRecord> {
    const endTime = new Date().toISOString();
    const inputs: InputFile[] = [];
    for (const file of this.inputs()) inputs.push(file.error ? file : await hashed(file));
    const outputs: OutputFile[] = [];
    for (const file of [...this.written, ...this.writerOutputs()]) outputs.push(await hashed(file));
    const record = this.assemble(
      'report' in outcome ? 'ok' : 'failed',
      { inputs, outputs, hashed: true },
      { endTime, pipelineSha256: await this.pipelineHash, ...('report' in outcome ? { report: outcome.report } : { failure: failureOf(outcome.error) }) },
    );
    if (this.options.recordPath) writeJsonFile(this.options.recordPath, record);
    return record;
  }

  /** Ctrl-C: the record at once, synchronously, with sizes but no hashes. */
  interrupted(): RunRecord {
    const record = this.assemble(
      'interrupted',
      { inputs: this.inputs().map((f) => (f.error ? f : sized(f))), outputs: [...this.written, ...this.writerOutputs()].map(sized), hashed: false },
      { endTime: new Date().toISOString(), failure: { message: 'interrupted' } },
    );
    if (this.options.recordPath) writeJsonFile(this.options.recordPath, record);
    return record;
  }
}
