// `emflow export --ro-crate RUN_DIR`: ro-crate-metadata.json checked as RO-Crate 1.1 asks (JSON-LD context,
// metadata descriptor, root dataset, every referenced @id described, data entities present with their sizes and
// sha256 as sha256sum computes them), the workflow, operators and the run's CreateAction; the copy into --out.
// The jsonld package is not installed, so the JSON-LD is checked for structure, not expanded.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../engine/src/provenance/record.js';
import { root } from './helpers.js';

const cli = join(root, 'engine/dist/cli/main.js');
const scratch = () => mkdtempSync(join(tmpdir(), 'emflow-crate-'));

function emflow(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const sha256sum = (file: string) => execFileSync('sha256sum', ['--', file], { encoding: 'utf8' }).slice(0, 64);

type Entity = { '@id': string; '@type': string | string[] } & Record<string, unknown>;
interface Crate {
  '@context': unknown;
  '@graph': Entity[];
}

const types = (e: Entity) => (Array.isArray(e['@type']) ? e['@type'] : [e['@type']]);
const ids = (value: unknown): string[] => (value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((v) => (v as { '@id': string })['@id']));

/** The checks RO-Crate 1.1 makes of any crate, and of its files on disk; returns the entities by @id. */
function checkCrate(dir: string): Map<string, Entity> {
  const text = readFileSync(join(dir, 'ro-crate-metadata.json'), 'utf8');
  const crate = JSON.parse(text) as Crate;
  expect(crate['@context']).toEqual(['https://w3id.org/ro/crate/1.1/context', { sha256: 'https://w3id.org/ro/terms/workflow-run#sha256' }]);
  const graph = crate['@graph'];
  expect(Array.isArray(graph)).toBe(true);
  // a flat graph: every entity has an @id and a @type, no @id twice
  for (const entity of graph) {
    expect(typeof entity['@id']).toBe('string');
    expect(types(entity).every((t) => typeof t === 'string')).toBe(true);
  }
  const byId = new Map(graph.map((e) => [e['@id'], e]));
  expect(byId.size).toBe(graph.length);
  // the metadata descriptor
  expect(byId.get('ro-crate-metadata.json')).toEqual({ '@id': 'ro-crate-metadata.json', '@type': 'CreativeWork', conformsTo: { '@id': 'https://w3id.org/ro/crate/1.1' }, about: { '@id': './' } });
  // the root data entity
  const rootEntity = byId.get('./')!;
  expect(rootEntity['@type']).toBe('Dataset');
  for (const key of ['name', 'description', 'datePublished']) expect(typeof rootEntity[key], key).toBe('string');
  expect(Number.isNaN(Date.parse(rootEntity.datePublished as string))).toBe(false);
  // every reference resolves to an entity of the graph (contextual references: schema.org status values aside)
  const references = graph.flatMap((e) =>
    Object.entries(e)
      .filter(([key]) => !key.startsWith('@'))
      .flatMap(([, value]) => (Array.isArray(value) ? value : [value]))
      .filter((v): v is { '@id': string } => typeof v === 'object' && v !== null && '@id' in v)
      .map((v) => v['@id']),
  );
  for (const id of references.filter((r) => !r.startsWith('http://schema.org/') && !r.startsWith('https://w3id.org/ro/crate/'))) expect(byId.has(id), `referenced ${id}`).toBe(true);
  // data entities in hasPart: files in the crate with their size and hash
  const parts = ids(rootEntity.hasPart);
  expect(parts.length).toBeGreaterThan(0);
  for (const id of parts) {
    const entity = byId.get(id)!;
    expect(types(entity)).toContain('File');
    expect(id).not.toMatch(/^[a-z]+:/); // relative to the crate root
    const path = join(dir, decodeURIComponent(id));
    expect(existsSync(path), path).toBe(true);
    expect(entity.contentSize).toBe(String(lstatSync(path).size));
    expect(entity.sha256).toBe(sha256sum(path));
    expect(typeof entity.encodingFormat).toBe('string');
  }
  return byId;
}

describe('emflow export --ro-crate', () => {
  let run: string;
  let written: string;
  let record: RunRecord;

  beforeAll(() => {
    run = scratch();
    written = scratch();
    const result = emflow('run', 'pipelines/emdb-projection.json', '--out', run, '--set', `png.path=${written}/p-{frame:02d}.png`);
    expect(result.code, result.stderr).toBe(0);
    expect(emflow('report', run).code).toBe(0);
    record = JSON.parse(readFileSync(join(run, 'emflow-run.json'), 'utf8')) as RunRecord;
  });

  it('makes the run folder a crate: descriptor, root dataset, files with sizes and hashes, every @id resolved', () => {
    const result = emflow('export', '--ro-crate', run);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(join(run, 'ro-crate-metadata.json'));
    const byId = checkCrate(run);
    const rootEntity = byId.get('./')!;
    expect(ids(rootEntity.hasPart).sort()).toEqual(['emflow-pipeline.json', 'emflow-report.html', 'emflow-run.json', 'stats.stats.0.json']);
    expect(rootEntity.mainEntity).toEqual({ '@id': 'emflow-pipeline.json' });

    // the workflow: the pipeline document as run, its operators as SoftwareApplications with version and identity
    const workflow = byId.get('emflow-pipeline.json')!;
    expect(workflow['@type']).toEqual(['File', 'SoftwareSourceCode', 'ComputationalWorkflow']);
    expect(JSON.parse(readFileSync(join(run, 'emflow-pipeline.json'), 'utf8'))).toEqual(record.pipeline.document);
    expect(byId.get(ids(workflow.programmingLanguage)[0])).toMatchObject({ name: 'emflow', version: record.engine.version });
    const operators = ids(workflow.hasPart).map((id) => byId.get(id)!);
    expect(operators.map((o) => o.name).sort()).toEqual(['gaussian-blur', 'mrc-reader', 'png-writer', 'project', 'stats']);
    for (const operator of operators) {
      const node = record.nodes.find((n) => n.operator === operator.name)!;
      expect(operator).toMatchObject({ '@type': 'SoftwareApplication', version: node.version, identifier: node.identity });
    }

    // the run
    const action = graphOf(run).find((e) => e['@type'] === 'CreateAction')!;
    expect(rootEntity.mentions).toEqual({ '@id': action['@id'] });
    expect(action).toMatchObject({ instrument: { '@id': 'emflow-pipeline.json' }, startTime: record.startTime, endTime: record.endTime, actionStatus: { '@id': 'http://schema.org/CompletedActionStatus' } });
    expect(byId.get(ids(action.agent)[0])).toMatchObject({ '@type': 'Person', name: record.host.user });
    expect(byId.get(ids(action.location)[0])).toMatchObject({ name: record.host.name });
    // object: the input, outside the crate, by its file: URI with the recorded hash
    const map = join(root, 'data/EMD-3001.map');
    expect(ids(action.object)).toEqual([pathToFileURL(map).href]);
    expect(byId.get(pathToFileURL(map).href)).toMatchObject({ '@type': 'File', sha256: sha256sum(map), contentSize: String(lstatSync(map).size) });
    // result: the --out file in the crate, the writer's file outside it (file: URI, not a part)
    const png = join(written, 'p-00.png');
    expect(ids(action.result)).toEqual(['stats.stats.0.json', pathToFileURL(png).href]);
    expect(byId.get(pathToFileURL(png).href)).toMatchObject({ encodingFormat: 'image/png', sha256: sha256sum(png) });
    expect(byId.get('stats.stats.0.json')).toMatchObject({ encodingFormat: 'application/json' });
  });

  it('copies the crate into --out: the writer file outside the run folder comes along under external/', () => {
    const target = join(scratch(), 'crate');
    const result = emflow('export', '--ro-crate', run, '--out', target, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ crate: target, metadata: join(target, 'ro-crate-metadata.json'), warnings: [] });
    const byId = checkCrate(target);
    const png = `external${written}/p-00.png`;
    expect(ids(byId.get('./')!.hasPart).sort()).toEqual(['emflow-pipeline.json', 'emflow-report.html', 'emflow-run.json', png, 'stats.stats.0.json'].sort());
    expect(readFileSync(join(target, png)).equals(readFileSync(join(written, 'p-00.png')))).toBe(true);
    const action = graphOf(target).find((e) => e['@type'] === 'CreateAction')!;
    expect(ids(action.result)).toEqual(['stats.stats.0.json', png]);
  });

  it('refuses a folder without a run record, a non-empty --out and a zip (exit 2), and warns about a file changed since the run', () => {
    const empty = scratch();
    const missing = emflow('export', '--ro-crate', empty);
    expect([missing.code, missing.stderr.trim()]).toEqual([2, `emflow: ${empty} has no emflow-run.json (it is written by emflow run --out ${empty})`]);
    const full = scratch();
    writeFileSync(join(full, 'x'), '');
    expect(emflow('export', '--ro-crate', run, '--out', full).code).toBe(2);
    expect(emflow('export', '--ro-crate', run, '--out', join(scratch(), 'crate.zip')).stderr).toContain('zip files are not written yet');
    expect(emflow('export', run).code).toBe(2); // no format named

    const changed = scratch();
    expect(emflow('run', 'pipelines/blur-stats.json', '--out', changed, '--frames', '1').code).toBe(0);
    writeFileSync(join(changed, 'stats.stats.0.json'), '{}\n');
    const result = emflow('export', '--ro-crate', changed);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`warning: ${join(changed, 'stats.stats.0.json')} changed since the run`);
    checkCrate(changed); // described as it is now
  });
});

function graphOf(dir: string): Entity[] {
  return (JSON.parse(readFileSync(join(dir, 'ro-crate-metadata.json'), 'utf8')) as Crate)['@graph'];
}
