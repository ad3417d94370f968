"""py-measure: measurements of an array as the scalar, json and table port types carry them, returned the way
numpy gives them (0-D arrays and numpy scalars from reductions, numpy arrays as table columns)."""
import numpy as np

from emflow_sdk import Json, Table, operator


@operator(
    name="py-measure",
    version="1.0.0",
    description="mean (a 0-D array from a reduction), peak (a numpy float32), a JSON summary and a per-column table of a 2-D image",
    inputs={"image": {"type": "image2d"}},
    outputs={
        "mean": {"type": "scalar"},
        "peak": {"type": "scalar"},
        "summary": {"type": "json"},
        "columns": {"type": "table", "columns": ["column", "mean", "label", "positive"]},
    },
)
def measure(inputs, params, ctx):
    image = inputs["image"]
    column_means = image.mean(axis=0, dtype=np.float64)
    return {
        "mean": image.mean(dtype=np.float64),  # a 0-D Array: what a numpy reduction of an input returns
        "peak": np.float32(image.max()),
        "summary": Json({"shape": image.shape, "min": image.min(), "sum": image.sum(dtype=np.float64), "dtype": str(image.dtype)}, {"kind": "summary"}),
        "columns": Table({
            "column": np.arange(image.shape[1], dtype=np.int32),
            "mean": column_means,
            "label": [f"c{i}" for i in range(image.shape[1])],
            "positive": column_means > 0,
        }),
    }
