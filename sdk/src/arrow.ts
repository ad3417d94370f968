// apache-arrow, loaded the first time a frame needs it (a table frame, or an array or JSON frame in a layout the
// SDK's own reader leaves to it). Loading it takes ~160 ms of CPU, most of an operator's start-up, and most
// operators never need it: their frames are arrays and JSON values, which arrow-messages.ts reads and writes.
//
// Loaded synchronously (encoding and decoding are synchronous) by requiring its ES module file (Node ≥ 20.19
// requires ES modules), so an operator's own `import 'apache-arrow'` gets the same module instance and its
// tables are instances of the same classes.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

type ApacheArrow = typeof import('apache-arrow');

let loaded: ApacheArrow | undefined;

/** Whether apache-arrow has been loaded in this process (it is only when a frame needed it). */
export function arrowLoaded(): boolean {
  return loaded !== undefined;
}

/** The file of apache-arrow's ES module for Node, as its package's exports map names it. */
function moduleFile(require: NodeRequire): string {
  const folder = dirname(require.resolve('apache-arrow'));
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { exports: { '.': { node: { import: { default: string } } } } };
  return join(folder, manifest.exports['.'].node.import.default);
}

let failed: Error | undefined;

export function arrow(): ApacheArrow {
  if (failed) throw failed;
  if (!loaded) {
    try {
      const require = createRequire(import.meta.url);
      loaded = require(moduleFile(require)) as ApacheArrow;
    } catch (error) {
      failed = new Error(`apache-arrow could not be loaded (it is needed for table frames; loading it needs Node ≥ 20.19, this is ${process.version}): ${(error as Error).message}`);
      throw failed;
    }
  }
  return loaded;
}
