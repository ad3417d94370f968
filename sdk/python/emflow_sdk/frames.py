"""What operators receive and return: N-D arrays (numpy), JSON values and tables, each with frame metadata."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

# emflow dtypes (sdk/PROTOCOL.md §6.2): no int64, bool or complex arrays
DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "float16", "float32", "float64")


class Array(np.ndarray):
    """A numpy array with frame metadata (`meta`: pixelSize, units, source, frame, …).

    Inputs are read-only views of the shared-memory slot (no copy); results of numpy operations on them are
    Arrays too and carry the metadata along."""

    meta: Dict[str, Any]

    def __new__(cls, data: Any, meta: Optional[Dict[str, Any]] = None) -> "Array":
        obj = np.asarray(data).view(cls)
        obj.meta = dict(meta or {})
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.meta = dict(getattr(obj, "meta", None) or {})


def frame(data: Any, **meta: Any) -> Array:
    """An output array with metadata: `return {"image": frame(result, pixelSize=[1.06, 1.06])}`."""
    return Array(data, meta)


class Json:
    """A JSON value (the `json` and `scalar` port types) with frame metadata."""

    def __init__(self, value: Any, meta: Optional[Dict[str, Any]] = None) -> None:
        self.value = value
        self.meta = dict(meta or {})

    def __repr__(self) -> str:
        return f"Json({self.value!r}, meta={self.meta!r})"


Column = Union[np.ndarray, List[str]]


class Table:
    """A table frame: columns by name, each a 1-D numpy array (numbers, bools; masked where null) or a list of str."""

    def __init__(self, columns: Dict[str, Column], meta: Optional[Dict[str, Any]] = None) -> None:
        lengths = {name: len(column) for name, column in columns.items()}
        if not columns:
            raise ValueError("Table: needs at least one column")
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Table: columns differ in length: {lengths}")
        self.columns: Dict[str, Column] = dict(columns)
        self.meta = dict(meta or {})
        self.schema_metadata: Sequence = ()  # other schema metadata keys of a decoded table, kept when re-encoded
        self.fields: Optional[list] = None  # the Arrow fields of a decoded table, reused when it is re-encoded unchanged

    @property
    def num_rows(self) -> int:
        return len(next(iter(self.columns.values())))

    def __getitem__(self, name: str) -> Column:
        return self.columns[name]

    def to_pyarrow(self) -> Any:
        """The same table as a pyarrow.Table (needs pyarrow)."""
        import pyarrow as pa

        def column(c: Column) -> Any:
            if isinstance(c, np.ma.MaskedArray):
                return pa.array(np.ma.getdata(c), mask=np.ma.getmaskarray(c))
            return pa.array(c)

        return pa.table({name: column(c) for name, c in self.columns.items()})

    def __repr__(self) -> str:
        return f"Table({list(self.columns)}, rows={self.num_rows}, meta={self.meta!r})"
