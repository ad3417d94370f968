"""Frames <-> Arrow IPC stream bytes (sdk/PROTOCOL.md §6), byte for byte as the TypeScript SDK writes them.

Arrays are read as numpy views of the bytes (no copy) and written in place: the values stay where
`ctx.alloc` put them and the Arrow header goes directly in front of them.
"""
from __future__ import annotations

import functools
import json
import math
import struct
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from . import jsjson
from .arrow_ipc import (EOS, TYPE_BOOL, TYPE_FIXED_SIZE_LIST, TYPE_FLOAT, TYPE_INT, TYPE_STRUCT, TYPE_UTF8, ArrowType, Field,
                        FrameError, RecordBatch, Schema, batch_message, read_message, schema_message)
from .frames import DTYPES, Array, Json, Table

TENSOR_EXTENSION = "arrow.fixed_shape_tensor"
KIND_KEY = "emflow.kind"
META_KEY = "emflow.meta"
TENSOR_BODY_OFFSET = 65536  # where ctx.alloc puts an array's values in a slot: room in front for the header
# tables are always decoded by the built-in reader (pyarrow, when installed, only writes pyarrow.Table outputs)
READABLE_COLUMNS = "emflow_sdk reads tables of integer, floating-point, Bool and Utf8 columns only"

Frame = Union[Array, Json, Table]
Placement = Tuple[int, int]  # (offset, length) of an encoded frame in a byte range

_ARROW_OF_DTYPE = {
    "int8": ArrowType(TYPE_INT, 8, True), "uint8": ArrowType(TYPE_INT, 8, False),
    "int16": ArrowType(TYPE_INT, 16, True), "uint16": ArrowType(TYPE_INT, 16, False),
    "int32": ArrowType(TYPE_INT, 32, True), "uint32": ArrowType(TYPE_INT, 32, False),
    "int64": ArrowType(TYPE_INT, 64, True), "uint64": ArrowType(TYPE_INT, 64, False),
    "float16": ArrowType(TYPE_FLOAT, precision=0), "float32": ArrowType(TYPE_FLOAT, precision=1),
    "float64": ArrowType(TYPE_FLOAT, precision=2),
}


def _align(n: int, to: int) -> int:
    return (n + to - 1) // to * to


def numpy_dtype(t: ArrowType) -> Optional[np.dtype]:
    """The little-endian numpy dtype of a primitive Arrow type (any width), or None."""
    if t.type_id == TYPE_INT and t.bit_width in (8, 16, 32, 64):
        return np.dtype(f"<{'i' if t.signed else 'u'}{t.bit_width // 8}")
    if t.type_id == TYPE_FLOAT and t.precision in (0, 1, 2):
        return np.dtype(("<f2", "<f4", "<f8")[t.precision])
    return None


def array_dtype(t: ArrowType) -> Optional[np.dtype]:
    """The numpy dtype of an array frame's element type: one of the nine emflow dtypes, or None."""
    dtype = numpy_dtype(t)
    return dtype if dtype is not None and dtype.name in DTYPES else None


def contiguous(array: np.ndarray) -> np.ndarray:
    """The array in C order, of the same shape: np.ascontiguousarray turns a 0-D array into a 1-D one."""
    return np.ascontiguousarray(array).reshape(np.shape(array))


def check_array(array: np.ndarray, what: str) -> None:
    if array.dtype.name not in DTYPES:
        raise FrameError(f"{what}: dtype {array.dtype} is not an emflow dtype ({', '.join(DTYPES)}); convert it, e.g. .astype(np.float32)")


def slot_bytes_for_array(dtype: Any, shape: Tuple[int, ...]) -> int:
    """Bytes a slot needs to hold an array of this dtype and shape written in place by ctx.alloc."""
    return TENSOR_BODY_OFFSET + _align(int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize, 8) + len(EOS)


