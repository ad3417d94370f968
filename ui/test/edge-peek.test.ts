// Edge taps: what edge.peek answers, drawn; and what is said when there is no frame yet.
import type { EdgePeek as Peek } from '@emflow/engine/protocol';
import { flushPromises, mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import { RPC_ERRORS, RpcError } from '../src/api/rpc';
import EdgePeek from '../src/components/EdgePeek.vue';

const peekWith = (answer: () => Promise<Peek>) => mount(EdgePeek, { props: { node: 'blur', port: 'image', peek: answer } });

describe('EdgePeek', () => {
  it('asks edge.peek for the source port, and shows an array summary', async () => {
    const asked: string[] = [];
    const w = mount(EdgePeek, {
      props: {
        node: 'blur',
        port: 'image',
        peek: async (node: string, port: string) => {
          asked.push(`${node}.${port}`);
          return { kind: 'ndarray', dtype: 'float32', shape: [256, 192], stats: { min: 0, max: 1.5, mean: 0.25, std: 0.125 } } as Peek;
        },
      },
    });
    await flushPromises();
    expect(asked).toEqual(['blur.image']);
    expect(w.findAll('dd').map((d) => d.text())).toEqual(['float32', '256 × 192', '0 / 1.500', '0.2500 ± 0.1250']);
  });

  it('shows a table by its columns and first rows, and JSON as text', async () => {
    const table = peekWith(async () => ({ kind: 'table', columns: ['x', 'y'], numRows: 3000, rows: [[1.5, 'a'], [2, null]] }));
    await flushPromises();
    expect(table.findAll('th').map((t) => t.text())).toEqual(['x', 'y']);
    expect(table.findAll('tbody tr').map((r) => r.findAll('td').map((d) => d.text()))).toEqual([
      ['1.500', 'a'],
      ['2', ''],
    ]);
    expect(table.text()).toContain('3000 rows');
    const json = peekWith(async () => ({ kind: 'json', text: '{\n  "mean": 2\n}' }));
    await flushPromises();
    expect(json.find('pre').text()).toBe('{\n  "mean": 2\n}');
  });

  it('says "no frame yet (run the pipeline)" without a frame or a session, and the server message otherwise', async () => {
    for (const code of [RPC_ERRORS.noFrame, RPC_ERRORS.noSession]) {
      const w = peekWith(() => Promise.reject(new RpcError(code, 'nothing there')));
      await flushPromises();
      expect(w.text()).toContain('no frame yet (run the pipeline)');
    }
    const w = peekWith(() => Promise.reject(new RpcError(RPC_ERRORS.invalid, 'node "x" has no output "y"')));
    await flushPromises();
    expect(w.text()).toContain('node "x" has no output "y"');
  });
});
