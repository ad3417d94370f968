"""Test fixture of the docker tests: two operators in one script (the image must start the one it is for) that
import a helper module beside them and a library from a Debian package (the Python base must have it)."""
import mrcfile  # noqa: F401  from python3-mrcfile: [tool.emflow] debian of this folder
import numpy as np

from emflow_sdk import Json, frame, operator
from helper import affine


@operator(name="test-py-affine", version="1.0.0", description="a * image + b in float32, written straight into the output slot.",
          inputs={"image": "image2d"}, outputs={"image": "image2d"},
          params={"a": {"type": "number", "default": 2.0}, "b": {"type": "number", "default": 0.5}})
def test_py_affine(inputs, params, ctx):
    image = inputs["image"]
    out = ctx.alloc("image", "float32", image.shape, dict(image.meta))
    affine(image, params["a"], params["b"], out)
    return {"image": out}


@operator(name="test-py-stats", version="1.0.0", description="float64 mean, min and max of an image, and a float64 copy of its row sums.",
          inputs={"image": "image2d"}, outputs={"stats": "json", "rows": "spectrum"})
def test_py_stats(inputs, params, ctx):
    image = np.asarray(inputs["image"], dtype=np.float64)
    stats = {"mean": float(image.mean()), "min": float(image.min()), "max": float(image.max())}
    return {"stats": Json(stats), "rows": frame(image.sum(axis=1))}
