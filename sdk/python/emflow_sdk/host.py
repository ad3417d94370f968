"""The operator side of the protocol (sdk/PROTOCOL.md): connect to the engine, say hello, then serve process/next
calls by decoding input slots (zero-copy numpy views), calling the operator, and encoding its outputs into the
granted slots.

Calls are served one at a time on the main thread, which reads the socket itself while it waits for one; once the
operator's code has run for LISTEN_AFTER, a listener thread reads it, so that `release`, `cancel` and `shutdown` are
heard meanwhile (wire.py).
"""
from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, Optional, Set

import numpy as np

from .arrow_ipc import FrameError
from .codec import (TENSOR_BODY_OFFSET, _array_encoded_size, check_array, contiguous, decode_frame, encode_array_into, encode_json, encode_pyarrow_table,
                    encode_table, slot_bytes_for_array)
from .frames import DTYPES, Array, Json, Table
from .operator import ARRAY_RANK, Definition
from .slots import Slots
from .wire import Wire

PROTOCOL_VERSION = 1
OPERATOR_FAILED, BAD_FRAME, METHOD_NOT_FOUND = -32000, -32001, -32601
PAGE = 4096
CANCELLED = {"outputs": {}, "more": False}
LISTEN_AFTER = 0.02  # seconds of the operator's code after which the listener thread reads the wire
QUIET = 1.0  # seconds without a call after which the listener sleeps until the next one
log = logging.getLogger("emflow_sdk")


class RpcError(Exception):
    """An error answer from the engine (e.g. `allocate` refused)."""


@dataclass
class Call:
    """One call (a `process` and the `next`s that continue it)."""
    frame: int
    grants: Dict[str, Dict[str, Any]]
    allocated: Set[str] = field(default_factory=set)
    revoked: bool = False  # cancelled or superseded: its code may still run but no longer writes into slots


class Context:
    """What an operator's code sees besides its inputs and params."""

    def __init__(self, host: "Host", call: Call) -> None:
        self._host = host
        self._call = call

    @property
    def node(self) -> str:
        """The pipeline node this operator process serves."""
        return self._host.node

    @property
    def frame(self) -> int:
        """Index of the output frame being produced."""
        return self._call.frame

    def alloc(self, port: str, dtype: Any, shape: Any, meta: Optional[Dict[str, Any]] = None) -> Array:
        """An output array written straight into shared memory: fill it and return it on `port`.
        Falls back to ordinary memory (and one copy) when no slot of that size can be granted."""
        return self._host.alloc(self._call, port, np.dtype(dtype), tuple(int(n) for n in shape), meta or {})