def _metadata(kind: str, meta: Dict[str, Any]) -> List[Tuple[str, str]]:
    return [(KIND_KEY, kind), (META_KEY, jsjson.dumps(meta))]


@dataclass(frozen=True)
class _ArrayLayout:
    """The header bytes of an array frame of one dtype and shape whose metadata text has one length: the builder's
    output depends on the lengths of strings, never on their characters, so every such frame's header is these bytes
    with its own metadata text at `meta_at`."""
    schema: bytes  # the schema message, with a stand-in metadata text
    meta_at: int
    meta_bytes: int
    batch: bytes  # the record batch message (the values follow it)
    body_length: int


def _array_schema(dtype: str, shape: Tuple[int, ...], meta_text: str) -> bytes:
    item = Field("item", _ARROW_OF_DTYPE[dtype], nullable=False)
    extension = [("ARROW:extension:name", TENSOR_EXTENSION), ("ARROW:extension:metadata", jsjson.dumps({"shape": list(shape)}))]
    data = Field("data", ArrowType(TYPE_FIXED_SIZE_LIST, list_size=math.prod(shape)), nullable=False, children=[item], metadata=extension)
    return schema_message(Schema([data], [(KIND_KEY, "ndarray"), (META_KEY, meta_text)]))


@functools.lru_cache(maxsize=16)
def _array_layout(dtype: str, shape: Tuple[int, ...], meta_bytes: int) -> _ArrayLayout:
    """Built once per stream shape: a header built field by field in Python costs about 100 µs, a frame's budget."""
    first, second = _array_schema(dtype, shape, "a" * meta_bytes), _array_schema(dtype, shape, "b" * meta_bytes)
    differ = np.flatnonzero(np.frombuffer(first, np.uint8) != np.frombuffer(second, np.uint8))
    meta_at = int(differ[0]) if meta_bytes else 0
    size = math.prod(shape)
    body_length = _align(size * np.dtype(dtype).itemsize, 8)
    return _ArrayLayout(first, meta_at, meta_bytes, _tensor_batch_message(size, body_length), body_length)


# headers larger than this are built and read field by field: a layout is kept, and a huge one must not be
_MAX_LAYOUT_META_BYTES = 64 * 1024
_MAX_LAYOUT_RANK = 32


def _has_layout(shape: Tuple[int, ...], meta_bytes: int) -> bool:
    return meta_bytes <= _MAX_LAYOUT_META_BYTES and len(shape) <= _MAX_LAYOUT_RANK


def _array_header(array: np.ndarray, meta: Dict[str, Any]) -> Tuple[bytes, int]:
    """The schema and record batch messages in front of an array's values, and the padded body length."""
    json_text = jsjson.dumps(meta)
    text = json_text.encode("utf-8")
    if not _has_layout(array.shape, len(text)):
        body_length = _align(array.nbytes, 8)
        return _array_schema(array.dtype.name, array.shape, json_text) + _tensor_batch_message(int(array.size), body_length), body_length
    layout = _array_layout(array.dtype.name, array.shape, len(text))
    schema = layout.schema[:layout.meta_at] + text + layout.schema[layout.meta_at + len(text):]
    return schema + layout.batch, layout.body_length


def _tensor_batch_message(size: int, body_length: int) -> bytes:
    """The record batch message of a one-row tensor column."""
    return batch_message(RecordBatch(1, [(1, 0), (size, 0)], [(0, 0), (0, 0), (0, body_length)]), body_length)


def _address(array: np.ndarray) -> int:
    return int(array.__array_interface__["data"][0])


