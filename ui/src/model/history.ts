// Undo/redo over immutable snapshots: each committed change records the state before it. Changes sharing a
// merge key (one slider drag, one node drag) record only their first state, so they undo as one step.
export class History<T> {
  private past: T[] = [];
  private future: T[] = [];
  private openKey: string | undefined;

  constructor(private readonly limit = 200) {}

  /** Call before a change, with the state it replaces. */
  record(previous: T, mergeKey?: string): void {
    this.future = [];
    if (mergeKey !== undefined && mergeKey === this.openKey) return;
    this.openKey = mergeKey;
    this.past.push(previous);
    if (this.past.length > this.limit) this.past.shift();
  }

  /** Ends the current merge: the next change is a step of its own even with the same key. */
  seal(): void {
    this.openKey = undefined;
  }

  undo(current: T): T | undefined {
    const previous = this.past.pop();
    if (previous === undefined) return undefined;
    this.openKey = undefined;
    this.future.push(current);
    return previous;
  }

  redo(current: T): T | undefined {
    const next = this.future.pop();
    if (next === undefined) return undefined;
    this.openKey = undefined;
    this.past.push(current);
    return next;
  }

  clear(): void {
    this.past = [];
    this.future = [];
    this.openKey = undefined;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }
}
