import { frameMismatch, operator, table, type NDArray, type TableFrame } from '@emflow/sdk';
import { given, plotTable, seriesFromSpectrum, seriesFromTable } from './plot.js';

export interface PlotViewParams {
  x?: string;
  y?: string;
  xOffset: number;
  xScale: number;
  xLabel?: string;
  title?: string;
  logY: boolean;
}

@operator({
  name: 'plot-view',
  version: '1.0.0',
  description:
    'Shows 1-D data (spectra, profiles, histograms) in the web editor: the editor draws every frame as a line plot of ' +
    'the series against x in a display pane; `emflow run --out` writes the plotted columns as an .arrow file.',
  inputs: {
    table: { type: 'table', required: false, description: 'a table whose numeric columns are plotted (connect this or spectrum)' },
    spectrum: { type: 'spectrum', required: false, description: 'a 1-D array plotted against its element index (connect this or table)' },
  },
  outputs: {
    plot: {
      type: 'table',
      description:
        'first column x (from a table: the x column, its name kept; from a spectrum: xOffset + index·xScale, named xLabel or "x"), ' +
        'then one float64 column per series (from a spectrum: "value"); nulls become NaN. Metadata: title, xLabel, logY',
    },
  },
  params: {
    x: { type: 'string', optional: true, description: 'table input: name of the x column (default: the first column)' },
    y: { type: 'string', optional: true, description: 'table input: comma-separated names of the columns to plot (default: every numeric column but x)' },
    xOffset: { type: 'number', default: 0, description: 'spectrum input: x of element 0, in x-axis units (e.g. eV, Å⁻¹, px)' },
    xScale: { type: 'number', default: 1, description: 'spectrum input: x step per element, in x-axis units per element' },
    xLabel: { type: 'string', optional: true, description: 'x-axis label, with its units, e.g. "energy loss (eV)" (default: the x column name); names the x column of a spectrum' },
    title: { type: 'string', optional: true, description: 'plot title' },
    logY: { type: 'boolean', default: false, description: 'draw the y axis on a logarithmic scale' },
  },
  display: { category: 'display', view: 'plot' },
})
export class PlotView {
  process({ table: input, spectrum }: { table?: TableFrame; spectrum?: NDArray }, params: PlotViewParams) {
    if (input && spectrum) throw new Error('plot-view: both inputs, table and spectrum, have a frame; connect exactly one of them');
    if (!input && !spectrum) throw new Error('plot-view: neither input, table nor spectrum, has a frame; connect exactly one of them');
    let series;
    if (spectrum) {
      const mismatch = frameMismatch(spectrum, 'spectrum');
      if (mismatch) throw new TypeError(`plot-view: input "spectrum": ${mismatch}`);
      series = seriesFromSpectrum(spectrum.values(), params);
    } else {
      series = seriesFromTable(input!.table, params);
    }
    const title = given(params.title);
    return {
      plot: table(plotTable(series), {
        ...(title !== undefined && { title }),
        xLabel: given(params.xLabel) ?? series.names[0],
        logY: params.logY,
      }),
    };
  }
}
