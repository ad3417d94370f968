// Node ids must match the pipeline schema's id pattern (^[A-Za-z_][A-Za-z0-9_-]{0,63}$); new nodes take their
// operator's name, made unique.
const MAX_ID = 64;

/** `base` turned into a valid id, then made unique among `taken` with -2, -3 … */
export function uniqueId(base: string, taken: ReadonlySet<string>): string {
  let stem = base.replace(/[^A-Za-z0-9_-]/g, '-');
  if (!/^[A-Za-z_]/.test(stem)) stem = `n${stem}`;
  stem = stem.slice(0, MAX_ID);
  if (!taken.has(stem)) return stem;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const id = `${stem.slice(0, MAX_ID - suffix.length)}${suffix}`;
    if (!taken.has(id)) return id;
  }
}
