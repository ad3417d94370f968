// The file system side of the report: a run folder's record and per-frame outputs, uPlot's files, and writing the
// page atomically (a web server serving it never sends half a file).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DataType, tableFromIPC, type Table } from 'apache-arrow';
import { writeNewFile } from '@emflow/formats';
import { checkArrow } from '@emflow/sdk';
import { EnvironmentError } from '../runtime/runtime.js';
import { RECORD_FILE, type RunRecord } from '../provenance/record.js';
import { renderReport, type ReportAssets } from './html.js';
import { FrameValues, type FrameValue, type ReportModel } from './model.js';

/** The default report file in a run folder. */
export const REPORT_FILE = 'emflow-report.html';
/** Rows of one table the report keeps (a plot of more points says nothing more). */
export const MAX_ROWS = 100_000;
/** What `emflow run --out` names a frame: `<node>.<port>.<frame>.<json|arrow>` (node ids and ports have no dots). */
const OUTPUT_FILE = /^([A-Za-z_][A-Za-z0-9_-]*)\.([^./]+)\.(\d+)\.(json|arrow)$/;

/** The numeric (integer and floating point) columns of a table, nulls as null, the first MAX_ROWS rows. */
export function numericColumns(table: Table, maxRows = MAX_ROWS): { rows: number; columns: Record<string, (number | null)[]> } {
  const columns: Record<string, (number | null)[]> = {};
  const rows = Math.min(table.numRows, maxRows);
  for (const field of table.schema.fields) {
    if (!DataType.isInt(field.type) && !DataType.isFloat(field.type)) continue;
    const vector = table.getChild(field.name);
    if (!vector || Object.hasOwn(columns, field.name)) continue;
    const values: (number | null)[] = new Array(rows);
    for (let i = 0; i < rows; i++) {
      const v = vector.get(i) as number | bigint | null;
      values[i] = v === null ? null : Number(v);
    }
    columns[field.name] = values;
  }
  return { rows: table.numRows, columns };
}

/** The run record in `dir` and the per-frame values of the outputs `emflow run --out` wrote there. */
export function readRunFolder(dir: string): { record?: RunRecord; values: FrameValue[]; notes: string[] } {
  const notes: string[] = [];
  let record: RunRecord | undefined;
  try {
    record = JSON.parse(readFileSync(join(dir, RECORD_FILE), 'utf8')) as RunRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') notes.push(`${RECORD_FILE} could not be read: ${(error as Error).message}`);
  }
  const values = new FrameValues();
  for (const name of readdirSync(dir).sort()) {
    const match = OUTPUT_FILE.exec(name);
    if (!match) continue;
    const [, node, port, frame, extension] = match;
    const index = Number(frame);
    try {
      const bytes = readFileSync(join(dir, name));
      if (extension === 'json') values.add({ node, port, index, kind: 'json', value: JSON.parse(bytes.toString('utf8')) });
      else {
        checkArrow(bytes); // apache-arrow's reader loops for good on some corrupt files
        values.add({ node, port, index, kind: 'table', ...numericColumns(tableFromIPC(bytes)) });
      }
    } catch (error) {
      notes.push(`${name} was left out: ${(error as Error).message}`);
    }
  }
  return { ...(record ? { record } : {}), values: values.list(), notes };
}

/** uPlot's browser build and style, from the installed package (inlined into every report). */
export function uplotAssets(): ReportAssets {
  const require = createRequire(import.meta.url);
  try {
    return {
      uplotJs: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      uplotCss: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  } catch (error) {
    throw new EnvironmentError(`the report needs the uplot package (node_modules/uplot, installed with the editor): ${(error as Error).message}`);
  }
}

/** Render and write the report: an exclusive temporary renamed over `path`; a symbolic link there is refused. */
export function writeReport(path: string, model: ReportModel, assets: ReportAssets): void {
  writeNewFile(path, Buffer.from(renderReport(model, assets)), true);
}