def encode_array_into(array: np.ndarray, meta: Dict[str, Any], target: np.ndarray) -> Optional[Placement]:
    """Encode an array into `target` (a uint8 view of a slot). When the values already lie inside `target` with room
    for the header in front of them (ctx.alloc), they stay where they are; otherwise they are copied behind the
    header. None when the frame does not fit."""
    array = contiguous(array)
    header, body_length = _array_header(array, meta)
    start_of_values = _address(array) - _address(target) if array.nbytes else -1
    in_place = len(header) <= start_of_values <= len(target) - array.nbytes and start_of_values % 8 == 0
    body_start = start_of_values if in_place else _align(len(header), 64)
    end = body_start + body_length + len(EOS)
    if end > len(target):
        return None
    if not in_place:
        target[body_start:body_start + array.nbytes] = array.reshape(-1).view(np.uint8)
    start = body_start - len(header)
    target[start:body_start] = np.frombuffer(header, np.uint8)
    target[body_start + array.nbytes:body_start + body_length] = 0
    target[body_start + body_length:end] = np.frombuffer(EOS, np.uint8)
    return start, end - start


def _array_encoded_size(array: np.ndarray, meta: Dict[str, Any]) -> int:
    header, body_length = _array_header(contiguous(array), meta)
    return max(slot_bytes_for_array(array.dtype, array.shape), _align(len(header), 64) + body_length + len(EOS))


# ---- tables and JSON values: a schema, one record batch, the end-of-stream marker ----

def _column_field(name: str, column: Any) -> Field:
    # nullable only where there can be nulls (a masked array), as apache-arrow's tableFromArrays does for typed arrays
    nullable = isinstance(column, np.ma.MaskedArray)
    if isinstance(column, list) or (isinstance(column, np.ndarray) and column.dtype.kind in "UO"):
        return Field(name, ArrowType(TYPE_UTF8), nullable)
    column = np.asarray(column)
    if column.dtype == np.bool_:
        return Field(name, ArrowType(TYPE_BOOL), nullable)
    if column.ndim != 1 or column.dtype.name not in _ARROW_OF_DTYPE:
        raise FrameError(f"table column {name!r}: expected a 1-D array of numbers or bools or a list of str, got {column.dtype} {column.shape}")
    return Field(name, _ARROW_OF_DTYPE[column.dtype.name], nullable)


def _bitmap(bits: np.ndarray) -> bytes:
    return np.packbits(bits.astype(np.uint8), bitorder="little").tobytes()


def _column_buffers(field: Field, column: Any) -> Tuple[int, List[bytes]]:
    """(null count, buffers) of one column as apache-arrow's writer lays them out."""
    mask = np.ma.getmaskarray(column) if isinstance(column, np.ma.MaskedArray) else None
    nulls = int(mask.sum()) if mask is not None else 0
    validity = _bitmap(~mask) if nulls else b""
    if field.type.type_id == TYPE_UTF8:
        # a null is an empty string, as apache-arrow writes it (str() of a masked element would be "--")
        data = [b"" if mask is not None and mask[i] else str(v).encode("utf-8") for i, v in enumerate(column)]
        offsets = np.zeros(len(data) + 1, "<i4")
        np.cumsum([len(d) for d in data], out=offsets[1:])
        return nulls, [validity, offsets.tobytes(), b"".join(data)]
    values = np.ma.getdata(column) if mask is not None else np.asarray(column)
    if field.type.type_id == TYPE_BOOL:
        return nulls, [validity, _bitmap(values)]
    return nulls, [validity, np.ascontiguousarray(values, numpy_dtype(field.type)).tobytes()]


def _encode_batch_stream(schema: Schema, length: int, columns: List[Tuple[int, List[bytes]]]) -> bytes:
    nodes, regions, body = [], [], bytearray()
    for nulls, buffers in columns:
        nodes.append((length, nulls))
        for buffer in buffers:
            padded = _align(len(buffer), 8)
            regions.append((len(body), padded))
            body += buffer + bytes(padded - len(buffer))
    return schema_message(schema) + batch_message(RecordBatch(length, nodes, regions), len(body)) + bytes(body) + EOS


def encode_json(value: Any, meta: Dict[str, Any]) -> bytes:
    text = jsjson.dumps(value)
    schema = Schema([Field("value", ArrowType(TYPE_UTF8), nullable=False)], _metadata("json", meta))
    return _encode_batch_stream(schema, 1, [_column_buffers(schema.fields[0], [text])])


