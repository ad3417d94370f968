// The open document with undo/redo. Documents are immutable (see document.ts): history keeps old ones as they are.
import type { PipelineDocument } from '@emflow/engine/protocol';
import { computed, ref, shallowRef } from 'vue';
import { emptyDocument } from './document';
import { History } from './history';

export class DocumentStore {
  readonly doc = shallowRef<PipelineDocument>(emptyDocument());
  /** the name it is saved under (GET/PUT /api/pipelines/:name); undefined for a new document */
  readonly fileName = ref<string>();
  readonly canUndo = ref(false);
  readonly canRedo = ref(false);
  /** counts documents loaded (opened, uploaded, new): the view fits itself to each */
  readonly generation = ref(0);
  private readonly saved = shallowRef<PipelineDocument>(this.doc.value);
  /** changed since it was opened, uploaded, created or saved (undoing back to that point is clean again) */
  readonly dirty = computed(() => this.doc.value !== this.saved.value);
  private readonly history = new History<PipelineDocument>();

  /**
   * Apply a change as one undo step; changes with the same `mergeKey` in a row (a slider drag, a node drag)
   * share one step until `seal()`.
   */
  edit(change: (doc: PipelineDocument) => PipelineDocument, mergeKey?: string): void {
    const before = this.doc.value;
    const next = change(before);
    if (next === before) return;
    this.history.record(before, mergeKey);
    this.doc.value = next;
    this.sync();
  }

  seal(): void {
    this.history.seal();
  }

  undo(): void {
    const previous = this.history.undo(this.doc.value);
    if (previous) this.doc.value = previous;
    this.sync();
  }

  redo(): void {
    const next = this.history.redo(this.doc.value);
    if (next) this.doc.value = next;
    this.sync();
  }

  load(doc: PipelineDocument, fileName?: string): void {
    this.history.clear();
    this.doc.value = doc;
    this.saved.value = doc;
    this.fileName.value = fileName;
    this.generation.value++;
    this.sync();
  }

  /** `doc` (default: the current one) was saved as `fileName`; edits made since it was sent stay unsaved. */
  markSaved(fileName: string, doc: PipelineDocument = this.doc.value): void {
    this.fileName.value = fileName;
    this.saved.value = doc;
  }

  private sync() {
    this.canUndo.value = this.history.canUndo;
    this.canRedo.value = this.history.canRedo;
  }
}
