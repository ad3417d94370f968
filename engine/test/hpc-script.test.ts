// The batch script emflow submit writes: what bash runs (checked by running the script with a stand-in for emflow
// that records its argv), what sbatch reads (#SBATCH lines), and the allocation from the operators' resources.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OperatorSpec } from '@emflow/sdk';
import { allocationFor, batchScript, checkTime, fitAllocation, jobSlug, logPattern, parseMem, sbatchValue, ScriptValueError, shellQuote, type BatchScriptOptions } from '../src/hpc/script.js';

const spec = (resources?: OperatorSpec['resources']): OperatorSpec => ({ name: 'x', version: '1.0.0', description: '', outputs: {}, ...(resources ? { resources } : {}) });

describe('allocationFor', () => {
  it('adds up every node: 1 CPU and 1024 MiB for a node without resources', () => {
    const specs = new Map([
      ['src', spec()],
      ['blur', spec({ cpus: 2, memory: '512m' })],
      ['fft', spec({ cpus: 0.5, memory: 3 * 2 ** 30 })],
      ['stats', spec({ memory: '1.5g' })],
    ]);
    expect(allocationFor(specs, ['src', 'blur', 'fft', 'stats'])).toEqual({ cpus: 1 + 2 + 1 + 1, memMB: 1024 + 512 + 3072 + 1536 });
  });

  it('counts two nodes of one operator twice, GPUs too, and lets --cpus and --mem override', () => {
    const gpu = spec({ cpus: 4, memory: '8g', gpu: 1 });
    const specs = new Map([
      ['a', gpu],
      ['b', gpu],
    ]);
    expect(allocationFor(specs, ['a', 'b'])).toEqual({ cpus: 8, memMB: 16384, gpus: 2 });
    expect(allocationFor(specs, ['a', 'b'], { cpus: 3 })).toEqual({ cpus: 3, memMB: 16384, gpus: 2 });
    expect(allocationFor(specs, ['a', 'b'], { memMB: 100 })).toEqual({ cpus: 8, memMB: 100, gpus: 2 });
  });

  it('fits what the specs add up to into the largest node, never what the user gave', () => {
    const wanted = { cpus: 4, memMB: 4096 };
    expect(fitAllocation(wanted, { cpus: 2, memMB: 24000 }, {})).toEqual({ allocation: { cpus: 2, memMB: 4096 }, notes: [expect.stringContaining('largest node has 2')] });
    expect(fitAllocation(wanted, { cpus: 8, memMB: 8000 }, { cpus: 4, memMB: 4096 })).toEqual({ allocation: wanted, notes: [] });
    expect(fitAllocation(wanted, { cpus: 2, memMB: 1000 }, { cpus: 4, memMB: 4096 }, 'debug').refusal).toBe(
      'partition debug can never grant this job (--cpus 4: its largest node has 2 CPUs; --mem 4096M: its largest node has 1000 MiB)',
    );
    expect(fitAllocation(wanted, undefined, {})).toEqual({ allocation: wanted, notes: [] });
  });
});

describe('flag values', () => {
  it('reads --mem as Slurm does (MiB without a unit) and --time in Slurm forms only', () => {
    expect(parseMem('4096')).toBe(4096);
    expect(parseMem('512M')).toBe(512);
    expect(parseMem('16G')).toBe(16384);
    expect(parseMem('1.5g')).toBe(1536);
    expect(parseMem('2048K')).toBe(2);
    expect(() => parseMem('lots')).toThrow(ScriptValueError);
    expect(() => parseMem('0')).toThrow(ScriptValueError);
    for (const t of ['30', '0:01', '1:00:00', '2-00', '2-12:30', '1-00:00:00', 'UNLIMITED']) expect(checkTime(t)).toBe(t);
    for (const t of ['1h', '10 min', '1:2:3:4', '$(date)']) expect(() => checkTime(t)).toThrow(ScriptValueError);
  });

  it('names jobs from pipeline names with safe characters only', () => {
    expect(jobSlug('blur and measure')).toBe('blur-and-measure');
    expect(jobSlug('Ünïcode / $(rm -rf) "x"')).toBe('unicode-rm-rf-x');
    expect(jobSlug('---')).toBe('pipeline');
  });

  it('quotes for bash and for sbatch', () => {
    expect(shellQuote('/work/a-b_c.json')).toBe('/work/a-b_c.json');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('~')).toBe("'~'");
    expect(sbatchValue('/out/x', 'o')).toBe('/out/x');
    expect(sbatchValue('/my out/"q"#x\\', 'o')).toBe('"/my out/\\"q\\"#x\\\\"');
    expect(() => sbatchValue('a\nb', 'o')).toThrow(ScriptValueError);
    expect(logPattern('/data/100%/run')).toBe('/data/100%%/run/emflow-%j.log');
    expect(() => logPattern('/data\\x')).toThrow(ScriptValueError);
  });
});

