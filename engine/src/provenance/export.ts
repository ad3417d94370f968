// `emflow export --ro-crate RUN_DIR [--out DIR]`: the run folder becomes an RO-Crate (its files described in
// ro-crate-metadata.json, the pipeline written next to them), or a copy of what the record names is made in DIR.
import { copyFileSync, constants, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { pathInside } from '../path-inside.js';
import { hashed, writeJsonFile } from './files.js';
import { RECORD_FILE, type HashedFile, type RunRecord } from './record.js';
import { CRATE_METADATA, crateId, externalId, PIPELINE_FILE, roCrateMetadata, type CrateFile } from './ro-crate.js';

/** The report `emflow report` writes into a run folder by default (included in the crate when present). */
const REPORT_FILE = 'emflow-report.html';

/** A run folder or target that cannot be exported: said in one line. */
export class ExportError extends Error {
  override name = 'ExportError';
}

export interface ExportResult {
  /** the crate's root folder */
  dir: string;
  metadata: string;
  /** files written into the crate or described by it */
  files: number;
  /** recorded files missing now, or changed since the run */
  warnings: string[];
}

function readRecord(runDir: string): RunRecord {
  const path = join(runDir, RECORD_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ExportError(code === 'ENOENT' ? `${runDir} has no ${RECORD_FILE} (it is written by emflow run --out ${runDir})` : `cannot read ${path}: ${code}`);
  }
  try {
    const record = JSON.parse(text) as RunRecord;
    if (record?.emflowRun !== 1) throw new Error(`not an emflow run record (emflowRun: ${JSON.stringify(record?.emflowRun)})`);
    return record;
  } catch (error) {
    throw new ExportError(`${path}: ${(error as Error).message}`);
  }
}

/** A folder the copy may go into: absent, or empty. */
function emptyTarget(out: string): void {
  if (/\.zip$/i.test(out)) throw new ExportError(`--out ${out}: zip files are not written yet; name a folder (the crate is a folder)`);
  const stats = lstatSync(out, { throwIfNoEntry: false });
  if (!stats) {
    mkdirSync(out, { recursive: true });
    return;
  }
  if (!stats.isDirectory()) throw new ExportError(`--out ${out}: exists and is not a folder`);
  if (readdirSync(out).length) throw new ExportError(`--out ${out}: the folder is not empty (the crate is written into a new or empty folder)`);
}

const inside = (dir: string, path: string) => pathInside(dir, path)?.split(sep).join('/');

const hex = (sha256: string | undefined) => sha256?.replace(/^sha256:/, '');

export async function exportRoCrate(runDirGiven: string, outGiven?: string, now = new Date()): Promise<ExportResult> {
  const runDir = resolve(runDirGiven);
  const record = readRecord(runDir);
  const out = outGiven === undefined ? undefined : resolve(outGiven);
  if (out === runDir) throw new ExportError('--out names the run folder itself: leave --out off to make the run folder the crate');
  if (out) emptyTarget(out);
  const crate = out ?? runDir;
  const warnings: string[] = [];

  /** Where a file of the run sits in the crate (copied there with --out), or its file: URI when it stays outside. */
  const place = (path: string): string => {
    const rel = inside(runDir, path);
    if (!out) return rel ? crateId(rel) : externalId(path);
    const target = rel ?? `external${path}`.split(sep).join('/');
    mkdirSync(dirname(join(crate, target)), { recursive: true });
    copyFileSync(path, join(crate, target), constants.COPYFILE_EXCL);
    return crateId(target);
  };
  /** The file hashed now (a change since the run is a warning), placed in the crate unless `id` says where it already is. */
  const described = async (file: HashedFile, description?: string, id?: string): Promise<CrateFile | undefined> => {
    if (!existsSync(file.path)) {
      warnings.push(`${file.path} is recorded but no longer there: left out`);
      return undefined;
    }
    const current: HashedFile = await hashed({ path: file.path });
    if (file.sha256 && current.sha256 !== file.sha256) warnings.push(`${file.path} changed since the run (recorded ${file.sha256}, now ${current.sha256})`);
    return { id: id ?? place(file.path), size: current.size, sha256: hex(current.sha256), ...(description ? { description } : {}) };
  };

  const outputs: CrateFile[] = [];
  for (const file of record.outputs) {
    const entry = await described(file, file.by === 'out' ? `frame ${file.frame} of ${file.node}.${file.port}` : `written by ${file.node} (${file.param})`);
    if (entry) outputs.push(entry);
  }
  writeJsonFile(join(crate, PIPELINE_FILE), record.pipeline.document);
  const pipeline = (await described({ path: join(crate, PIPELINE_FILE) }, undefined, crateId(PIPELINE_FILE)))!;
  // the record and report of the run folder: described in place, or copied
  const recordFile = (await described({ path: join(runDir, RECORD_FILE) }))!;
  const reportPath = join(runDir, REPORT_FILE);
  const report = existsSync(reportPath) ? await described({ path: reportPath }) : undefined;
  // inputs stay where they are: their file: URIs, sizes and hashes as recorded
  const inputs = record.inputs.filter((f) => !f.error).map((f): CrateFile => ({ id: externalId(f.path), size: f.size, sha256: hex(f.sha256), description: `read by ${f.node} (${f.param})` }));

  const metadata = roCrateMetadata(record, { record: recordFile, pipeline, ...(report ? { report } : {}), outputs, inputs }, now.toISOString());
  const metadataPath = join(crate, CRATE_METADATA);
  writeJsonFile(metadataPath, metadata);
  return { dir: crate, metadata: metadataPath, files: outputs.length + inputs.length + (report ? 3 : 2), warnings };
}
