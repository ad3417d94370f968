import { describe, expect, it } from 'vitest';
import { formatName, sourceName } from '../src/name-pattern.js';

describe('formatName', () => {
  it('fills {frame} as Python str.format does', () => {
    expect(formatName('out/frame-{frame}.mrc', { frame: 7 })).toBe('out/frame-7.mrc');
    expect(formatName('f{frame:d}', { frame: 12 })).toBe('f12');
    expect(formatName('f{frame:04d}', { frame: 7 })).toBe('f0007');
    expect(formatName('f{frame:04}', { frame: 7 })).toBe('f0007');
    expect(formatName('f{frame:03d}', { frame: 12345 })).toBe('f12345');
    expect(formatName('{frame:02d}-{frame}', { frame: 0 })).toBe('00-0');
  });

  it('fills {name} and {node}, and keeps doubled braces as literal ones', () => {
    expect(formatName('{node}/{name}_{frame:03d}.mrc', { frame: 4, name: 'mic-000', node: 'writer' })).toBe('writer/mic-000_004.mrc');
    expect(formatName('{{x}}{name}{{', { frame: 0, name: 'a' })).toBe('{x}a{');
    expect(formatName('plain.mrc', { frame: 3 })).toBe('plain.mrc');
  });

  it('rejects unknown fields, naming the pattern and the field', () => {
    expect(() => formatName('out/{index}.mrc', { frame: 1 })).toThrow('name pattern "out/{index}.mrc": unknown field {index} (known: {frame}, {frame:04d} (zero-padded to 4 digits), {name}, {node})');
    expect(() => formatName('{}', { frame: 1 })).toThrow(/unknown field \{\}/);
  });

  it('rejects format specs it does not support', () => {
    expect(() => formatName('{frame:4d}', { frame: 1 })).toThrow('name pattern "{frame:4d}": {frame:4d}: unsupported format spec "4d" (use {frame}, {frame:d} or {frame:0Nd}, e.g. {frame:04d})');
    expect(() => formatName('{frame:.2f}', { frame: 1 })).toThrow(/unsupported format spec "\.2f"/);
    expect(() => formatName('{name:>8}', { frame: 1, name: 'a' })).toThrow('name pattern "{name:>8}": {name:>8}: the name field takes no format spec');
  });

  it('rejects stray braces', () => {
    expect(() => formatName('out/{frame.mrc', { frame: 1 })).toThrow('name pattern "out/{frame.mrc": unmatched "{" (write "{{" for a literal brace)');
    expect(() => formatName('out/frame}.mrc', { frame: 1 })).toThrow(/unmatched "\}"/);
  });

  it('rejects a missing {name} or {node} and a bad frame number', () => {
    expect(() => formatName('{name}.mrc', { frame: 1 })).toThrow('name pattern "{name}.mrc": {name} has no value here (the frame has no source file)');
    expect(() => formatName('{node}.mrc', { frame: 1 })).toThrow(/\{node\} has no value here \(no node name\)/);
    expect(() => formatName('{frame}', { frame: -1 })).toThrow('name pattern "{frame}": frame must be a non-negative integer, got -1');
    expect(() => formatName('{frame}', { frame: 1.5 })).toThrow(/got 1\.5/);
  });
});

describe('sourceName', () => {
  it('is the base name without the last extension', () => {
    expect(sourceName('/data/EMD-3001.map')).toBe('EMD-3001');
    expect(sourceName('relative/mic.0001.mrc')).toBe('mic.0001');
    expect(sourceName('noext')).toBe('noext');
    expect(sourceName(undefined)).toBeUndefined();
    expect(sourceName('')).toBeUndefined();
  });
});

describe('field values cannot leave the folder a pattern names', () => {
  it('refuses a {name} or {node} that is "." or "..", holds a separator or a NUL (a source file named "...mrc" has the name "..")', () => {
    expect(sourceName('/data/...mrc')).toBe('..');
    for (const name of ['..', '.', 'a/b', 'a\\0b'.replace('\\0', '\0')]) {
      expect(() => formatName('/out/{name}/f-{frame}.png', { frame: 0, name }), name).toThrow(/cannot be used in a file name/);
    }
    expect(() => formatName('/out/{node}.png', { frame: 0, node: '..' })).toThrow(/cannot be used in a file name/);
    // dots inside a name are fine
    expect(formatName('/out/{name}.png', { frame: 0, name: 'mic..000' })).toBe('/out/mic..000.png');
  });
});
