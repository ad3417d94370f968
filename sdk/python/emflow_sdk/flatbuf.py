"""A minimal FlatBuffers builder and reader: just what Arrow IPC message headers need.

The builder follows the reference algorithm of the FlatBuffers library (the one apache-arrow's JavaScript
encoder uses: back-to-front, default values omitted, vtables shared), so that the same calls in the same
order give the same bytes as the TypeScript SDK.
"""
from __future__ import annotations

import struct

# one compiled Struct per format: a header is a few hundred small writes, and parsing the format each time was a
# third of encoding one
_STRUCTS: dict[str, struct.Struct] = {}


def _packer(fmt: str) -> struct.Struct:
    packer = _STRUCTS.get(fmt)
    if packer is None:
        packer = _STRUCTS[fmt] = struct.Struct(fmt)
    return packer


class Builder:
    def __init__(self, size: int = 1024) -> None:
        self.buf = bytearray(size)
        self.space = size
        self.minalign = 1
        self.vtable: list[int] = []
        self.vtable_in_use = 0
        self.nested = False
        self.object_start = 0
        self.vtables: list[int] = []
        self.vector_num_elems = 0

    def offset(self) -> int:
        return len(self.buf) - self.space

    def _grow(self) -> None:
        old = len(self.buf)
        self.buf = bytearray(old) + self.buf
        self.space += old

    def prep(self, size: int, additional: int) -> None:
        if size > self.minalign:
            self.minalign = size
        align_size = (~(len(self.buf) - self.space + additional) + 1) & (size - 1)
        while self.space < align_size + size + additional:
            self._grow()
        if align_size:
            # explicit zeros: a shared vtable rewinds `space` over bytes already written
            self.buf[self.space - align_size:self.space] = bytes(align_size)
            self.space -= align_size

    def _put(self, fmt: str, value: int | float) -> None:
        packer = _packer(fmt)
        self.space -= packer.size
        packer.pack_into(self.buf, self.space, value)

    def add(self, fmt: str, value: int | float) -> None:
        self.prep(_packer(fmt).size, 0)
        self._put(fmt, value)

    def add_offset(self, offset: int) -> None:
        self.prep(4, 0)
        self._put("<i", self.offset() - offset + 4)

    def slot(self, voffset: int) -> None:
        self.vtable[voffset] = self.offset()

    def field(self, voffset: int, fmt: str, value: int, default: int = 0) -> None:
        if value != default:
            self.add(fmt, value)
            self.slot(voffset)

    def field_offset(self, voffset: int, offset: int) -> None:
        if offset != 0:
            self.add_offset(offset)
            self.slot(voffset)

    def start_object(self, numfields: int) -> None:
        assert not self.nested, "flatbuffers: nested object"
        self.vtable = [0] * numfields
        self.vtable_in_use = numfields
        self.nested = True
        self.object_start = self.offset()

    def end_object(self) -> int:
        self.add("<i", 0)
        vtableloc = self.offset()
        i = self.vtable_in_use - 1
        while i >= 0 and self.vtable[i] == 0:
            i -= 1
        trimmed = i + 1
        while i >= 0:
            self.add("<h", vtableloc - self.vtable[i] if self.vtable[i] else 0)
            i -= 1
        self.add("<h", vtableloc - self.object_start)
        length = (trimmed + 2) * 2
        self.add("<h", length)
        existing = 0
        vt1 = self.space
        for candidate in self.vtables:
            vt2 = len(self.buf) - candidate
            if self.buf[vt1:vt1 + length] == self.buf[vt2:vt2 + length]:
                existing = candidate
                break
        if existing:
            self.space = len(self.buf) - vtableloc
            struct.pack_into("<i", self.buf, self.space, existing - vtableloc)
        else:
            self.vtables.append(self.offset())
            struct.pack_into("<i", self.buf, len(self.buf) - vtableloc, self.offset() - vtableloc)
        self.nested = False
        return vtableloc

    def start_vector(self, elem_size: int, count: int, alignment: int) -> None:
        self.vector_num_elems = count
        self.prep(4, elem_size * count)
        self.prep(alignment, elem_size * count)

    def end_vector(self) -> int:
        self._put("<i", self.vector_num_elems)
        return self.offset()

    def offsets_vector(self, offsets: list[int]) -> int:
        self.start_vector(4, len(offsets), 4)
        for offset in reversed(offsets):
            self.add_offset(offset)
        return self.end_vector()

    def string(self, text: str) -> int:
        data = text.encode("utf-8")
        self.add("<b", 0)
        self.start_vector(1, len(data), 1)
        self.space -= len(data)
        self.buf[self.space:self.space + len(data)] = data
        return self.end_vector()

    def finish(self, root: int) -> bytes:
        self.prep(self.minalign, 4)
        self.add_offset(root)
        return bytes(self.buf[self.space:])


def _at(buf: memoryview | bytes, pos: int, fmt: str, size: int) -> int:
    # struct.unpack_from counts a negative offset from the end: a hostile offset must not read there
    if pos < 0 or pos + size > len(buf):
        raise IndexError(f"flatbuffer offset {pos} is outside the {len(buf)}-byte message")
    return struct.unpack_from(fmt, buf, pos)[0]


class Table:
    """A table inside a flatbuffer: fields by vtable slot. A hostile buffer raises IndexError, never reads outside it."""

    __slots__ = ("buf", "pos", "vtable", "vtable_size")

    def __init__(self, buf: memoryview | bytes, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        self.vtable = pos - _at(buf, pos, "<i", 4)
        self.vtable_size = _at(buf, self.vtable, "<H", 2)

    @classmethod
    def root(cls, buf: memoryview | bytes) -> "Table":
        return cls(buf, _at(buf, 0, "<I", 4))

    def _field(self, slot: int) -> int:
        at = 4 + 2 * slot
        if at >= self.vtable_size:
            return 0
        return _at(self.buf, self.vtable + at, "<H", 2)

    def scalar(self, slot: int, fmt: str, default: int = 0) -> int:
        off = self._field(slot)
        return _at(self.buf, self.pos + off, fmt, struct.calcsize(fmt)) if off else default

    def _indirect(self, at: int) -> int:
        return at + _at(self.buf, at, "<I", 4)

    def table(self, slot: int) -> "Table | None":
        off = self._field(slot)
        return Table(self.buf, self._indirect(self.pos + off)) if off else None

    def string(self, slot: int) -> str | None:
        off = self._field(slot)
        if not off:
            return None
        at = self._indirect(self.pos + off)
        n = _at(self.buf, at, "<I", 4)
        if at + 4 + n > len(self.buf):
            raise IndexError(f"flatbuffer string of {n} bytes runs past the end of the message")
        return bytes(self.buf[at + 4:at + 4 + n]).decode("utf-8")

    def vector(self, slot: int) -> tuple[int, int]:
        """(start of the elements, count), or (0, 0) when absent."""
        off = self._field(slot)
        if not off:
            return 0, 0
        at = self._indirect(self.pos + off)
        return at + 4, _at(self.buf, at, "<I", 4)

    def tables(self, slot: int) -> list["Table"]:
        start, count = self.vector(slot)
        return [Table(self.buf, self._indirect(start + 4 * i)) for i in range(count)]
