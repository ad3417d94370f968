"""The engine's messages to this process, one JSON object per line, read by one thread at a time.

The main thread reads them while it waits for a call, so that a call reaches the code that serves it without a
hand-off between threads (one wake-up less per frame); while the operator's code runs long, the listener thread
reads them, so that `cancel`, `release` and `shutdown` are heard meanwhile. Whichever thread reads holds `lock`.
"""
from __future__ import annotations

import json
import os
import select
import socket
import threading
from typing import Any, Dict, Optional


class Wire:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.lock = threading.Lock()
        self.scanned = 0  # how much of `buffer` holds no newline
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        # poll, not select: select cannot watch a descriptor numbered 1024 or more
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        self._poll.register(self._wake_read, select.POLLIN)

    def next(self, interruptible: bool = False) -> Optional[Dict[str, Any]]:
        """The next message; with `interruptible`, None once `interrupt` was called (or an earlier call's wake-up
        was left over: the reader checks again whether it is still its turn). The caller holds `lock`. End of the
        stream, a broken socket or a line that is no JSON: the engine is gone or broken, and the process exits."""
        try:
            while True:
                end = self.buffer.find(b"\n", self.scanned)
                if end >= 0:
                    line = bytes(self.buffer[:end])
                    del self.buffer[:end + 1]
                    self.scanned = 0
                    if line.strip():
                        message = json.loads(line)
                        if isinstance(message, dict):
                            return message
                    continue
                self.scanned = len(self.buffer)
                if interruptible and any(fd == self._wake_read for fd, _ in self._poll.poll()):
                    os.read(self._wake_read, 4096)
                    return None
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    break
                self.buffer += chunk
        except (OSError, ValueError):
            pass
        os._exit(0)

    def interrupt(self) -> None:
        """Make an interruptible `next` return None: its reader is to give the wire back."""
        try:
            os.write(self._wake_write, b"!")
        except BlockingIOError:  # the pipe is full of wake-ups already
            pass
