// What `emflow run` does for --out (the run record) and --report (the live report): one object the command feeds
// with node states and frames and tells how the run ended. Writing problems are said on stderr and fail the command,
// never the run.
import { join, resolve } from 'node:path';
import type { OperatorCatalog } from '../runtime/runtime.js';
import type { FrameEvent, NodeState, RunReport } from '../session/run.js';
import type { ResolvedPipeline } from '../validate/pipeline.js';
import type { LiveReport } from '../report/live.js';
import { recorderFor } from './index.js';
import { RECORD_FILE, type RunRecord } from './record.js';

export interface RunRecording {
  nodeState(node: string, state: NodeState, frames: number): void;
  /** a frame of an unconsumed output, and the file --out wrote it to */
  frame(event: FrameEvent, path?: string): void;
  /** the record (and the report's last version) once the run has ended; never throws */
  finish(outcome: { report: RunReport } | { error: unknown }): Promise<RunRecord>;
  /** Ctrl-C: both written at once, synchronously */
  interrupted(): void;
}

export interface RecordingOptions {
  pipeline: ResolvedPipeline;
  catalog: OperatorCatalog;
  baseDir: string;
  runtime: string;
  file?: string;
  settings: string[];
  out?: string;
  report?: string;
}

function complain(what: string, error: unknown): void {
  process.stderr.write(`emflow: ${what} could not be written: ${(error as Error).message}\n`);
  process.exitCode = 1;
}

/** Undefined when neither --out nor --report asks for anything. */
export async function startRecording(options: RecordingOptions): Promise<RunRecording | undefined> {
  const out = options.out ? resolve(options.out) : undefined;
  const reportPath = options.report ? resolve(options.report) : undefined;
  if (!out && !reportPath) return undefined;
  const recordPath = out ? join(out, RECORD_FILE) : undefined;
  const recorder = recorderFor(options.pipeline, options.catalog, options.baseDir, {
    runtime: options.runtime,
    ...(options.file ? { pipelineFile: resolve(options.file) } : {}),
    settings: options.settings,
    ...(out ? { outDir: out, recordPath } : {}),
    ignore: [recordPath, reportPath].filter((p): p is string => p !== undefined),
  });
  let live: LiveReport | undefined;
  if (reportPath) {
    // loaded only for --report: the report needs uPlot's files
    const { LiveReport, uplotAssets } = await import('../report/index.js');
    live = new LiveReport(reportPath, () => recorder.snapshot(), uplotAssets(), 2000, (error) => process.stderr.write(`emflow: warning: the report could not be written: ${(error as Error).message}\n`));
    live.changed();
  }
  return {
    nodeState(node, state, frames) {
      recorder.nodeState(node, state, frames);
      live?.changed();
    },
    frame(event, path) {
      if (path) recorder.outputWritten(path, event);
      live?.frame(event);
    },
    async finish(outcome) {
      let record: RunRecord;
      try {
        record = await recorder.finish(outcome);
      } catch (error) {
        complain(`the run record ${recordPath}`, error);
        record = { ...recorder.snapshot(), status: 'report' in outcome ? 'ok' : 'failed' };
      }
      live?.finish(record); // a failed write is a warning (onError)
      return record;
    },
    interrupted() {
      let record: RunRecord;
      try {
        record = recorder.interrupted();
      } catch (error) {
        complain(`the run record ${recordPath}`, error);
        record = { ...recorder.snapshot(), status: 'interrupted' };
      }
      live?.finish(record);
    },
  };
}
