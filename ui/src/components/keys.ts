// Injection keys of services components use without the whole editor (so that they mount alone in tests).
import type { FilesResponse } from '@emflow/engine/protocol';
import type { InjectionKey } from 'vue';

export const LIST_FILES: InjectionKey<(path?: string) => Promise<FilesResponse>> = Symbol('list files');

/** drag-and-drop type of a palette item: the operator's name */
export const OPERATOR_MIME = 'application/x-emflow-operator';
