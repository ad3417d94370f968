// The monitors, one module: `node host/main.js dist/index.js --operator frame-monitor | count-monitor`.
export { FrameMonitor, StreamMonitor, COLUMNS, type Column, type Row, type FrameMonitorParams } from './frame-monitor.js';
export { CountMonitor, COUNT_COLUMNS, type CountColumn, type CountRow, type CountMonitorParams } from './count-monitor.js';