class Host:
    def __init__(self, definition: Definition, socket_path: str, session_dir: str, token: str) -> None:
        self.definition = definition
        self.spec = definition.spec
        self.token = token
        self.slots = Slots(session_dir)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(socket_path)
        self.wire = Wire(self.sock)
        self.wire.lock.acquire()  # the main thread's, but while the operator's code runs
        self.code_running = False
        self.code_since = 0.0  # when the operator's code last started (time.monotonic)
        self.listener_reading = False
        # The listener sleeps on this lock after a quiet second, and the next call wakes it; while calls come it
        # looks every LISTEN_AFTER instead: being woken at every call would cost each frame a thread wake-up.
        self.listener_asleep = True
        self.wake_listener = threading.Lock()
        self.wake_listener.acquire()
        self.send_lock = threading.Lock()
        self.state_lock = threading.Lock()
        self.requests: "queue.Queue[Dict[str, Any]]" = queue.Queue()  # calls the listener read
        self.pending: Dict[int, "queue.Queue[Dict[str, Any]]"] = {}
        self.last_id = 0
        self.node = ""
        self.current: Optional[Call] = None  # the call the main thread is serving
        self.queued: Any = None  # the id of a process/next request read but not yet taken up by the main thread
        self.cancelled: Any = None  # the id of a request cancelled before the main thread took it up
        self.active: Optional[tuple] = None  # (iterator, inherited meta, call) of a generator being pulled
        self.instance = definition.instantiate()

    # ---- the wire ----

    def send(self, message: Dict[str, Any]) -> None:
        data = json.dumps({"jsonrpc": "2.0", **message}, separators=(",", ":")).encode() + b"\n"
        with self.send_lock:
            self.sock.sendall(data)

    def request(self, method: str, params: Dict[str, Any]) -> Any:
        with self.state_lock:
            self.last_id += 1
            mid = self.last_id
            answer: "queue.Queue[Dict[str, Any]]" = queue.Queue(1)
            self.pending[mid] = answer
        self.send({"id": mid, "method": method, "params": params})
        # the answer is read here when the main thread holds the wire or can take it; else the listener reads it
        if not self.code_running:
            self.read_until(answer)
        elif self.wire.lock.acquire(blocking=False):
            try:
                self.read_until(answer)
            finally:
                self.wire.lock.release()
        message = answer.get()
        if "error" in message:
            raise RpcError(message["error"].get("message", "error"))
        return message.get("result")

    def read_until(self, answer: "queue.Queue[Dict[str, Any]]") -> None:
        while answer.empty():
            self.dispatch(self.wire.next())

    def listen(self) -> None:
        """The listener thread: reads the wire once the operator's code has run for LISTEN_AFTER."""
        try:
            while True:
                self.wake_listener.acquire()
                while True:
                    time.sleep(LISTEN_AFTER)
                    now = time.monotonic()
                    if self.code_running and now - self.code_since >= LISTEN_AFTER:
                        self.read_while_code_runs()
                    elif not self.code_running and now - self.code_since >= QUIET:
                        self.listener_asleep = True
                        if not self.code_running:  # else a call started meanwhile, and may not have seen it asleep
                            break
                        self.listener_asleep = False
        except BaseException:  # noqa: B902 -- a message this code cannot handle: the engine is broken
            log.exception("the listener thread failed")
        finally:
            # without it, cancel and shutdown would go unheard during long calls: better gone than deaf
            os._exit(0)

    def read_while_code_runs(self) -> None:
        # not waited for: the main thread holds the wire when the call has just ended (or reads an answer itself)
        if not self.wire.lock.acquire(blocking=False):
            return
        try:
            # said before code_running is looked at: the main thread, done, then knows to interrupt the read
            self.listener_reading = True
            while self.code_running:
                message = self.wire.next(interruptible=True)
                if message is not None:
                    self.dispatch(message)
        finally:
            self.listener_reading = False
            self.wire.lock.release()

    @contextmanager
    def operator_code(self) -> Iterator[None]:
        """Lend the wire to the listener thread while the operator's code runs; take it back after."""
        self.code_since = time.monotonic()
        self.code_running = True
        self.wire.lock.release()
        if self.listener_asleep and self.wake_listener.locked():
            self.listener_asleep = False
            self.wake_listener.release()
        try:
            yield
        finally:
            self.code_running = False
            if self.listener_reading:
                self.wire.interrupt()
            self.wire.lock.acquire()

    def next_call(self) -> Dict[str, Any]:
        """The next process or next request: one the listener read, or the next one on the wire."""
        while True:
            try:
                return self.requests.get_nowait()
            except queue.Empty:
                pass
            message = self.wire.next()
            if message.get("method") in ("process", "next"):
                return message
            self.dispatch(message)

    def dispatch(self, message: Dict[str, Any]) -> None:
        method = message.get("method")
        if method is None:
            waiter = self.pending.pop(message.get("id"), None) if isinstance(message.get("id"), int) else None
            if waiter:
                waiter.put(message)
        elif method == "release":
            for name in message.get("params", {}).get("slots", []):
                self.slots.drop(name)
        elif method == "cancel":
            self.cancel()
        elif method == "shutdown":
            self.shutdown(message.get("id"))
        elif method in ("process", "next"):
            with self.state_lock:
                self.queued = message.get("id")
            self.requests.put(message)
        elif "id" in message:
            self.send({"id": message["id"], "error": {"code": METHOD_NOT_FOUND, "message": f"unknown method {method}"}})

    def cancel(self) -> None:
        """The call is revoked, not answered here: the operator's code cannot be stopped, and until it returns the
        process cannot serve another call. The main thread answers {"outputs": {}, "more": false} when it returns;
        code that runs past the engine's cancelGraceMs gets the process killed and started again (sdk/PROTOCOL.md §4.7)."""
        with self.state_lock:
            if self.current is not None:
                self.current.revoked = True
            elif self.queued is not None:  # read but not started: answered without running the code
                self.cancelled = self.queued

    def shutdown(self, mid: Any) -> None:
        try:
            with self.state_lock:
                # code_running: also a generator's cleanup after the answer
                idle = self.current is None and self.queued is None and not self.code_running
            if idle:  # the main thread is waiting for requests: teardown cannot race the operator's code
                try:
                    self.instance.teardown()
                except Exception:
                    log.exception("teardown failed")
            self.send({"id": mid, "result": None})
            self.slots.clear()
            self.sock.close()
        finally:
            os._exit(0)

    # ---- calls ----

    def serve(self) -> None:
        threading.Thread(target=self.listen, name="emflow-listener", daemon=True).start()
        hello = self.request("hello", {"protocol": PROTOCOL_VERSION, "token": self.token, "pid": os.getpid(),
                                       "operator": self.spec["name"], "version": self.spec["version"]})
        self.node = hello["node"]
        while True:
            message = self.next_call()
            params = message.get("params") or {}
            with self.state_lock:
                stale = None
                if message["method"] == "process":
                    stale = self.abandon_active()
                    call: Optional[Call] = Call(params["frame"], params["grants"])
                elif self.active is None:
                    call = None
                else:
                    call = self.active[2]
                    call.frame, call.grants, call.allocated = params["frame"], params["grants"], set()
                if call is not None and self.cancelled == message["id"]:
                    call.revoked = True
                self.current, self.queued = call, None
            # the answer is sent before the wire is taken back: taking it back waits for the listener thread
            with self.operator_code():
                self.close_generator(stale)
                stale = None
                try:
                    if call is None or call.revoked:
                        answer: Dict[str, Any] = {"result": CANCELLED}  # also the answer to a `next` with no call going on
                    elif message["method"] == "process":
                        answer = {"result": self.process(call, params)}
                    else:
                        answer = {"result": self.pull()}
                except Exception as error:  # the operator's own failure: reported, and the process keeps serving
                    with self.state_lock:
                        # a generator that raised is finished; one whose output failed is closed. Not abandon_active:
                        # that revokes the call, and a revoked call's error would be answered as a cancel
                        stale = self.drop_active()
                    answer = {"error": {"code": BAD_FRAME if isinstance(error, FrameError) else OPERATOR_FAILED,
                                        "message": str(error).strip() or type(error).__name__,
                                        "data": {"name": type(error).__name__, "stack": traceback.format_exc()}}}
                with self.state_lock:
                    self.current = None
                    if call is not None and call.revoked:
                        answer = {"result": CANCELLED}
                        if self.active is not None and self.active[2] is call:  # the engine will not continue it
                            stale = self.drop_active()
                self.send({"id": message["id"], **answer})
                self.close_generator(stale)

    def abandon_active(self) -> Optional[Iterator]:
        """Let go of a generator left unfinished, so that its code no longer writes into slots (called with state_lock
        held); returns it, to be closed with close_generator once the lock is released."""
        if self.active:
            self.active[2].revoked = True
        return self.drop_active()

    def drop_active(self) -> Optional[Iterator]:
        """Detach the generator being pulled, if any (called with state_lock held); close it with close_generator."""
        stale, self.active = self.active, None
        return stale[0] if stale else None

    @staticmethod
    def close_generator(generator: Optional[Iterator]) -> None:
        """Run a detached generator's cleanup (finally, with) outside state_lock: the listener thread must still hear
        cancel and shutdown while it runs."""
        if generator is None:
            return
        try:
            generator.close()  # type: ignore[attr-defined]
        except Exception:
            log.exception("closing an abandoned generator failed")

    def process(self, call: Call, params: Dict[str, Any]) -> Dict[str, Any]:
        inputs: Dict[str, Any] = {}
        for port, ref in params["inputs"].items():
            view = self.slots.bytes(ref["slot"], ref["size"], False)
            try:
                inputs[port] = decode_frame(memoryview(view)[ref["offset"]:ref["offset"] + ref["length"]])
            except FrameError as error:
                raise FrameError(f'{self.spec["name"]}: input "{port}": {error}') from None
        # outputs inherit the metadata of the first input port (in spec order) that has a frame
        first = next((port for port in self.spec.get("inputs", {}) if port in inputs), None)
        inherited = dict(inputs[first].meta) if first else {}
        result = self.instance.process(inputs, params["params"], Context(self, call))
        if call.revoked:
            return CANCELLED
        if isinstance(result, Iterator):
            with self.state_lock:
                self.active = (result, inherited, call)
            return self.pull()
        return {"outputs": self.write_outputs(call, result, inherited), "more": False}

    def pull(self) -> Dict[str, Any]:
        iterator, inherited, call = self.active  # type: ignore[misc]
        try:
            step = next(iterator)
        except StopIteration:
            with self.state_lock:
                self.active = None
            return {"outputs": {}, "more": False}
        if call.revoked:
            return CANCELLED
        return {"outputs": self.write_outputs(call, step, inherited), "more": True}

    # ---- slots ----

    def grow_grant(self, grant: Dict[str, Any], needed: int) -> bool:
        """Grow a granted slot file (up to the engine's limit) so that a frame of `needed` bytes fits in place."""
        limit = grant.get("limit")
        if limit is None or needed > limit:
            return False
        size = min(limit, -(-needed // PAGE) * PAGE)
        self.slots.grow(grant["slot"], size)
        grant["size"] = size
        return True

    def alloc(self, call: Call, port: str, dtype: np.dtype, shape: tuple, meta: Dict[str, Any]) -> Array:
        name = self.spec["name"]
        if port not in self.spec["outputs"]:
            raise ValueError(f'ctx.alloc: "{port}" is not an output port of {name} (ports: {", ".join(self.spec["outputs"])})')
        if dtype.name not in DTYPES:
            raise ValueError(f"ctx.alloc: dtype {dtype} is not an emflow dtype ({', '.join(DTYPES)})")
        if port in call.allocated:
            raise ValueError(f'ctx.alloc: output "{port}" was already allocated for frame {call.frame}')
        call.allocated.add(port)
        grant = call.grants.get(port)
        needed = slot_bytes_for_array(dtype, shape)
        if grant and grant.get("limit") is not None and needed > grant["limit"] and not call.revoked:
            raise ValueError(f'ctx.alloc: output "{port}" ({dtype} {list(shape)}) needs {needed} bytes, more than the {grant["limit"]} bytes '
                             "the engine allows for one frame (its per-frame limit or the free shared memory)")
        if call.revoked or not grant or (needed > grant["size"] and not self.grow_grant(grant, needed)):
            return Array(np.zeros(shape, dtype), meta)
        view = self.slots.bytes(grant["slot"], grant["size"], True)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        return Array(view[TENSOR_BODY_OFFSET:TENSOR_BODY_OFFSET + nbytes].view(dtype).reshape(shape), meta)

    def place(self, call: Call, port: str, size_needed: Callable[[], int], write: Any) -> Optional[Dict[str, Any]]:
        """Write into the port's grant, growing or allocating a bigger slot when it does not fit (only then is the
        size needed worked out: for an array that is its header built once more)."""
        grant = call.grants.get(port)
        placed = write(self.slots.bytes(grant["slot"], grant["size"], True)) if grant else None
        if placed is None:
            needed = size_needed()
            if not grant or not self.grow_grant(grant, needed):
                args = {"port": port, "bytes": needed, **({"slot": grant["slot"]} if grant else {})}
                grant = self.request("allocate", args)
                call.grants[port] = grant
            if call.revoked:  # cancelled meanwhile: the grant is no longer ours to write
                return None
            placed = write(self.slots.bytes(grant["slot"], grant["size"], True))
            if placed is None:
                raise RuntimeError(f'{self.spec["name"]}: granted slot {grant["slot"]} ({grant["size"]} bytes) is too small for output "{port}"')
        return {"slot": grant["slot"], "size": grant["size"], "offset": placed[0], "length": placed[1]}

    def write_outputs(self, call: Call, outputs: Any, inherited: Dict[str, Any]) -> Dict[str, Any]:
        name = self.spec["name"]
        if not isinstance(outputs, dict):
            raise TypeError(f"{name}: process() must return a dict of output frames keyed by port, got {type(outputs).__name__}")
        refs: Dict[str, Any] = {}
        for port, value in outputs.items():
            if value is None or call.revoked:
                continue
            spec = self.spec["outputs"].get(port) if isinstance(port, str) else None
            if spec is None:
                raise TypeError(f'{name}: returned unknown output port "{port}" (ports: {", ".join(self.spec["outputs"])})')
            port_type = spec["type"]
            own = dict(getattr(value, "meta", None) or {})
            meta = {**inherited, **own, "frame": own.get("frame", call.frame)}
            ref = self.encode_output(call, port, port_type, value, meta)
            if ref is None:
                return {}
            refs[port] = ref
        return refs

    def encode_output(self, call: Call, port: str, port_type: str, value: Any, meta: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        what = f'{self.spec["name"]}: output "{port}"'
        if port_type in ARRAY_RANK or port_type == "ndarray":
            if not isinstance(value, np.ndarray):
                raise TypeError(f"{what} ({port_type}) must be a numpy array, got {type(value).__name__}")
            rank = ARRAY_RANK.get(port_type)
            if rank is not None and value.ndim != rank:
                raise TypeError(f"{what} expected {port_type} (a {rank}-D array), got a {value.ndim}-D array")
            check_array(value, what)
            array = contiguous(value)

            def write_array(target: np.ndarray) -> Any:
                return encode_array_into(array, meta, target)

            grant = call.grants.get(port)
            elsewhere = self.slots.writable_holding(array, grant["slot"] if grant else None)
            if elsewhere is not None:
                # e.g. one ctx.alloc before a generator's loop: that slot went to the consumers with the frame it was
                # returned with, and writing the next frame into it would change a frame already sent
                raise ValueError(f"{what}: the array lies in slot {elsewhere}, which is not this output's slot for this frame "
                                 "(an earlier frame's, or another port's): call ctx.alloc for each frame and port, after each yield")
            if grant and grant["slot"] in self.slots.maps and np.may_share_memory(array, self.slots.maps[grant["slot"]][3]):
                # the slot is mapped again at its new size below: values that alloc put into it move to the heap first
                fits = encode_array_into(array, meta, self.slots.maps[grant["slot"]][3])
                if fits is not None:
                    return {"slot": grant["slot"], "size": grant["size"], "offset": fits[0], "length": fits[1]}
                array = array.copy()
            return self.place(call, port, lambda: _array_encoded_size(array, meta), write_array)
        if port_type in ("json", "scalar"):
            inner = value.value if isinstance(value, Json) else value
            # numpy scalars, and 0-D arrays: what a reduction of an input (an Array, a numpy subclass) returns
            if isinstance(inner, np.generic) or (isinstance(inner, np.ndarray) and inner.ndim == 0):
                inner = inner.item()
            if port_type == "scalar" and (isinstance(inner, bool) or not isinstance(inner, (int, float))):
                raise TypeError(f"{what} (scalar) must be a number, got {type(inner).__name__}")
            data = encode_json(inner, meta)
        elif port_type == "table":
            if isinstance(value, Table):
                data = encode_table(value, meta)
            elif type(value).__module__.startswith("pyarrow"):
                data = encode_pyarrow_table(value, meta)
            else:
                raise TypeError(f"{what} (table) must be an emflow_sdk.Table or a pyarrow.Table, got {type(value).__name__}")
        else:
            raise TypeError(f"{what}: unknown port type {port_type}")

        def write_bytes(target: np.ndarray) -> Any:
            if len(data) > len(target):
                return None
            target[:len(data)] = np.frombuffer(data, np.uint8)
            return 0, len(data)

        return self.place(call, port, lambda: len(data), write_bytes)


def serve_operator(definition: Definition, socket_path: str, session_dir: str, token: str) -> None:
    """Serve one operator until the engine says shutdown or the connection closes (both exit the process)."""
    Host(definition, socket_path, session_dir, token).serve()
