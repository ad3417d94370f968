"""py-faulty: passes its input on, logging and printing a line per frame; at frame `at` it can raise a ValueError
or sleep (polling, as a slow computation would run) for `seconds`."""
import logging
import time

from emflow_sdk import operator

log = logging.getLogger(__name__)


@operator(
    name="py-faulty",
    version="1.0.0",
    description="the input unchanged; mode raise: ValueError at frame `at`; mode sleep: `seconds` of sleeping at frame `at`",
    inputs={"image": {"type": "ndarray"}},
    outputs={"image": {"type": "ndarray", "sameAs": "image"}},
    params={
        "mode": {"type": "string", "enum": ["ok", "raise", "sleep"], "default": "ok"},
        "at": {"type": "integer", "minimum": 0, "default": 1},
        "seconds": {"type": "number", "minimum": 0, "default": 30},
    },
)
def faulty(inputs, params, ctx):
    log.info("log line from frame %d of node %s", ctx.frame, ctx.node)
    print(f"print line from frame {ctx.frame}")
    if ctx.frame == params["at"] and params["mode"] == "raise":
        check(ctx.frame)
    if ctx.frame == params["at"] and params["mode"] == "sleep":
        deadline = time.monotonic() + params["seconds"]
        while time.monotonic() < deadline:
            time.sleep(0.01)
    return {"image": inputs["image"]}


def check(frame):
    raise ValueError(f"deliberate failure at frame {frame}")
