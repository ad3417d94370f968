// Injection keys of services components use without the whole editor (so that they mount alone in tests).
import type { FilesResponse } from '@emflow/engine/protocol';
import type { InjectionKey, Ref } from 'vue';

export const LIST_FILES: InjectionKey<(path?: string) => Promise<FilesResponse>> = Symbol('list files');
/** the served folder: relative file params resolve against it */
export const BASE_FOLDER: InjectionKey<Ref<string | undefined>> = Symbol('base folder');

/** drag-and-drop type of a palette item: the operator's name */
export const OPERATOR_MIME = 'application/x-emflow-operator';
