"""py-histogram-total: reads the table of the TypeScript histogram operator (bin_start, bin_end, count)."""
import numpy as np

from emflow_sdk import operator


@operator(
    name="py-histogram-total",
    version="1.0.0",
    description="the total count, number of bins, outer edges and fullest bin of a histogram table",
    inputs={"histogram": {"type": "table"}},
    outputs={"total": {"type": "json"}},
)
def total(inputs, params, ctx):
    table = inputs["histogram"]
    counts = np.asarray(table["count"])
    fullest = int(np.argmax(counts))
    return {"total": {
        "total": float(counts.sum()),
        "bins": table.num_rows,
        "columns": list(table.columns),
        "first": float(table["bin_start"][0]),
        "last": float(table["bin_end"][-1]),
        "fullest": [float(table["bin_start"][fullest]), float(table["bin_end"][fullest]), float(counts[fullest])],
    }}
