// Reading a job's log: what `emflow run --json --progress plain` printed into it (stdout and stderr together).
// The run's report is the last JSON line; the node → operator names come from the progress lines.

/** The parts of `emflow run --json`'s object that a summary needs. */
export interface LoggedReport {
  ok: boolean;
  pipeline?: string;
  runtime?: string;
  run?: number;
  wallMs?: number;
  nodes?: Record<string, { frames: number; ms: number; medianMs?: number; cached?: boolean }>;
  notes?: string[];
  outputs?: string[];
  error?: { message: string; node?: string; operator?: string; frame?: number; detail?: string };
}

/** The last line of the log that is emflow run's JSON report, and its index among the lines. */
export function lastReport(log: string): { report: LoggedReport; line: number } | undefined {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const text = lines[i].trim();
    if (!text.startsWith('{') || !text.endsWith('}')) continue;
    try {
      const value = JSON.parse(text) as unknown;
      if (value && typeof value === 'object' && typeof (value as { ok?: unknown }).ok === 'boolean') return { report: value as LoggedReport, line: i };
    } catch {
      // a line that only looks like JSON: an operator's own output
    }
  }
  return undefined;
}

const PROGRESS = /^emflow: node ([A-Za-z_][A-Za-z0-9_-]*) \(([^()\s]+)\) (waiting|running|done|cached|failed|cancelled)\b/;

/** node id → operator name, from `--progress plain` lines. */
export function operatorsFromLog(log: string): Map<string, string> {
  const operators = new Map<string, string>();
  for (const line of log.split('\n')) {
    const match = PROGRESS.exec(line);
    if (match) operators.set(match[1], match[2]);
  }
  return operators;
}

/** The last state each node reached, from the progress lines (for a run that never printed its report). */
export function nodeStatesFromLog(log: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of log.split('\n')) {
    const match = PROGRESS.exec(line);
    if (match) states.set(match[1], match[3]);
  }
  return states;
}

/** The log without the report line (printed as a table instead). */
export function withoutReport(log: string): string {
  const found = lastReport(log);
  if (!found) return log;
  const lines = log.split('\n');
  lines.splice(found.line, 1);
  return lines.join('\n');
}

/** The report as `emflow run` prints its summary: node, operator, frames, time; then the run's line. */
export function reportTable(report: LoggedReport, operators: ReadonlyMap<string, string>): string {
  if (!report.ok || !report.nodes) {
    const e = report.error;
    return `run failed: ${e?.message ?? 'no message'}${e?.node && !e.message?.includes(e.node) ? ` (node ${e.node})` : ''}`;
  }
  const rows = Object.entries(report.nodes).map(([id, n]) => [id, operators.get(id) ?? '?', String(n.frames), n.cached ? 'cached' : `${n.ms.toFixed(1)} ms`]);
  const head = ['node', 'operator', 'frames', 'time'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const written = report.outputs?.length ?? 0;
  return [line(head), ...rows.map(line), `run ${report.run ?? 1} finished in ${(report.wallMs ?? 0).toFixed(0)} ms${written ? `, ${written} output files written` : ''}`, ...(report.notes ?? []).map((n) => `note: ${n}`)].join('\n');
}
