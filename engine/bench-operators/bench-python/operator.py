"""Python twins of bench-writer and bench-reader (engine/src/bench/operators): the same work, so that the hand-off
between two Python operators, and between a TypeScript and a Python one, is compared with the TypeScript pair."""
import time

from emflow_sdk import Json, operator


@operator(name="bench-py-writer", version="1.0.0",
          description="Writes `count` float32 frames of `size` elements straight into its slot (every value, or only the last) and stamps when it was done.",
          outputs={"data": "spectrum"},
          params={"size": {"type": "integer", "minimum": 1, "default": 16777216}, "count": {"type": "integer", "minimum": 1, "default": 10},
                  "writes": {"type": "string", "enum": ["all", "last"], "default": "all"}})
def bench_py_writer(inputs, params, ctx):
    for i in range(params["count"]):
        frame = ctx.alloc("data", "float32", [params["size"]])
        if params["writes"] == "last":
            frame[-1] = i
        else:
            frame.fill(i)
        # CLOCK_MONOTONIC, as Node's process.hrtime: comparable across processes
        frame.meta["doneAt"] = str(time.monotonic_ns())
        yield {"data": frame}


@operator(name="bench-py-reader", version="1.0.0",
          description="Reports how long after the writer was done it held a view of the frame (ns).",
          inputs={"data": "spectrum"}, outputs={"latency": "scalar"})
def bench_py_reader(inputs, params, ctx):
    held = time.monotonic_ns()
    data = inputs["data"]
    if data[-1] != data.meta["frame"]:
        raise ValueError(f"frame {data.meta['frame']} holds {data[-1]}")
    return {"latency": Json(held - int(data.meta["doneAt"]))}
