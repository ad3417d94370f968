// The palette: operators grouped by category (spec.display.category, "other" without one), filtered by a search.
import type { OperatorSpec } from '@emflow/engine/protocol';

// the order a pipeline reads in; categories not listed follow alphabetically
const ORDER = ['source', 'filter', 'intensity', 'geometry', 'fourier', 'volume', 'arithmetic', 'segmentation', 'measure', 'display', 'sink'];

export const categoryOf = (spec: OperatorSpec): string => {
  const category = spec.display?.category;
  return typeof category === 'string' && category !== '' ? category : 'other';
};

function matches(spec: OperatorSpec, words: string[]): boolean {
  const ports = [...Object.entries(spec.inputs ?? {}), ...Object.entries(spec.outputs)].flatMap(([name, p]) => [name, p.type]);
  const text = [spec.name, spec.description, categoryOf(spec), ...ports, ...Object.keys(spec.params ?? {})].join(' ').toLowerCase();
  return words.every((w) => text.includes(w));
}

export function paletteGroups(specs: readonly OperatorSpec[], search: string): { category: string; operators: OperatorSpec[] }[] {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  const groups = new Map<string, OperatorSpec[]>();
  for (const spec of specs) {
    if (!matches(spec, words)) continue;
    const category = categoryOf(spec);
    if (!groups.has(category)) groups.set(category, []);
    groups.get(category)!.push(spec);
  }
  const rank = (c: string) => (ORDER.includes(c) ? ORDER.indexOf(c) : c === 'other' ? Infinity : ORDER.length);
  return [...groups]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([category, operators]) => ({ category, operators: operators.sort((a, b) => a.name.localeCompare(b.name)) }));
}
