// Table panes sort by a click on a column; the logs panel filters by node and clears; the problems panel lists
// every problem with its hook.
import type { DisplayHeader } from '@emflow/engine/protocol';
import { mount } from '@vue/test-utils';
import { describe, expect, it, vi } from 'vitest';
import LogsPanel from '../src/components/LogsPanel.vue';
import ProblemsPanel from '../src/components/ProblemsPanel.vue';
import TablePane from '../src/components/TablePane.vue';
import type { LogEntry } from '../src/state/session';

describe('TablePane', () => {
  const header: DisplayHeader = { kind: 'table', node: 't', run: 1, index: 0, params: {}, columns: ['name', 'height'], numRows: 5000, rows: [['b', 2], ['a', null], ['c', 10], ['d', 1]] };
  const column = (w: ReturnType<typeof mount>, i: number) => w.findAll('tbody tr').map((r) => r.findAll('td')[i].text());

  it('shows the first rows and the row count, sorts by a clicked column, and reverses on a second click (empty cells last)', async () => {
    const w = mount(TablePane, { props: { frame: { header } } });
    expect(column(w, 0)).toEqual(['b', 'a', 'c', 'd']);
    expect(w.find('[data-testid=table-rows]').text()).toBe('4 of 5000 rows');
    await w.findAll('th')[1].trigger('click');
    expect(column(w, 1)).toEqual(['1', '2', '10', '']);
    // only the rows the server sent are sorted: the pane says so
    expect(w.find('[data-testid=table-rows]').text()).toBe('sorted: first 4 of 5000 rows');
    await w.findAll('th')[1].trigger('click');
    expect(column(w, 1)).toEqual(['10', '2', '1', '']);
    expect(w.findAll('th')[1].attributes('aria-sort')).toBe('descending');
    await w.findAll('th')[0].trigger('click');
    expect(column(w, 0)).toEqual(['a', 'b', 'c', 'd']);
    expect(w.emitted('drew')).toBeUndefined();
    await w.setProps({ frame: { header: { ...header, index: 1 } } });
    expect(w.emitted('drew')).toHaveLength(1);
  });

  it('columns with the same name each keep their header and sort on their own', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const twice: DisplayHeader = { ...header, columns: ['x', 'x'], numRows: 3, rows: [[1, 'c'], [2, 'a'], [3, 'b']] };
    const w = mount(TablePane, { props: { frame: { header: twice } } });
    expect(w.findAll('th').map((th) => th.text())).toEqual(['x', 'x']);
    await w.findAll('th')[1].trigger('click');
    expect(column(w, 1)).toEqual(['a', 'b', 'c']);
    expect(w.findAll('th').map((th) => th.attributes('aria-sort'))).toEqual(['none', 'ascending']);
    // every row arrived: nothing to warn about
    expect(w.find('[data-testid=table-rows]').text()).toBe('sorted: 3 of 3 rows');
    await w.setProps({ frame: { header: { ...twice, columns: ['y', 'y', 'y'], rows: [[1, 'c', 0]] } } });
    expect(w.findAll('th')).toHaveLength(3);
    // Vue's own complaint about keys that are not unique
    expect(warn.mock.calls.flat().join('\n')).not.toMatch(/duplicate keys/i);
    warn.mockRestore();
  });
});

describe('LogsPanel', () => {
  const logs: LogEntry[] = [
    { seq: 0, time: 0, node: 'blur', stream: 'stdout', line: 'one' },
    { seq: 1, time: 0, node: 'stats', stream: 'stderr', line: 'two' },
    { seq: 2, time: 0, node: 'blur', stream: 'error', line: 'three' },
  ];

  it('lists every line, filters by node, and asks to be cleared', async () => {
    const w = mount(LogsPanel, { props: { logs, nodes: ['blur', 'stats', 'src'] } });
    expect(w.findAll('[data-testid=log-line] .text').map((l) => l.text())).toEqual(['one', 'two', 'three']);
    expect(w.findAll('[data-testid=logs-filter] option').map((o) => o.text())).toEqual(['all nodes', 'blur', 'stats', 'src']);
    await w.find('[data-testid=logs-filter]').setValue('blur');
    expect(w.findAll('[data-testid=log-line] .text').map((l) => l.text())).toEqual(['one', 'three']);
    expect(w.findAll('[data-testid=log-line]')[1].classes()).toContain('error');
    await w.find('[data-testid=logs-clear]').trigger('click');
    expect(w.emitted('clear')).toHaveLength(1);
  });
});

describe('ProblemsPanel', () => {
  it('lists every problem with its place, and selects its node on a click', async () => {
    const w = mount(ProblemsPanel, {
      props: {
        pending: false,
        problems: [
          { pointer: '/nodes/1/params/sigma', message: 'expected a value >= 0, got -1', node: 'blur', param: 'sigma', where: 'blur › params › sigma' },
          { pointer: '/edges/0', message: 'type mismatch', edge: 'e', where: 'a.image → b.image' },
        ],
      },
    });
    const items = w.findAll('[data-testid=problem]');
    expect(items.map((p) => [p.find('.where').text(), p.find('.message').text()])).toEqual([
      ['blur › params › sigma', 'expected a value >= 0, got -1'],
      ['a.image → b.image', 'type mismatch'],
    ]);
    await items[0].trigger('click');
    await items[1].trigger('click');
    expect(w.emitted('select')).toEqual([['blur']]);
  });
});
