// The static HTML report of a run: `emflow report RUN_DIR` and `emflow run --report FILE`.
export { renderReport, LIVE_REFRESH_S, type ReportAssets } from './html.js';
export { FrameValues, numbersIn, reportModel, reportPlots, type FrameValue, type Plot, type ReportModel } from './model.js';
export { numericColumns, readRunFolder, REPORT_FILE, uplotAssets, writeReport } from './files.js';
export { LiveReport } from './live.js';
