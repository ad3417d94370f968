// The journal of `emflow run --resume` from node events and a source's record file: a file is journaled once every
// result node downstream has finished all its frames; a sampling branch behind a dropping queue holds nothing back;
// a node giving more frames than its source stops the journal; --out indices go on after the frames journaled.
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { operatorDefinition, json, type OperatorSpec } from '@emflow/sdk';
import '../../operators/folder-source/src/index.js';
import { Resume } from '../src/cli/resume.js';
import type { FrameEvent } from '../src/session/run.js';
import { checkPipeline, type ResolvedPipeline } from '../src/validate/pipeline.js';
import { lookup } from './specs.js';

const scratch = mkdtempSync(join(tmpdir(), 'emflow-resume-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let outs = 0;

const writer: OperatorSpec = { name: 'writer', version: '1.0.0', description: 'a sink', inputs: { data: { type: 'ndarray' } }, outputs: {} };
const pair: OperatorSpec = { name: 'pair', version: '1.0.0', description: 'zips two streams', inputs: { a: { type: 'image2d' }, b: { type: 'image2d' } }, outputs: { out: { type: 'image2d' } } };
const made: Record<string, OperatorSpec> = { writer, pair };
const specs = (name: string) => (name === 'folder-source' ? operatorDefinition('folder-source')!.spec : (made[name] ?? lookup(name)));

interface Doc {
  nodes: { id: string; operator: string; params: Record<string, unknown> }[];
  edges: { from: { node: string; port: string }; to: { node: string; port: string }; queue?: { policy: string; size?: number } }[];
}

const edge = (from: string, to: string, policy?: string) => {
  const [fn, fp] = from.split('.');
  const [tn, tp] = to.split('.');
  return { from: { node: fn, port: fp }, to: { node: tn, port: tp }, ...(policy ? { queue: { policy, size: 1 } } : {}) };
};

/** src (folder-source) → scale → {write (writer), stats}; scale → view (stats) through a `latest` queue. */
function document(): Doc {
  return {
    nodes: [
      { id: 'src', operator: 'folder-source', params: { folder: '/data/acq' } },
      { id: 'scale', operator: 'scale', params: {} },
      { id: 'write', operator: 'writer', params: {} },
      { id: 'stats', operator: 'stats', params: {} },
      { id: 'view', operator: 'stats', params: {} },
    ],
    edges: [edge('src.image', 'scale.image'), edge('scale.image', 'write.data'), edge('scale.image', 'stats.image'), edge('scale.image', 'view.image', 'latest')],
  };
}

function resolved(doc: Doc): ResolvedPipeline {
  const { problems, pipeline } = checkPipeline({ emflow: 1, ...doc }, specs);
  expect(problems).toEqual([]);
  return pipeline!;
}

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const event = (node: string, index: number): FrameEvent => ({ run: 1, node, port: 'stats', index, frame: json({}) });

describe('emflow run --resume journal', () => {
  it('journals a file once every result node finished its frames, and only then', () => {
    const out = join(scratch, `out${outs++}`);
    const doc = document();
    const pipeline = resolved(doc);
    const warnings: string[] = [];
    const resume = new Resume(pipeline, [doc, pipeline.document], out, 'p.json', { warn: (m) => warnings.push(m) });
    const record = join(out, '.emflow-resume', 'src.record.jsonl');
    const journal = join(out, '.emflow-resume', 'src.jsonl');
    // a fresh start: no skip list; the record file is the source's to fill
    for (const params of [doc.nodes[0].params, pipeline.document.nodes[0].params]) expect(params).toMatchObject({ record });
    expect(doc.nodes[0].params.skip).toBeUndefined();
    expect(resume.describe()).toEqual([]);

    appendFileSync(record, JSON.stringify({ path: '/data/acq/a.mrc', first: 0, frames: 1 }) + '\n');
    appendFileSync(record, JSON.stringify({ path: '/data/acq/b.mrc', first: 1, frames: 3 }) + '\n{"path": "/data/acq/c.mr');
    const counts = (src: number, write: number, stats: number) => {
      resume.nodeFrames('src', src);
      resume.nodeFrames('write', write);
      resume.nodeFrames('stats', stats);
    };
    counts(4, 1, 0);
    expect(() => readFileSync(journal)).toThrow(); // stats has not finished frame 0
    counts(4, 3, 1);
    expect(lines(journal).map((l) => [l.path, l.frames])).toEqual([['/data/acq/a.mrc', 1]]);
    counts(4, 4, 3); // b.mrc's last frame is not through stats
    expect(lines(journal)).toHaveLength(1);
    resume.nodeFrames('view', 1); // the sampling branch is behind: it holds nothing back
    counts(5, 4, 4);
    expect(lines(journal).map((l) => [l.path, l.frames])).toEqual([['/data/acq/a.mrc', 1], ['/data/acq/b.mrc', 3]]);
    appendFileSync(record, 'c"' + ', "first": 4, "frames": 1}\n');
    counts(5, 5, 5);
    expect(lines(journal).map((l) => l.path)).toEqual(['/data/acq/a.mrc', '/data/acq/b.mrc', '/data/acq/c.mrc']);
    expect(warnings).toEqual([]);
    expect(resume.shifted(event('stats', 2)).index).toBe(2);

    // the next run skips them and numbers its --out frames after them
    const next = document();
    const again = new Resume(resolved(next), [next], out, 'p.json', { warn: (m) => warnings.push(m) });
    expect(next.nodes[0].params).toMatchObject({ skip: journal, record });
    expect(readFileSync(record, 'utf8')).toBe('');
    expect(again.describe()).toEqual([`emflow: resuming "src": 3 files (5 frames) done by earlier runs are skipped (${journal})`]);
    expect(again.shifted(event('stats', 2)).index).toBe(7);
    expect(again.shifted(event('view', 0)).index).toBe(0); // not downstream through blocking edges: its own numbering
  });

  it('stops journaling when a node gives more frames than the source emitted', () => {
    const out = join(scratch, `out${outs++}`);
    const doc = document();
    const warnings: string[] = [];
    const resume = new Resume(resolved(doc), [doc], out, 'p.json', { warn: (m) => warnings.push(m) });
    writeFileSync(join(out, '.emflow-resume', 'src.record.jsonl'), JSON.stringify({ path: '/data/acq/a.mrc', first: 0, frames: 1 }) + '\n');
    resume.nodeFrames('src', 1);
    resume.nodeFrames('stats', 2);
    resume.nodeFrames('write', 2);
    expect(warnings).toEqual(['emflow: --resume: node "stats" has given more frames than source "src" emitted, so frames cannot be told apart by file; no more files of "src" are recorded as done in this run']);
    expect(() => readFileSync(join(out, '.emflow-resume', 'src.jsonl'))).toThrow();
  });

  it.runIf(process.getuid?.() === 0)('gives the record file and its folder to the containers\' user (docker as root)', () => {
    const out = join(scratch, `out${outs++}`);
    const doc = document();
    new Resume(resolved(doc), [doc], out, 'p.json', { owner: { uid: 10001, gid: 10001 } });
    for (const path of [join(out, '.emflow-resume'), join(out, '.emflow-resume', 'src.record.jsonl')]) expect([statSync(path).uid, statSync(path).gid], path).toEqual([10001, 10001]);
  });

  it('refuses a pipeline without a resumable source, or pairing two of them', () => {
    const out = join(scratch, `out${outs++}`);
    const none: Doc = { nodes: [{ id: 'src', operator: 'synthetic', params: {} }, { id: 'stats', operator: 'stats', params: {} }], edges: [edge('src.image', 'stats.image')] };
    expect(() => new Resume(resolved(none), [none], out, 'p.json')).toThrow('--resume: p.json has no source that can resume (one with skip and record params, such as folder-source)');
    const two: Doc = {
      nodes: [
        { id: 'a', operator: 'folder-source', params: { folder: '/a' } },
        { id: 'b', operator: 'folder-source', params: { folder: '/b' } },
        { id: 'diff', operator: 'pair', params: {} },
      ],
      edges: [edge('a.image', 'diff.a'), edge('b.image', 'diff.b')],
    };
    expect(() => new Resume(resolved(two), [two], out, 'p.json')).toThrow('--resume: node "diff" combines the streams of sources "a" and "b"');
  });

  it('never follows a symbolic link planted where it writes (its folder, a record, a journal): the file pointed at is left alone', () => {
    const victim = join(scratch, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    const planted = (name: string) => {
      const out = join(scratch, `out${outs++}`);
      mkdirSync(join(out, '.emflow-resume'), { recursive: true });
      symlinkSync(victim, join(out, '.emflow-resume', name));
      return { out, link: join(out, '.emflow-resume', name) };
    };
    for (const name of ['src.record.jsonl', 'src.jsonl']) {
      const { out, link } = planted(name);
      const doc = document();
      expect(() => new Resume(resolved(doc), [doc], out, 'p.json')).toThrow(`--resume: ${link} is a symbolic link; emflow writes there only into a file of its own`);
      expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    }
    const out = join(scratch, `out${outs++}`);
    const elsewhere = mkdtempSync(join(scratch, 'elsewhere-'));
    mkdirSync(out);
    symlinkSync(elsewhere, join(out, '.emflow-resume'));
    const doc = document();
    expect(() => new Resume(resolved(doc), [doc], out, 'p.json')).toThrow(`--resume: ${join(out, '.emflow-resume')} is a symbolic link; emflow writes there only into a folder of its own`);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('stops journaling, and says so, when the journal is replaced by a symbolic link during the run', () => {
    const out = join(scratch, `out${outs++}`);
    const doc = document();
    const warnings: string[] = [];
    const resume = new Resume(resolved(doc), [doc], out, 'p.json', { warn: (m) => warnings.push(m) });
    const victim = join(scratch, 'victim2.txt');
    writeFileSync(victim, 'precious\n');
    const journal = join(out, '.emflow-resume', 'src.jsonl');
    symlinkSync(victim, journal);
    writeFileSync(join(out, '.emflow-resume', 'src.record.jsonl'), JSON.stringify({ path: '/data/acq/a.mrc', first: 0, frames: 1 }) + '\n');
    for (const node of ['src', 'write', 'stats']) resume.nodeFrames(node, 1);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(warnings).toEqual([`emflow: --resume: its journal ${journal} is a symbolic link now; no more files of "src" are recorded as done in this run`]);
  });
});
