// The operators the server offers (GET /api/operators): specs by name, and the engine's connection rule.
import type { OperatorSpec, OperatorsResponse } from '@emflow/engine/protocol';
import { computed, ref, shallowRef } from 'vue';
import type { Rest } from '../api/rest';

export function createCatalog(rest: Rest) {
  const response = shallowRef<OperatorsResponse>();
  const error = ref<string>();
  const specs = computed(() => new Map<string, OperatorSpec>((response.value?.operators ?? []).map((s) => [s.name, s])));
  const accepts = computed(() => response.value?.accepts ?? ({} as OperatorsResponse['accepts']));

  async function load() {
    try {
      response.value = await rest.operators();
      error.value = undefined;
    } catch (e) {
      error.value = `operators could not be loaded: ${(e as Error).message}`;
    }
  }

  return { response, error, specs, accepts, load };
}

export type Catalog = ReturnType<typeof createCatalog>;
