"""Slot files of the session directory mapped into this process (mmap, MAP_SHARED), kept across calls."""
from __future__ import annotations

import errno
import mmap
import os
import stat
import threading
from typing import Dict, Optional, Tuple

import numpy as np


class Slots:
    def __init__(self, session_dir: str) -> None:
        self.dir = session_dir
        self.maps: Dict[str, Tuple[int, bool, mmap.mmap, np.ndarray]] = {}
        self.lock = threading.Lock()  # release notifications may arrive on the listener thread

    def bytes(self, name: str, size: int, writable: bool) -> np.ndarray:
        """A uint8 view of the whole slot; mapped again when it grew or write access is newly needed."""
        with self.lock:
            known = self.maps.get(name)
            if known and known[0] == size and (known[1] or not writable):
                return known[3]
            if known:
                known = None  # our reference to the old view would keep its mapping from closing
                self._unmap(name)
            fd = self._open(name, os.O_RDWR if writable else os.O_RDONLY)
            try:
                mm = mmap.mmap(fd, size, access=mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ)
            finally:
                os.close(fd)
            view = np.frombuffer(mm, np.uint8)
            self.maps[name] = (size, writable, mm, view)
            return view

    def writable_holding(self, array: np.ndarray, other_than: Optional[str]) -> Optional[str]:
        """The writable slot, other than `other_than`, whose mapping holds (part of) `array`, if any."""
        with self.lock:
            for name, (_, writable, _, view) in self.maps.items():
                if writable and name != other_than and np.may_share_memory(array, view):
                    return name
        return None

    def grow(self, name: str, size: int) -> None:
        """Grow a granted slot file (ftruncate), within the grant's limit."""
        fd = self._open(name, os.O_RDWR)
        try:
            os.ftruncate(fd, size)
        finally:
            os.close(fd)

    def _open(self, name: str, flags: int) -> int:
        """A slot is a regular file: a link is not followed (it could name any file), a FIFO put in its place does not block."""
        path = os.path.join(self.dir, name)
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "not a regular file, cannot map", path)
        return fd

    def _unmap(self, name: str) -> None:
        _, _, mm, view = self.maps.pop(name)
        del view  # our own view exports the mapping's buffer: let go of it first
        try:
            mm.close()
        except BufferError:
            pass  # code still holds a view (it kept an input frame): the mapping goes when that view does

    def drop(self, name: str) -> None:
        with self.lock:
            if name in self.maps:
                self._unmap(name)

    def clear(self) -> None:
        with self.lock:
            for name in list(self.maps):
                self._unmap(name)
