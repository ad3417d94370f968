// emflow bench
import type { Command } from 'commander';
import { UsageError } from '../exit.js';
import { FULL, QUICK, runBench, type BenchReport, type ColdStart, type RoundTrip } from '../../bench/bench.js';
import type { EditorBench } from '../../bench/editor.js';
import { appendHistory, compareFigures, currentCommit, figuresOf, historyEntry, readEarlier, type Comparison } from '../../bench/history.js';
import { REPO_ROOT } from '../../build/images.js';

const f = (n: number, digits = 2) => n.toFixed(digits);

type Mark = (met: boolean) => string;

const roundTripLine = (what: string, t: RoundTrip, mark: Mark) =>
  `${what}   median ${f(t.medianUs, 1)} µs, p99 ${f(t.p99Us, 1)} µs  (${t.target}: ${mark(t.met)})` +
  `; raw relay of a tiny message (two messages, three bare Node processes) ${f(t.relayUs, 1)} µs`;

const coldStartLine = (what: string, c: ColdStart, mark: Mark) =>
  `cold start of ${c.operators} ${what}: parallel ${f(c.parallelMs, 0)} ms, one after another ${f(c.sequentialMs, 0)} ms, ratio ${f(c.ratio)}  (${c.target}: ${mark(c.met)})` +
  (c.floor ? `\n  this machine's floor, ${c.floor.what}: parallel ${f(c.floor.parallelMs, 0)} ms, one after another ${f(c.floor.sequentialMs, 0)} ms, ratio ${f(c.floor.ratio)}` : '');

function table(r: BenchReport & { editor?: EditorBench }): string {
  const mark = (met: boolean) => (met ? 'met' : 'NOT met');
  return [
    `emflow bench  (${r.machine.cpus} cpus, node ${r.machine.node}; medians)`,
    ``,
    `hand-off of a float32 frame between two warm operator processes (writer done → reader holds a view)`,
    ...r.handoff.sizes.map(
      (h) => `  ${f(h.frameBytes / 2 ** 20, 0).padStart(4)} MiB   ${f(h.handoffMs, 3)} ms   memcpy ${f(h.memcpyMs, 3)} ms   ${f(h.handoffMs / h.memcpyMs, 3)} × memcpy   raw relay ${f(h.relayMs, 3)} ms`,
    ),
    `  at ${f(r.handoff.frameBytes / 2 ** 20, 0)} MiB: hand-off = ${f(r.handoff.ratioToMemcpy, 3)} × memcpy  (${r.handoff.target}: ${mark(r.handoff.met)})`,
    `  largest over smallest: ${f(r.handoff.growth.ratio, 2)} ×  (${r.handoff.growth.target}: ${mark(r.handoff.growth.met)}); the raw relay's: ${f(r.handoff.growth.relayRatio, 2)} ×`,
    `  (raw relay: writer → relay → reader as three bare Node processes on Unix sockets, after the same fill: this machine's floor)`,
    `  the writer writing only the last value: ${f(r.handoff.unfilled.smallestMs, 3)} ms and ${f(r.handoff.unfilled.largestMs, 3)} ms, ${f(r.handoff.unfilled.ratio, 2)} × (no idle time before the hand-off)`,
    `  file passing on tmpfs ${f(r.handoff.filePassingMs, 3)} ms: hand-off = ${f(r.handoff.ratioToFilePassing, 4)} × file passing`,
    ``,
    roundTripLine('tiny frame round trip through one operator', r.roundTrip, mark),
    ``,
    ...[r.chain.balanced, r.chain].map((c) => `${c.stages}, ${c.side}² float32, ${c.frames} frames: pipelined across processes ${f(c.pipelineFps)} frames/s, one process ${f(c.singleProcessFps)} frames/s, ratio ${f(c.ratio)}`),
    `  balanced stages  (${r.chain.balanced.target}: ${mark(r.chain.balanced.met)})`,
    ``,
    coldStartLine('operator processes', r.coldStart, mark),
    ``,
    `stream of ${r.stream.frames} frames of ${f(r.stream.frameBytes / 2 ** 20, 1)} MiB into a consumer that takes 20 ms each, ring of ${r.stream.ringSize}, default result cache on`,
    `  producer ahead of its consumer   at most ${r.stream.peakAhead} frames`,
    `  slot files in the session dir    at most ${f(r.stream.peakDirBytes / 2 ** 20, 1)} MiB (rings ${f(r.stream.ringBytes / 2 ** 20, 1)} MiB + cache budget ${f(r.stream.cacheBudget / 2 ** 20, 0)} MiB)  (${r.stream.target}: ${mark(r.stream.met)})`,
    ``,
    `streaming: the highest acquisition rate kept up with by a ${r.streaming.operatorMs} ms/frame operator`,
    ...r.streaming.configurations.map((c) => `  ${c.replicas} replica${c.replicas > 1 ? 's' : ' '}   ${f(c.rate, 0).padStart(4)} frames/s   (peak lag ${f(c.peakBehindSeconds, 2)} s)`),
    `  ratio ${f(r.streaming.ratio)}  (${r.streaming.target}: ${mark(r.streaming.met)})`,
    ``,
    `the same hand-off with Python operators (emflow_sdk: numpy views of the slots)`,
    ...('skipped' in r.python
      ? [`  skipped: ${r.python.skipped}`]
      : [
          `  Python → Python          ${f(r.python.pythonToPythonMs, 3)} ms   ${f(r.python.pythonRatio)} × the TypeScript pair (${f(r.python.typescriptMs, 3)} ms, measured by turns with these)`,
          `  TypeScript → Python      ${f(r.python.typescriptToPythonMs, 3)} ms   ${f(r.python.mixedRatio)} × the TypeScript pair  (${r.python.target}: ${mark(r.python.met)})`,
        ]),
    ...(['docker', 'singularity'] as const).flatMap((kind) => {
      const c = r[kind];
      return c
        ? [
            ``,
            `${kind} runtime`,
            `  ${coldStartLine(`${kind} operators`, c.coldStart, mark)}`,
            `  ${roundTripLine(`tiny frame round trip through one ${kind} operator`, c.roundTrip, mark)}`,
            `  warm re-run, last of 5 nodes changed (${c.warmRerun.side}²): ${f(c.warmRerun.rerunMs, 1)} ms; cold open + run ${f(c.warmRerun.coldMs, 0)} ms (${f(c.warmRerun.coldOverRerun, 1)}×)  (${c.warmRerun.target}: ${mark(c.warmRerun.met)})`,
            `  hand-off between ${kind} operators ${f(c.handoff.containersMs, 3)} ms vs processes ${f(c.handoff.processesMs, 3)} ms, ratio ${f(c.handoff.ratio)}  (${c.handoff.target}: ${mark(c.handoff.met)})`,
          ]
        : [];
    }),
    ...(r.editor
      ? [
          ``,
          `editor re-tune: ${r.editor.size}² image, gaussian-blur → image-view, ${r.editor.moves} slider moves in Chromium`,
          `  slider input → pane drawn   ${f(r.editor.totalMs.median, 1)} ms (p90 ${f(r.editor.totalMs.p90, 1)})`,
          `  the blur alone              ${f(r.editor.blurMs.median, 1)} ms`,
          `  beyond the blur             ${f(r.editor.overheadMs.median, 1)} ms (p90 ${f(r.editor.overheadMs.p90, 1)})  (${r.editor.target}: ${mark(r.editor.met)})`,
        ]
      : []),
  ].join('\n');
}