/** sbatch's reading of an `#SBATCH` line's words (its _get_argument): "..." groups, \ escapes, # ends the line. */
function sbatchWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length || line[i] === '#') break;
    let word = '';
    let quoted = false;
    while (i < line.length && (quoted || (line[i] !== ' ' && line[i] !== '\t'))) {
      const c = line[i];
      if (c === '\\') word += line[++i] ?? '';
      else if (c === '"') quoted = !quoted;
      else if (c === '#' && !quoted) break;
      else word += c;
      i++;
    }
    words.push(word);
    if (line[i] === '#') break;
  }
  return words;
}

/** The options sbatch takes from a script: #SBATCH lines up to the first line that is not a comment. */
function sbatchOptions(script: string): string[] {
  const options: string[] = [];
  for (const line of script.split('\n').slice(1)) {
    if (line.trim() && !line.startsWith('#')) break;
    if (line.startsWith('#SBATCH')) options.push(...sbatchWords(line.slice('#SBATCH'.length)));
  }
  return options;
}

describe('batchScript', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'emflow-hpc-'));
  const recorder = join(scratch, 'record-argv.mjs');
  writeFileSync(recorder, "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.ARGV_FILE, JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd() }));\n");

  const hostile = ["it's", '"double"', '$(touch PWNED-dollar)', '`touch PWNED-tick`', 'a b\tc', 'line\n#SBATCH --partition=evil\ntouch PWNED-newline', '*', '~', '$HOME', '; touch PWNED-semi', '\\', "'; touch PWNED-q; '"];

  function options(dir: string, extra: Partial<BatchScriptOptions> = {}): BatchScriptOptions {
    return {
      name: 'blur and measure',
      pipeline: join(dir, "pipe $(touch PWNED-path) 'x'.json"),
      out: join(dir, 'out dir "q" %j $x'),
      cwd: dir,
      node: process.execPath,
      cli: recorder,
      runtime: 'process',
      operators: [join(dir, 'ops `touch PWNED-ops`')],
      settings: hostile.map((v, i) => `n${i}.p=${v}`),
      partition: 'debug',
      time: '0:01',
      allocation: { cpus: 3, memMB: 5120 },
      ...extra,
    };
  }

  it('gives sbatch exactly the job options, whatever the paths hold', () => {
    const dir = join(scratch, 'sbatch');
    const script = batchScript(options(dir));
    expect(script.startsWith('#!/bin/bash\n#SBATCH --job-name=emflow-blur-and-measure\n')).toBe(true);
    expect(sbatchOptions(script)).toEqual([
      '--job-name=emflow-blur-and-measure',
      `--output=${dir}/out dir "q" %%j $x/emflow-%j.log`,
      '--partition=debug',
      '--time=0:01',
      '--nodes=1',
      '--ntasks=1',
      '--cpus-per-task=3',
      '--mem=5120M',
    ]);
    expect(script).toContain('set -euo pipefail\n');
    expect(batchScript(options(dir, { partition: undefined, time: undefined, allocation: { cpus: 1, memMB: 1, gpus: 2 } }))).toMatch(/#SBATCH --mem=1M\n#SBATCH --gres=gpu:2\n/);
  });

  it('runs emflow with exactly the arguments given, in the submit directory; nothing in a value is executed', () => {
    const dir = join(scratch, "cwd with 'quote' and $(touch PWNED-cwd)");
    mkdirSync(dir, { recursive: true });
    const o = options(dir, { images: join(dir, 'sif $(x)'), frames: 7, timeoutMs: 5000 });
    const path = join(dir, 'job.sbatch');
    writeFileSync(path, batchScript(o));
    const argvFile = join(scratch, 'argv.json');
    const result = spawnSync('bash', [path], { cwd: tmpdir(), env: { ...process.env, ARGV_FILE: argvFile }, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const { argv, cwd } = JSON.parse(readFileSync(argvFile, 'utf8')) as { argv: string[]; cwd: string };
    expect(cwd).toBe(dir);
    expect(argv).toEqual([
      'run',
      o.pipeline,
      '--runtime',
      'process',
      '--images',
      o.images,
      '--operators',
      o.operators![0],
      '--out',
      o.out,
      '--frames',
      '7',
      '--timeout',
      '5000',
      '--json',
      '--progress',
      'plain',
      ...hostile.flatMap((v, i) => ['--set', `n${i}.p=${v}`]),
    ]);
    const pwned = [scratch, dir, tmpdir()].flatMap((d) => readdirSync(d).filter((f) => f.startsWith('PWNED')));
    expect(pwned).toEqual([]);
    expect(existsSync(join(tmpdir(), 'PWNED-newline'))).toBe(false);
  });

  it('refuses what sbatch cannot carry and relative paths', () => {
    expect(() => batchScript(options(scratch, { out: '/out\nx' }))).toThrow(ScriptValueError);
    expect(() => batchScript(options(scratch, { partition: 'debug --time=9' }))).toThrow(ScriptValueError);
    expect(() => batchScript(options(scratch, { time: '1:00\n#SBATCH --x' }))).toThrow(ScriptValueError);
    expect(() => batchScript(options(scratch, { pipeline: 'pipelines/x.json' }))).toThrow(/absolute/);
  });
});