def encode_table(table: Table, meta: Dict[str, Any]) -> bytes:
    fields = [_column_field(name, column) for name, column in table.columns.items()]
    # a decoded table keeps its fields' nullability and metadata where the column is still the same type
    decoded = {f.name: f for f in table.fields or []}
    fields = [Field(f.name, f.type, decoded[f.name].nullable, [], decoded[f.name].metadata) if f.name in decoded and decoded[f.name].type == f.type else f for f in fields]
    others = [(k, v) for k, v in table.schema_metadata if k not in (KIND_KEY, META_KEY)]
    schema = Schema(fields, others + _metadata("table", meta))
    return _encode_batch_stream(schema, table.num_rows, [_column_buffers(f, table.columns[f.name]) for f in fields])


def encode_pyarrow_table(table: Any, meta: Dict[str, Any]) -> bytes:
    """A pyarrow.Table as a table frame, written by pyarrow's own IPC writer (any Arrow schema)."""
    import pyarrow as pa

    metadata = {**(table.schema.metadata or {}), KIND_KEY.encode(): b"table", META_KEY.encode(): jsjson.dumps(meta).encode()}
    table = table.replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def encode_frame(frame: Any, meta: Dict[str, Any]) -> bytes:
    """A frame as a standalone Arrow IPC stream."""
    if isinstance(frame, np.ndarray):
        target = np.zeros(_array_encoded_size(frame, meta), np.uint8)
        offset, length = encode_array_into(frame, meta, target)  # type: ignore[misc]
        return target[offset:offset + length].tobytes()
    if isinstance(frame, Table):
        return encode_table(frame, meta)
    if isinstance(frame, Json):
        return encode_json(frame.value, meta)
    return encode_pyarrow_table(frame, meta)


# ---- decoding ----

def _parse_meta(schema: Schema) -> Dict[str, Any]:
    text = dict(schema.metadata).get(META_KEY)
    if text is None:
        return {}
    try:
        meta = json.loads(text)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise FrameError(f"schema metadata {META_KEY} is not a JSON object")
    return meta


def _tensor(schema: Schema, batch: RecordBatch, body: memoryview, meta: Dict[str, Any]) -> Array:
    field = schema.fields[0]
    if field.type.type_id != TYPE_FIXED_SIZE_LIST or len(field.children) != 1:
        raise FrameError(f"array frame: column {field.name!r} is {field.type.describe()}, expected FixedSizeList")
    try:
        shape = json.loads(dict(field.metadata).get("ARROW:extension:metadata", "{}")).get("shape")
    except (ValueError, AttributeError):
        raise FrameError("array frame: ARROW:extension:metadata is not a JSON object") from None
    if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise FrameError('array frame: extension metadata has no valid "shape"')
    if batch.length != 1:
        raise FrameError(f"array frame: expected 1 row, got {batch.length}")
    dtype = array_dtype(field.children[0].type)
    if dtype is None:
        raise FrameError(f"array frame: element type {field.children[0].type.describe()} is not supported")
    if len(batch.nodes) < 2 or len(batch.buffers) < 3 or batch.nodes[0][1] or batch.nodes[1][1]:
        raise FrameError("array frame: expected a tensor without nulls")
    size = math.prod(shape)  # Python integers: a hostile shape cannot overflow
    if size != batch.nodes[1][0]:
        raise FrameError(f"array frame: shape {shape} has {size} elements, the list holds {batch.nodes[1][0]}")
    offset, length = batch.buffers[2]
    if offset < 0 or offset + size * dtype.itemsize > len(body) or length < size * dtype.itemsize:
        raise FrameError("array frame: values run past the end of the body")
    values = np.frombuffer(body, dtype, size, offset)
    try:
        return Array(values.reshape(shape), meta)
    except ValueError as error:  # e.g. a dimension numpy cannot index, beside a 0
        raise FrameError(f"array frame: shape {shape}: {error}") from None


