"""py-ramp: a source written as a generator. Frame k holds i + k/2 at flat index i (exact in float32 for small
frames), computed into ctx.alloc or returned as a new array; the instance counts the frames it ever yielded. With
failAt, the generator raises instead of yielding that frame; with reuse, it writes every frame into the first
frame's slot (what the SDK must refuse)."""
import numpy as np

from emflow_sdk import frame, operator


@operator(
    name="py-ramp",
    version="1.0.0",
    description="count float32 frames of height × width: element i of frame k is i + k/2",
    outputs={"image": {"type": "image2d"}},
    params={
        "count": {"type": "integer", "minimum": 1, "default": 3},
        "width": {"type": "integer", "minimum": 1, "default": 16},
        "height": {"type": "integer", "minimum": 1, "default": 8},
        "alloc": {"type": "boolean", "default": True},
        "failAt": {"type": "integer", "default": -1, "description": "raise a ValueError instead of yielding this frame"},
        "reuse": {"type": "boolean", "default": False, "description": "the mistake: one ctx.alloc before the loop, written again for every frame"},
    },
)
class Ramp:
    def __init__(self):
        self.yielded = 0

    def process(self, inputs, params, ctx):
        shape = (params["height"], params["width"])
        reused = ctx.alloc("image", "float32", shape) if params["reuse"] else None
        for k in range(params["count"]):
            if k == params["failAt"]:
                raise ValueError(f"ramp stopped at frame {k}")
            self.yielded += 1
            meta = {"source": "py-ramp", "yielded": self.yielded}
            if params["alloc"]:
                image = reused if reused is not None else ctx.alloc("image", "float32", shape, meta)
                image[...] = np.arange(image.size, dtype=np.float32).reshape(shape)
                image += np.float32(k / 2)
            else:
                image = np.arange(shape[0] * shape[1], dtype=np.float32).reshape(shape) + np.float32(k / 2)
                image = frame(image, **meta)
            yield {"image": image}


