"""emflow operator SDK for Python: write an operator as a decorated function or class; numpy arrays in and out,
read from and written into shared memory without copies. See sdk/python/README.md."""
import sys

try:
    import numpy  # noqa: F401
except ImportError as error:
    why = f"emflow_sdk needs numpy, which {sys.executable} cannot import ({error}): install it (Debian: python3-numpy), or name another interpreter with EMFLOW_PYTHON or [tool.emflow] python"
    if sys.argv[:1] == ["-m"]:  # `python3 -m emflow_sdk`: the engine shows the first lines of stderr, so one line, not a traceback
        sys.stderr.write(f"emflow-operator: {why}\n")
        sys.exit(3)
    raise ImportError(why) from None

from .arrow_ipc import FrameError
from .codec import decode_frame, encode_frame
from .frames import DTYPES, Array, Json, Table, frame
from .host import Context
from .operator import operator

__all__ = ["operator", "Context", "Array", "Json", "Table", "frame", "FrameError", "DTYPES", "decode_frame", "encode_frame"]
__version__ = "0.1.0"