def _columns(fields: List[Field], batch: RecordBatch, body: memoryview) -> Dict[str, Any]:
    """The columns of one record batch; every node and buffer is checked against the body first (hostile bytes)."""
    columns: Dict[str, Any] = {}
    nodes, buffers = 0, 0
    for field in fields:
        kind = field.type.type_id
        if kind in (TYPE_STRUCT, TYPE_FIXED_SIZE_LIST) or field.children:
            raise FrameError(f"table column {field.name!r} is {field.type.describe()}: {READABLE_COLUMNS}")
        count = 3 if kind == TYPE_UTF8 else 2
        if nodes >= len(batch.nodes) or buffers + count > len(batch.buffers):
            raise FrameError("record batch: fewer field nodes or buffers than the schema has columns")
        length, nulls = batch.nodes[nodes]
        regions = batch.buffers[buffers:buffers + count]
        nodes, buffers = nodes + 1, buffers + count
        if length != batch.length or not 0 <= nulls <= length:
            raise FrameError(f"table column {field.name!r}: {length} rows with {nulls} nulls in a batch of {batch.length} rows")

        def region(index: int, needed: int) -> memoryview:
            offset, size = regions[index]
            if offset < 0 or needed < 0 or size < needed or offset + needed > len(body):
                raise FrameError(f"table column {field.name!r}: buffer {index} ({size} bytes at {offset}) is outside the body or too small")
            return body[offset:offset + needed]

        bits = (length + 7) // 8
        if kind == TYPE_UTF8:
            if length == 0:
                column: Any = []
            else:
                offsets = np.frombuffer(region(1, (length + 1) * 4), "<i4", length + 1)
                if offsets[0] < 0 or np.any(offsets[1:] < offsets[:-1]):
                    raise FrameError(f"table column {field.name!r}: string offsets are not ascending")
                data = bytes(region(2, int(offsets[-1])))
                try:
                    column = [data[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(length)]
                except UnicodeDecodeError:
                    raise FrameError(f"table column {field.name!r}: a string is not UTF-8") from None
        elif kind == TYPE_BOOL:
            column = np.unpackbits(np.frombuffer(region(1, bits), np.uint8), count=length, bitorder="little").astype(bool)
        else:
            dtype = numpy_dtype(field.type)
            if dtype is None:
                raise FrameError(f"table column {field.name!r} is {field.type.describe()}: {READABLE_COLUMNS}")
            column = np.frombuffer(region(1, length * dtype.itemsize), dtype, length)
        if nulls:
            valid = np.unpackbits(np.frombuffer(region(0, bits), np.uint8), count=length, bitorder="little").astype(bool)
            column = np.ma.masked_array(np.asarray(column, dtype=object if isinstance(column, list) else None), mask=~valid)
        columns[field.name] = column
    return columns


def _concat(parts: List[Dict[str, Any]]) -> Dict[str, Any]:
    if len(parts) == 1:
        return parts[0]
    out: Dict[str, Any] = {}
    for name in parts[0]:
        pieces = [p[name] for p in parts]
        if any(isinstance(p, np.ma.MaskedArray) for p in pieces):
            # strings are a list in a batch without nulls and a masked object array in one with nulls
            out[name] = np.ma.concatenate([np.array(p, dtype=object) if isinstance(p, list) else p for p in pieces])
        else:
            out[name] = sum(pieces, []) if isinstance(pieces[0], list) else np.concatenate(pieces)
    return out


def decode_frame(data: memoryview) -> Frame:
    """Decode Arrow IPC stream bytes into a frame; array values are read-only views of `data` when it is read-only.
    Bytes that are no valid frame raise FrameError, whatever they hold."""
    try:
        return _decode(memoryview(data).cast("B"))
    except FrameError:
        raise
    except (struct.error, IndexError, ValueError, OverflowError, RecursionError) as error:
        # a safety net under the checks: hostile bytes give a FrameError, never another exception
        raise FrameError(f"not a valid Arrow IPC stream ({type(error).__name__}: {error})") from None


# the dtype, shape and metadata length of the last array frame decoded: the next frame of a stream most likely has
# the same header bytes but for its metadata text, and is then read without parsing its header (_canonical_array)
_recent_array: Optional[Tuple[np.dtype, Tuple[int, ...], int]] = None


def _canonical_array(data: memoryview) -> Optional[Array]:
    """The frame, when its bytes are exactly what encode_array_into writes for the recent dtype and shape; None
    otherwise (it is then parsed in full). Only a metadata text is taken from the bytes: its length is fixed."""
    if _recent_array is None:
        return None
    dtype, shape, meta_bytes = _recent_array
    layout = _array_layout(dtype.name, shape, meta_bytes)
    at, n, schema_end = layout.meta_at, layout.meta_bytes, len(layout.schema)
    body_start = schema_end + len(layout.batch)
    end = body_start + layout.body_length
    if (len(data) < end + len(EOS) or data[end:end + len(EOS)] != EOS or data[:at] != layout.schema[:at]
            or data[at + n:schema_end] != layout.schema[at + n:] or data[schema_end:body_start] != layout.batch):
        return None
    try:
        meta = json.loads(bytes(data[at:at + n]).decode("utf-8"))
    except ValueError:  # UnicodeDecodeError too: the full parse gives the error
        return None
    if not isinstance(meta, dict):
        return None
    return Array(np.frombuffer(data[body_start:end], dtype, math.prod(shape)).reshape(shape), meta)


def _decode(data: memoryview) -> Frame:
    global _recent_array
    known = _canonical_array(data)
    if known is not None:
        return known
    first = read_message(data, 0)
    if first is None or not isinstance(first.header, Schema):
        raise FrameError("not an Arrow IPC stream: it does not start with a schema")
    schema = first.header
    if not schema.fields:
        raise FrameError("Arrow stream has no schema fields")
    meta = _parse_meta(schema)
    kind = dict(schema.metadata).get(KIND_KEY)
    if kind not in ("ndarray", "table", "json", None):
        raise FrameError(f'unknown frame kind "{kind}"')
    is_tensor = dict(schema.fields[0].metadata).get("ARROW:extension:name") == TENSOR_EXTENSION
    batches: List[Tuple[RecordBatch, memoryview]] = []
    at = first.end
    while True:
        message = read_message(data, at)
        if message is None:
            break
        if not isinstance(message.header, RecordBatch):
            raise FrameError("Arrow stream: a second schema")
        batches.append((message.header, data[message.body_start:message.end]))
        at = message.end
    if kind == "ndarray" or (kind is None and is_tensor):
        if len(batches) != 1:
            raise FrameError(f"array frame: expected 1 batch, got {len(batches)}")
        array = _tensor(schema, batches[0][0], batches[0][1], meta)
        text = dict(schema.metadata).get(META_KEY)
        meta_bytes = len(text.encode("utf-8")) if kind == "ndarray" and text is not None else None
        if meta_bytes is not None and _has_layout(array.shape, meta_bytes):
            _recent_array = (array.dtype, array.shape, meta_bytes)
        return array
    columns = _concat([_columns(schema.fields, batch, body) for batch, body in batches]) if batches else {f.name: [] for f in schema.fields}
    if kind == "json":
        text = columns.get(schema.fields[0].name)
        if not isinstance(text, list) or len(text) != 1:
            raise FrameError("json frame: expected one Utf8 row")
        try:
            return Json(json.loads(text[0]), meta)
        except ValueError:
            raise FrameError("json frame: value is not valid JSON") from None
    table = Table(columns, meta)
    table.fields = schema.fields
    table.schema_metadata = [(k, v) for k, v in schema.metadata if k not in (KIND_KEY, META_KEY)]
    return table
