// `emflow run --report FILE`: the report rewritten while the run goes, from the frames as they arrive, at most
// every `intervalMs` (a burst of frames costs one write), and once more when the run ends.
import type { RunRecord } from '../provenance/record.js';
import type { FrameEvent } from '../session/run.js';
import { numericColumns, writeReport } from './files.js';
import type { ReportAssets } from './html.js';
import { FrameValues, reportModel } from './model.js';

export class LiveReport {
  private readonly values = new FrameValues();
  private lastWrite = 0;
  private timer?: NodeJS.Timeout;
  private finished = false;

  constructor(
    readonly path: string,
    /** the run record as it stands */
    private readonly record: () => RunRecord,
    private readonly assets: ReportAssets,
    private readonly intervalMs = 2000,
    /** a write that failed (the run goes on) */
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** A frame of an unconsumed output: JSON values and table columns are kept for the plots (copied: the frame is a view). */
  frame(event: FrameEvent): void {
    const { node, port, index, frame } = event;
    if (frame.kind === 'json') this.values.add({ node, port, index, kind: 'json', value: structuredClone(frame.value) });
    else if (frame.kind === 'table') this.values.add({ node, port, index, kind: 'table', ...numericColumns(frame.table) });
    else return;
    this.changed();
  }

  /** Something worth showing happened (a frame, a node's state): write now, or when the interval has passed. */
  changed(): void {
    if (this.finished || this.timer) return;
    const wait = this.lastWrite + this.intervalMs - Date.now();
    if (wait <= 0) this.write(this.record());
    else this.timer = setTimeout(() => ((this.timer = undefined), this.finished || this.write(this.record())), wait).unref();
  }

  /** The last write, with the final record. */
  finish(record: RunRecord): void {
    this.finished = true;
    clearTimeout(this.timer);
    this.write(record);
  }

  private write(record: RunRecord): void {
    this.lastWrite = Date.now();
    try {
      writeReport(this.path, reportModel({ record, values: this.values.list(), generated: new Date().toISOString() }), this.assets);
    } catch (error) {
      this.onError(error);
    }
  }
}
