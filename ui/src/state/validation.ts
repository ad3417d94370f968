// Validation as you edit: POST /api/validate 250 ms after the last change that matters to the engine
// (moving nodes does not), newest answer wins.
import type { PipelineDocument, ValidateResponse } from '@emflow/engine/protocol';
import { ref, shallowRef, watch } from 'vue';
import type { DocumentStore } from '../model/document-store';
import { locateProblems, type LocatedProblem } from '../model/problems';

const VALIDATE_DELAY_MS = 250;

const withoutPositions = (doc: PipelineDocument) => JSON.stringify({ ...doc, nodes: doc.nodes.map(({ position: _, ...n }) => n) });

export function createValidation(docs: DocumentStore, validate: (doc: PipelineDocument, signal: AbortSignal) => Promise<ValidateResponse>) {
  const problems = shallowRef<LocatedProblem[]>([]);
  const pending = ref(false);
  const error = ref<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | undefined;

  async function run() {
    inFlight?.abort();
    const controller = new AbortController();
    inFlight = controller;
    const doc = docs.doc.value;
    try {
      const { problems: found } = await validate(doc, controller.signal);
      if (controller.signal.aborted) return;
      problems.value = locateProblems(found, doc);
      error.value = undefined;
    } catch (e) {
      if (controller.signal.aborted) return;
      error.value = `validation failed: ${(e as Error).message}`;
    } finally {
      if (inFlight === controller) pending.value = false;
    }
  }

  function schedule() {
    pending.value = true;
    clearTimeout(timer);
    timer = setTimeout(run, VALIDATE_DELAY_MS);
  }

  watch(() => withoutPositions(docs.doc.value), schedule);

  return { problems, pending, error, now: run, schedule };
}
