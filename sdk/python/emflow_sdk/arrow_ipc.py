"""Arrow IPC stream messages (schema, record batch), encoded and decoded without pyarrow.

Only what emflow frames use is supported: primitive, Utf8, Bool, FixedSizeList and Struct fields, no
dictionaries, no compression. Encoding calls the FlatBuffers builder in the order apache-arrow's JavaScript
writer does, so a frame has the same bytes whichever SDK wrote it.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field as dataclass_field
from typing import List, Optional, Tuple

from .flatbuf import Builder, Table

CONTINUATION = 0xFFFFFFFF
EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"
V5 = 4
HEADER_SCHEMA, HEADER_RECORD_BATCH = 1, 3
TYPE_INT, TYPE_FLOAT, TYPE_UTF8, TYPE_BOOL, TYPE_STRUCT, TYPE_FIXED_SIZE_LIST = 2, 3, 5, 6, 13, 16
TYPE_NAMES = {1: "Null", 4: "Binary", 7: "Decimal", 8: "Date", 9: "Time", 10: "Timestamp", 11: "Interval", 12: "List",
              14: "Union", 15: "FixedSizeBinary", 17: "Map", 18: "Duration", 19: "LargeBinary", 20: "LargeUtf8",
              21: "LargeList", 22: "RunEndEncoded", 23: "BinaryView", 24: "Utf8View", 25: "ListView", 26: "LargeListView"}

Metadata = List[Tuple[str, str]]


class FrameError(Exception):
    """An input frame that cannot be decoded, or an output that cannot be encoded."""


@dataclass
class ArrowType:
    """type_id plus its parameters: bit_width/signed (Int), precision (FloatingPoint: 0 half, 1 single, 2 double), list_size."""
    type_id: int
    bit_width: int = 0
    signed: bool = False
    precision: int = 0
    list_size: int = 0

    def describe(self) -> str:
        if self.type_id == TYPE_INT:
            return f"{'' if self.signed else 'U'}Int{self.bit_width}"
        if self.type_id == TYPE_FLOAT:
            return {0: "Float16", 1: "Float32", 2: "Float64"}.get(self.precision, f"FloatingPoint precision {self.precision}")
        if self.type_id == TYPE_FIXED_SIZE_LIST:
            return f"FixedSizeList[{self.list_size}]"
        return {TYPE_UTF8: "Utf8", TYPE_BOOL: "Bool", TYPE_STRUCT: "Struct"}.get(self.type_id, TYPE_NAMES.get(self.type_id, f"type {self.type_id}"))


@dataclass
class Field:
    name: str
    type: ArrowType
    nullable: bool = False
    children: List["Field"] = dataclass_field(default_factory=list)
    metadata: Metadata = dataclass_field(default_factory=list)


@dataclass
class Schema:
    fields: List[Field]
    metadata: Metadata = dataclass_field(default_factory=list)


@dataclass
class RecordBatch:
    length: int
    nodes: List[Tuple[int, int]]  # (length, null_count) per field, depth first
    buffers: List[Tuple[int, int]]  # (offset, length) in the body


# ---- encoding ----

def _key_values(b: Builder, pairs: Metadata) -> int:
    offsets = []
    for key, value in pairs:
        k, v = b.string(key), b.string(value)
        b.start_object(2)
        b.field_offset(0, k)
        b.field_offset(1, v)
        offsets.append(b.end_object())
    return b.offsets_vector(offsets)


def _type(b: Builder, t: ArrowType) -> int:
    if t.type_id == TYPE_INT:
        b.start_object(2)
        b.field(0, "<i", t.bit_width)
        b.field(1, "<B", int(t.signed))
    elif t.type_id == TYPE_FLOAT:
        b.start_object(1)
        b.field(0, "<h", t.precision)
    elif t.type_id == TYPE_FIXED_SIZE_LIST:
        b.start_object(1)
        b.field(0, "<i", t.list_size)
    elif t.type_id in (TYPE_UTF8, TYPE_BOOL, TYPE_STRUCT):
        b.start_object(0)
    else:
        raise FrameError(f"cannot encode Arrow {t.describe()} without pyarrow")
    return b.end_object()


def _field(b: Builder, f: Field) -> int:
    type_offset = _type(b, f.type)
    children = b.offsets_vector([_field(b, c) for c in f.children])
    metadata = _key_values(b, f.metadata) if f.metadata else 0
    name = b.string(f.name) if f.name else 0
    b.start_object(7)
    b.field_offset(3, type_offset)
    b.field(2, "<B", f.type.type_id)
    b.field_offset(5, children)
    b.field(1, "<B", int(f.nullable))
    b.field_offset(0, name)
    b.field_offset(6, metadata)
    return b.end_object()


def _schema(b: Builder, s: Schema) -> int:
    fields = [_field(b, f) for f in s.fields]
    b.start_vector(4, len(fields), 4)
    fields_vector = b.offsets_vector(fields)
    metadata = _key_values(b, s.metadata) if s.metadata else 0
    b.start_object(4)
    b.field_offset(1, fields_vector)
    b.field_offset(2, metadata)
    return b.end_object()


def _structs(b: Builder, pairs: List[Tuple[int, int]]) -> int:
    b.start_vector(16, len(pairs), 8)
    for first, second in reversed(pairs):
        b.prep(8, 16)
        b._put("<q", second)
        b._put("<q", first)
    return b.end_vector()


def _record_batch(b: Builder, batch: RecordBatch) -> int:
    nodes = _structs(b, batch.nodes)
    buffers = _structs(b, batch.buffers)
    b.start_object(5)
    b.field(0, "<q", batch.length)
    b.field_offset(1, nodes)
    b.field_offset(2, buffers)
    return b.end_object()


def _message(header_type: int, header: "Schema | RecordBatch", body_length: int) -> bytes:
    b = Builder()
    header_offset = _schema(b, header) if isinstance(header, Schema) else _record_batch(b, header)
    b.start_object(5)
    b.field(0, "<h", V5)
    b.field_offset(2, header_offset)
    b.field(1, "<B", header_type)
    b.field(3, "<q", body_length)
    flatbuffer = b.finish(b.end_object())
    size = (len(flatbuffer) + 8 + 7) & ~7
    return struct.pack("<Ii", CONTINUATION, size - 8) + flatbuffer + bytes(size - 8 - len(flatbuffer))


def schema_message(schema: Schema) -> bytes:
    """An encapsulated schema message, padded to 8 bytes."""
    return _message(HEADER_SCHEMA, schema, 0)


def batch_message(batch: RecordBatch, body_length: int) -> bytes:
    """An encapsulated record batch message (the body follows it), padded to 8 bytes."""
    return _message(HEADER_RECORD_BATCH, batch, body_length)


# ---- decoding ----

def _decode_type(type_id: int, t: "Table | None") -> ArrowType:
    if t is None:
        return ArrowType(type_id)
    if type_id == TYPE_INT:
        return ArrowType(type_id, bit_width=t.scalar(0, "<i"), signed=bool(t.scalar(1, "<B")))
    if type_id == TYPE_FLOAT:
        return ArrowType(type_id, precision=t.scalar(0, "<h"))
    if type_id == TYPE_FIXED_SIZE_LIST:
        return ArrowType(type_id, list_size=t.scalar(0, "<i"))
    return ArrowType(type_id)


def _decode_metadata(t: Table, slot: int) -> Metadata:
    return [(kv.string(0) or "", kv.string(1) or "") for kv in t.tables(slot)]


MAX_DEPTH = 64  # nested fields; a hostile flatbuffer can make a field its own child


def _decode_field(t: Table, depth: int = 0) -> Field:
    if t.table(4) is not None:
        raise FrameError("dictionary-encoded fields are not supported")
    if depth > MAX_DEPTH:
        raise FrameError(f"fields nested more than {MAX_DEPTH} deep")
    return Field(
        name=t.string(0) or "",
        type=_decode_type(t.scalar(2, "<B"), t.table(3)),
        nullable=bool(t.scalar(1, "<B")),
        children=[_decode_field(c, depth + 1) for c in t.tables(5)],
        metadata=_decode_metadata(t, 6),
    )


def _decode_structs(t: Table, slot: int) -> List[Tuple[int, int]]:
    start, count = t.vector(slot)
    return [struct.unpack_from("<qq", t.buf, start + 16 * i) for i in range(count)]


@dataclass
class Message:
    header: "Schema | RecordBatch"
    body_start: int  # offset of the body in the stream
    end: int  # offset just after the body


def read_message(data: memoryview, at: int) -> Optional[Message]:
    """The message at `at`, or None at the end-of-stream marker (or the end of the bytes)."""
    if at + 8 > len(data):
        return None
    marker, length = struct.unpack_from("<Ii", data, at)
    if marker != CONTINUATION:
        raise FrameError(f"not an Arrow IPC stream: no continuation marker at byte {at}")
    if length == 0:
        return None
    if length < 0 or at + 8 + length > len(data):
        raise FrameError(f"not an Arrow IPC stream: message of {length} bytes at byte {at} runs past the end")
    try:
        root = Table.root(data[at + 8:at + 8 + length])
        header_type = root.scalar(1, "<B")
        body_length = root.scalar(3, "<q")
        header = root.table(2)
        if header is None:
            raise FrameError("message without a header")
        if header_type == HEADER_SCHEMA:
            decoded: "Schema | RecordBatch" = Schema([_decode_field(f) for f in header.tables(1)], _decode_metadata(header, 2))
        elif header_type == HEADER_RECORD_BATCH:
            if header.table(3) is not None:
                raise FrameError("compressed record batches are not supported")
            decoded = RecordBatch(header.scalar(0, "<q"), _decode_structs(header, 1), _decode_structs(header, 2))
        else:
            raise FrameError(f"unsupported Arrow message type {header_type} (dictionary batches are not supported)")
    except (struct.error, IndexError, UnicodeDecodeError) as error:
        raise FrameError(f"not an Arrow IPC stream: corrupt message at byte {at} ({error})") from None
    body_start = at + 8 + length
    # a negative body length would make the next message start before this one: a loop without end
    if body_length < 0 or body_start + body_length > len(data):
        raise FrameError(f"not an Arrow IPC stream: body of {body_length} bytes at byte {body_start} runs past the end")
    return Message(decoded, body_start, body_start + body_length)
