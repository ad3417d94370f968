export { serveOperator, type HostOptions } from './serve.js';
