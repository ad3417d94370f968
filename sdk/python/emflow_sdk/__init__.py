"""emflow operator SDK for Python: write an operator as a decorated function or class; numpy arrays in and out,
read from and written into shared memory without copies. See sdk/python/README.md."""
from .arrow_ipc import FrameError
from .codec import decode_frame, encode_frame
from .frames import DTYPES, Array, Json, Table, frame
from .host import Context
from .operator import operator

__all__ = ["operator", "Context", "Array", "Json", "Table", "frame", "FrameError", "DTYPES", "decode_frame", "encode_frame"]
__version__ = "0.1.0"
