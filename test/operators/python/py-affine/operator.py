"""py-affine: a·x + b of an array in float64, written as float32 either straight into the output slot (ctx.alloc)
or as a fresh numpy array that the SDK copies into the slot."""
import numpy as np

from emflow_sdk import operator


@operator(
    name="py-affine",
    version="1.0.0",
    description="a·x + b computed in float64, written as float32: into ctx.alloc's view of the output slot, or as a new array",
    inputs={"image": {"type": "ndarray"}},
    outputs={"image": {"type": "ndarray", "sameAs": "image"}},
    params={
        "a": {"type": "number", "default": 2},
        "b": {"type": "number", "default": -1},
        "alloc": {"type": "boolean", "default": True, "description": "compute into ctx.alloc (in place) instead of returning a new array"},
    },
)
def affine(inputs, params, ctx):
    image = inputs["image"]
    values = np.asarray(image, dtype=np.float64) * params["a"] + params["b"]
    if not params["alloc"]:
        return {"image": values.astype(np.float32)}
    out = ctx.alloc("image", np.float32, image.shape, {"affine": [params["a"], params["b"]]})
    out[...] = values
    return {"image": out}
