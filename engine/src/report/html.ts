// The report as one self-contained HTML page: uPlot's code and style, the data and the page's own script are all
// inline, so the file opens from disk or any static web server and never makes a request. Pure.
import type { HashedFile, RunRecord } from '../provenance/record.js';
import type { ReportModel } from './model.js';

export interface ReportAssets {
  /** uPlot's IIFE build (defines the global `uPlot`) */
  uplotJs: string;
  uplotCss: string;
}

/** Seconds between reloads of a report whose run is still going (a page served while the run writes it). */
export const LIVE_REFRESH_S = 5;

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Code that may sit inside a <script> element: no "</script" (nor "<!--") can end it early. */
const scriptSafe = (code: string): string => code.replace(/<(?=\/script|!--)/gi, '\\x3C');
/** Style text that may sit inside a <style> element. */
const styleSafe = (css: string): string => css.replace(/<(?=\/style)/gi, '\\3C ');

function bytes(n: number | undefined): string {
  if (n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

const ms = (n: number | undefined) => (n === undefined ? '' : `${n.toFixed(1)} ms`);
const cell = (text: string | number | undefined, attrs = '') => `<td${attrs}>${escapeHtml(text === undefined ? '' : String(text))}</td>`;
const hash = (file: HashedFile) => (file.sha256 ? `<td class="hash" title="${escapeHtml(file.sha256)}">${escapeHtml(file.sha256.replace(/^sha256:/, '').slice(0, 16))}…</td>` : cell(file.error ? `(${file.error})` : ''));

function table(headers: string[], rows: string[], id: string): string {
  if (!rows.length) return `<p class="empty" id="${id}">none</p>`;
  return `<table id="${id}"><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

function summary(record: RunRecord): string {
  const rows: [string, string | undefined][] = [
    ['status', record.status + (record.failure ? `: ${record.failure.message}` : '')],
    ['pipeline', record.pipeline.file ? `${record.pipeline.file}${record.pipeline.sha256 ? ` (${record.pipeline.sha256})` : ''}` : record.pipeline.name],
    ['settings', record.pipeline.settings.join(' ') || undefined],
    ['runtime', record.runtime],
    ['engine', `emflow ${record.engine.version} on Node ${record.engine.node}`],
    ['host', `${record.host.name} (${record.host.platform} ${record.host.arch})`],
    ['user', record.host.user],
    ['started', record.startTime],
    ['ended', record.endTime],
    ['run time', record.wallMs !== undefined ? `${(record.wallMs / 1000).toFixed(2)} s` : undefined],
    ['command', record.command.line],
    ['working directory', record.command.cwd],
    ['output folder', record.outDir],
  ];
  return `<dl id="summary">${rows
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v!)}</dd>`)
    .join('')}</dl>`;
}

function recordSections(record: RunRecord): string {
  const nodes = record.nodes.map(
    (n) => `<tr>${cell(n.id)}${cell(n.operator)}${cell(n.version)}<td class="hash" title="${escapeHtml(n.identity)}">${escapeHtml(n.identity.length > 24 ? `${n.identity.slice(0, 23)}…` : n.identity)}</td>${cell(n.state)}${cell(n.frames, ' class="num"')}${cell(n.cached ? 'cached' : ms(n.ms), ' class="num"')}${cell(ms(n.medianMs), ' class="num"')}</tr>`,
  );
  const inputs = record.inputs.map((f) => `<tr>${cell(`${f.node}.${f.param}`)}${cell(f.path)}${cell(bytes(f.size), ' class="num"')}${hash(f)}</tr>`);
  const outputs = record.outputs.map((f) => `<tr>${cell(f.by === 'out' ? `${f.node}.${f.port} #${f.frame}` : `${f.node}.${f.param}`)}${cell(f.path)}${cell(bytes(f.size), ' class="num"')}${hash(f)}</tr>`);
  return [
    `<section><h2>Run</h2>${summary(record)}</section>`,
    `<section><h2>Nodes</h2>${table(['node', 'operator', 'version', 'identity', 'state', 'frames', 'time', 'median'], nodes, 'nodes')}</section>`,
    `<section><h2>Inputs</h2>${table(['read by', 'file', 'size', 'sha256'], inputs, 'inputs')}</section>`,
    `<section><h2>Outputs</h2>${table(['written by', 'file', 'size', 'sha256'], outputs, 'outputs')}</section>`,
  ].join('\n');
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#1b1f24}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .4em;border-bottom:1px solid #d0d7de}
.status{display:inline-block;padding:.1em .6em;border-radius:1em;font-size:.8em;vertical-align:middle;color:#fff;background:#57606a}
.status.ok{background:#1a7f37}.status.failed{background:#cf222e}.status.running{background:#0969da}.status.interrupted{background:#9a6700}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:0}dt{color:#57606a}dd{margin:0;word-break:break-all}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{text-align:left;padding:.2em .5em;border-bottom:1px solid #eaeef2}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.hash{font-family:ui-monospace,monospace}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:1em}.plot{min-width:0}
pre{background:#f6f8fa;padding:.8em;overflow:auto;font-size:.85em}.meta,.empty{color:#57606a}`;

// runs in the browser: draws every plot with uPlot and publishes what it drew (window.emflowReport) for tests
const CLIENT = `(function () {
  var model = JSON.parse(document.getElementById('emflow-report-data').textContent);
  // a span of at least a millionth of the values' size: uPlot never returns from its tick loop on a range of
  // 1 ± 1e-10 (a z-scored image's std), and a single point or a constant series gets a range as well
  function range(u, min, max) {
    if (min == null || max == null) return [0, 1];
    var mid = (min + max) / 2, least = Math.max(Math.abs(mid) * 1e-6, 1e-12);
    if (max - min < least) { min = mid - least; max = mid + least; }
    return uPlot.rangeNum(min, max, 0.05, true);
  }
  // tick labels with as many digits as the tick step needs (uPlot's default shows -1e-10 as "-0")
  function decimals(step) {
    for (var d = 0; d < 12; d++) { var s = step * Math.pow(10, d); if (Math.abs(s - Math.round(s)) < 1e-6 * s) return d; }
    return 12;
  }
  function ticks(u, splits, axis, space, step) {
    var big = 0;
    splits.forEach(function (v) { if (v != null) big = Math.max(big, Math.abs(v)); });
    var scientific = big >= 1e6 || step < 1e-4;
    var digits = scientific ? Math.max(1, decimals(step / Math.pow(10, Math.floor(Math.log10(big || 1))))) : decimals(step);
    return splits.map(function (v) { return v == null ? '' : scientific ? (v === 0 ? '0' : v.toExponential(digits)) : v.toFixed(digits); });
  }
  function size(u, values) {
    var n = 0;
    (values || []).forEach(function (v) { n = Math.max(n, String(v).length); });
    return Math.max(40, n * 7 + 24);
  }
  var drawn = [];
  model.plots.forEach(function (plot) {
    var box = document.getElementById('plot-' + plot.id);
    var width = Math.max(300, Math.floor(box.getBoundingClientRect().width) || 360);
    var chart = new uPlot({
      title: plot.title, width: width, height: 220,
      scales: { x: { time: false, range: range }, y: { range: range } },
      axes: [{ label: plot.xLabel, values: ticks }, { label: plot.yLabel, values: ticks, size: size }],
      series: [{ label: plot.xLabel }, { label: plot.yLabel, stroke: '#0969da', width: 1.5, spanGaps: false, points: { show: true, size: 5, fill: '#0969da' } }]
    }, [plot.x, plot.y], box);
    drawn.push({ id: plot.id, source: plot.source, title: plot.title, points: chart.data[0].length });
  });
  window.emflowReport = { plots: drawn };
})();`;

export function renderReport(model: ReportModel, assets: ReportAssets): string {
  const record = model.record;
  const status = record?.status;
  const data = JSON.stringify({ plots: model.plots }).replace(/</g, '\\u003c');
  const plots = model.plots.length
    ? `<div class="plots">${model.plots.map((p) => `<div class="plot" id="plot-${p.id}" data-source="${escapeHtml(p.source)}"></div>`).join('\n')}</div>`
    : '<p class="empty">no per-frame numbers found (JSON outputs with numbers, tables with numeric columns)</p>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${status === 'running' ? `<meta http-equiv="refresh" content="${LIVE_REFRESH_S}">\n` : ''}<title>${escapeHtml(model.title)}</title>
<style>${styleSafe(assets.uplotCss)}</style>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(model.title)}${status ? ` <span class="status ${status}">${escapeHtml(status)}</span>` : ''}</h1>
<p class="meta">report made ${escapeHtml(model.generated)}${status === 'running' ? `; the run is going, this page reloads every ${LIVE_REFRESH_S} s` : ''}</p></header>
${model.notes.map((n) => `<p class="meta note">${escapeHtml(n)}</p>`).join('\n')}
${record ? recordSections(record) : '<p class="empty">no run record (emflow-run.json) found</p>'}
<section><h2>Per-frame values</h2>
${plots}</section>
${record ? `<section><h2>Pipeline</h2><details><summary>the document as run (defaults filled in, paths absolute)</summary><pre>${escapeHtml(JSON.stringify(record.pipeline.document, null, 2))}</pre></details></section>` : ''}
<script type="application/json" id="emflow-report-data">${data}</script>
<script>${scriptSafe(assets.uplotJs)}</script>
<script>${CLIENT}</script>
</body>
</html>
`;
}
