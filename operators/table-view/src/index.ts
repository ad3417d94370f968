import { operator, table, type TableFrame } from '@emflow/sdk';
import { MAX_LIMIT, viewRows } from './rows.js';

@operator({
  name: 'table-view',
  version: '1.0.0',
  description:
    'Shows a table in the web editor: the editor lists the rows of every frame in a display pane, sorted by sortBy and ' +
    'limited to the first limit rows; `emflow run --out` writes those rows as an .arrow file.',
  inputs: { table: { type: 'table', description: 'any table' } },
  outputs: {
    table: {
      type: 'table',
      description: 'the same columns (types and metadata kept): the rows sorted by sortBy (stable; null and NaN last), the first limit of them',
    },
  },
  params: {
    sortBy: { type: 'string', optional: true, description: 'name of the column to sort the rows by (default: keep the table order)' },
    descending: { type: 'boolean', default: false, description: 'sort from the largest value to the smallest' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 1000, units: 'rows', description: 'number of rows kept, after sorting' },
  },
  display: { category: 'display', view: 'table' },
})
export class TableView {
  process({ table: input }: { table: TableFrame }, params: { sortBy?: string; descending: boolean; limit: number }) {
    return { table: table(viewRows(input.table, params)) };
  }
}
