// The RO-Crate 1.1 metadata (https://w3id.org/ro/crate/1.1) of a run: the outputs and the record as data entities,
// the pipeline as a ComputationalWorkflow (Workflow RO-Crate), its operators as SoftwareApplications, and the run as
// a CreateAction (instrument, object, result, agent, times, status). Pure: files come in already hashed.
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunRecord } from './record.js';

export const CRATE_METADATA = 'ro-crate-metadata.json';
/** The pipeline document as run, written into the crate: the workflow's data entity. */
export const PIPELINE_FILE = 'emflow-pipeline.json';
export const RO_CRATE_CONTEXT = 'https://w3id.org/ro/crate/1.1/context';
export const RO_CRATE_SPEC = 'https://w3id.org/ro/crate/1.1';
/** `sha256` is not in the 1.1 context: the term the Workflow Run RO-Crate profile defines for it. */
export const SHA256_TERM = 'https://w3id.org/ro/terms/workflow-run#sha256';
export const ENGINE_URL = 'https://emflow.dev/';

export interface CrateFile {
  /** a path relative to the crate root (in the crate), or an absolute file: URI (outside it) */
  id: string;
  /** bytes, when known */
  size?: number;
  /** hex digest */
  sha256?: string;
  description?: string;
}

export interface CrateFiles {
  record: CrateFile;
  pipeline: CrateFile;
  report?: CrateFile;
  outputs: CrateFile[];
  inputs: CrateFile[];
}

type Entity = { '@id': string; '@type': string | string[] } & Record<string, unknown>;
type Metadata = { '@context': unknown; '@graph': Entity[] };

const FORMATS: Record<string, string> = {
  '.json': 'application/json',
  '.arrow': 'application/vnd.apache.arrow.file',
  '.npy': 'application/x-npy',
  '.png': 'image/png',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.mrc': 'application/x-mrc',
  '.map': 'application/x-mrc',
  '.mrcs': 'application/x-mrc',
  '.html': 'text/html',
  '.txt': 'text/plain',
  '.log': 'text/plain',
};

/** An IANA media type (or the x- type the field uses) from the file's extension. */
export function encodingFormat(path: string): string {
  return FORMATS[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** The @id of a file in the crate: its relative path with each segment percent-encoded, as RO-Crate asks. */
export function crateId(relative: string): string {
  return relative.split('/').map(encodeURIComponent).join('/');
}

/** The @id of a file outside the crate: its absolute file: URI. */
export const externalId = (path: string): string => pathToFileURL(path).href;

const ref = (id: string) => ({ '@id': id });
const baseName = (id: string) => decodeURIComponent(id.replace(/\/+$/, '').split('/').pop() ?? id);

function fileEntity(file: CrateFile, extra: Record<string, unknown> = {}, type: string | string[] = 'File'): Entity {
  return {
    '@id': file.id,
    '@type': type,
    name: baseName(file.id),
    ...(file.description ? { description: file.description } : {}),
    ...(file.size !== undefined ? { contentSize: String(file.size) } : {}),
    encodingFormat: encodingFormat(baseName(file.id)),
    ...(file.sha256 ? { sha256: file.sha256 } : {}),
    ...extra,
  };
}

const operatorId = (name: string, version: string, identity: string) => `#operator/${encodeURIComponent(name)}@${encodeURIComponent(version)}/${encodeURIComponent(identity)}`;

const unique = (files: readonly CrateFile[]) => [...new Map(files.map((f) => [f.id, f])).values()];

export function roCrateMetadata(record: RunRecord, given: CrateFiles, datePublished: string): Metadata {
  const files = { ...given, outputs: unique(given.outputs), inputs: unique(given.inputs).filter((f) => !given.outputs.some((o) => o.id === f.id)) };
  const pipelineName = record.pipeline.name ?? (record.pipeline.file ? baseName(record.pipeline.file) : 'pipeline');
  const runId = `#run-${record.startTime}`;
  const agentId = `#user-${encodeURIComponent(record.host.user)}`;
  const hostId = `#host-${encodeURIComponent(record.host.name)}`;
  const operators = new Map<string, Entity>();
  for (const node of record.nodes) {
    const id = operatorId(node.operator, node.version, node.identity);
    if (!operators.has(id))
      operators.set(id, { '@id': id, '@type': 'SoftwareApplication', name: node.operator, version: node.version, identifier: node.identity, description: `emflow operator from ${node.location}`, ...(record.runtime ? { runtimePlatform: `emflow ${record.runtime} runtime` } : {}) });
  }
  const inCrate = (f: CrateFile) => !/^[a-z][a-z0-9+.-]*:/i.test(f.id);
  const parts = [files.pipeline, files.record, ...(files.report ? [files.report] : []), ...files.outputs].filter(inCrate);
  const status = record.status === 'ok' ? 'CompletedActionStatus' : record.status === 'running' ? 'ActiveActionStatus' : 'FailedActionStatus';
  const graph: Entity[] = [
    { '@id': CRATE_METADATA, '@type': 'CreativeWork', conformsTo: ref(RO_CRATE_SPEC), about: ref('./') },
    {
      '@id': './',
      '@type': 'Dataset',
      name: `emflow run of ${pipelineName}`,
      description: `Outputs and provenance of one run of the emflow pipeline "${pipelineName}" (${record.status}), started ${record.startTime} on ${record.host.name}.`,
      datePublished,
      hasPart: parts.map((f) => ref(f.id)),
      mainEntity: ref(files.pipeline.id),
      mentions: ref(runId),
    },
    fileEntity(
      files.pipeline,
      { name: pipelineName, description: 'the emflow pipeline document as run: params validated with defaults filled in, file paths absolute', programmingLanguage: ref('#emflow'), hasPart: [...operators.keys()].map(ref) },
      ['File', 'SoftwareSourceCode', 'ComputationalWorkflow'],
    ),
    { '@id': '#emflow', '@type': ['ComputerLanguage', 'SoftwareApplication'], name: 'emflow', url: ENGINE_URL, version: record.engine.version },
    ...operators.values(),
    fileEntity(files.record, { description: 'the emflow run record (emflow-run.json): pipeline, operators, inputs, outputs, timings', about: ref(runId) }),
    ...(files.report ? [fileEntity(files.report, { description: 'the run report (static HTML)', about: ref(runId) })] : []),
    ...files.outputs.map((f) => fileEntity(f)),
    ...files.inputs.map((f) => fileEntity(f)),
    {
      '@id': runId,
      '@type': 'CreateAction',
      name: `emflow run of ${pipelineName}`,
      description: record.command.line,
      instrument: ref(files.pipeline.id),
      object: files.inputs.map((f) => ref(f.id)),
      result: files.outputs.map((f) => ref(f.id)),
      agent: ref(agentId),
      location: ref(hostId),
      startTime: record.startTime,
      ...(record.endTime ? { endTime: record.endTime } : {}),
      actionStatus: ref(`http://schema.org/${status}`),
      ...(record.failure ? { error: record.failure.message } : {}),
    },
    { '@id': agentId, '@type': 'Person', name: record.host.user },
    { '@id': hostId, '@type': 'Place', name: record.host.name, description: `the machine the run ran on (${record.host.platform} ${record.host.arch})` },
  ];
  return { '@context': [RO_CRATE_CONTEXT, { sha256: SHA256_TERM }], '@graph': graph };
}
