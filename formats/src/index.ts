// @emflow/formats: the file formats emflow's reader and writer operators share.
export * from './mrc.js';
export * from './tiff.js';
export * from './png.js';
export * from './name-pattern.js';
export * from './files.js';
export * from './read-frames.js';
