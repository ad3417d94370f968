import { createApp } from 'vue';
import '@vue-flow/core/dist/style.css';
import '@vue-flow/core/dist/theme-default.css';
import '@vue-flow/controls/dist/style.css';
import '@vue-flow/minimap/dist/style.css';
import './style.css';
import type { PipelineDocument } from '@emflow/engine/protocol';
import App from './App.vue';
import { BASE_FOLDER } from './components/keys';
import { EDITOR, createEditor } from './state/editor';

declare global {
  interface Window {
    /** for browser tests and users' scripts */
    __emflow: { document(): PipelineDocument; lastDisplayAt: Record<string, number> };
  }
}

const editor = createEditor();
window.__emflow = {
  // a copy: scripts must not change the editor's document behind its back
  document: () => JSON.parse(JSON.stringify(editor.docs.doc.value)) as PipelineDocument,
  lastDisplayAt: editor.displays.lastDisplayAt,
};

createApp(App).provide(EDITOR, editor).provide(BASE_FOLDER, editor.folder).mount('#app');
void editor.start();