function comparisonTable(rows: Comparison[], label: string): string {
  const width = Math.max(...rows.map((r) => r.name.length));
  return [
    `compared with ${label}`,
    ...rows.map((r) => `  ${r.name.padEnd(width)}  ${f(r.before, 3).padStart(9)} → ${f(r.now, 3).padStart(9)}  (${f(r.change, 2)}×)${r.regression ? '  WORSE' : ''}`),
  ].join('\n');
}

export function benchCommand(program: Command): void {
  program
    .command('bench')
    .description('measure the data plane: hand-off from 1 to 256 MiB, tiny-frame round trip, 4-stage chain throughput, cold start, backpressure of a stream into a slow consumer')
    .option('--json', 'print the report as JSON on stdout')
    .option('--nodes <n>', 'only this: in a Slurm job of n hosts, frames from the first host to each other one, and from the second to the third (agent to agent), against raw TCP between the same hosts')
    .option('--quick', 'small frames and one trial (a smoke test, not a measurement)')
    .option('--docker', 'also measure the docker runtime: cold start of 8 containers, warm re-run, container hand-off')
    .option('--singularity', 'also measure the singularity runtime (Apptainer): cold start of 8 operators, warm re-run, hand-off (builds SIFs first)')
    .option('--editor', "also measure the web editor's re-tune latency in Chromium (a repository checkout with chromium installed)")
    .option('--history <file>', 'with --json: the history file a line (machine, commit, figures) is appended to', 'bench-history.jsonl')
    .option('--compare <file>', 'set the figures beside an earlier run: a history file (its last line) or a saved --json report')
    .action(async (options: { json?: boolean; quick?: boolean; docker?: boolean; singularity?: boolean; editor?: boolean; history: string; compare?: string; nodes?: string }) => {
      const say = (step: string) => process.stderr.write(`bench: ${step}…\n`);
      if (options.nodes !== undefined) {
        const count = Number(options.nodes);
        if (!Number.isInteger(count) || count < 2) throw new UsageError(`--nodes expects a number of hosts, 2 or more, got "${options.nodes}"`);
        const { nodesBench, nodesTable } = await import('../../bench/nodes.js');
        const bench = await nodesBench(count, options.quick === true, say);
        process.stdout.write((options.json ? JSON.stringify({ nodes: bench }, null, 2) : nodesTable(bench)) + '\n');
        return;
      }
      // read first: a bad file is said before minutes of measuring
      const earlier = options.compare === undefined ? undefined : readEarlier(options.compare);
      const bench = await runBench(options.quick ? QUICK : FULL, say, options.docker, options.singularity);
      const report = options.editor ? { ...bench, editor: await (await import('../../bench/editor.js')).editorBench(options.quick === true, say) } : bench;
      const comparison = earlier && compareFigures(figuresOf(bench), earlier.figures);
      if (options.json) {
        appendHistory(options.history, historyEntry(bench, currentCommit(REPO_ROOT)));
        process.stdout.write(JSON.stringify(comparison ? { ...report, comparison } : report, null, 2) + '\n');
        return;
      }
      process.stdout.write(table(report) + '\n');
      if (comparison && earlier) process.stdout.write('\n' + comparisonTable(comparison, earlier.label) + '\n');
    });
}
