"""py-lifecycle: a class operator whose setup and teardown leave traces: teardown writes
<folder>/teardown-<pid>.json with how often setup ran and how many calls the process served."""
import json
import os

from emflow_sdk import operator


@operator(
    name="py-lifecycle",
    version="1.0.0",
    description="counts setup calls and process calls of its process; teardown writes them to a file in `folder`",
    inputs={"image": {"type": "ndarray"}},
    outputs={"calls": {"type": "json"}},
    params={"folder": {"type": "string"}},
)
class Lifecycle:
    setups = 0

    def setup(self):
        Lifecycle.setups += 1
        self.calls = 0
        self.folder = None

    def process(self, inputs, params, ctx):
        self.calls += 1
        self.folder = params["folder"]
        return {"calls": {"calls": self.calls, "setups": Lifecycle.setups, "pid": os.getpid()}}

    def teardown(self):
        if self.folder:
            with open(os.path.join(self.folder, f"teardown-{os.getpid()}.json"), "w") as f:
                json.dump({"setups": Lifecycle.setups, "calls": self.calls}, f)
