"""The @operator decorator: the one place an operator's interface spec is written.

    @operator(name="denoise", version="1.0.0", description="...",
              inputs={"image": {"type": "image2d"}}, outputs={"image": {"type": "image2d"}},
              params={"h": {"type": "number", "default": 0.1}})
    def denoise(inputs, params, ctx):
        return {"image": ...}

or on a class (constructed once per operator process, so warm state lives on the instance), with
`process(self, inputs, params, ctx)` and optional `setup(self)` / `teardown(self)`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

PORT_TYPES = ("ndarray", "image2d", "volume3d", "stack", "spectrum", "table", "scalar", "json")
ARRAY_RANK = {"image2d": 2, "volume3d": 3, "stack": 3, "spectrum": 1}
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_PORT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass
class Instance:
    process: Callable[..., Any]
    teardown: Callable[[], None]


@dataclass
class Definition:
    spec: Dict[str, Any]
    instantiate: Callable[[], Instance]


_registry: Dict[str, Definition] = {}


def defined_operators() -> List[Definition]:
    """Operators defined (decorated) so far in this process, in definition order."""
    return list(_registry.values())


def _ports(name: str, kind: str, ports: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Ports as spec objects; a bare type string is shorthand for {"type": ...}."""
    out: Dict[str, Any] = {}
    for port, value in (ports or {}).items():
        if not isinstance(port, str) or not _PORT.match(port):
            raise ValueError(f'@operator "{name}": {kind} port name {port!r} must match {_PORT.pattern}')
        spec = {"type": value} if isinstance(value, str) else dict(value)
        if spec.get("type") not in PORT_TYPES:
            raise ValueError(f'@operator "{name}": {kind} port "{port}" has type {spec.get("type")!r}; expected one of {", ".join(PORT_TYPES)}')
        out[port] = spec
    return out


def operator(*, name: str, version: str, description: str, inputs: Optional[Dict[str, Any]] = None,
             outputs: Optional[Dict[str, Any]] = None, params: Optional[Dict[str, Any]] = None,
             resources: Optional[Dict[str, Any]] = None, display: Optional[Dict[str, Any]] = None) -> Callable[[Any], Any]:
    """Register a function or class as an operator. The engine validates the full spec (sdk/PROTOCOL.md §7);
    the checks here catch the common mistakes where they are made."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"@operator: name {name!r} must match {_NAME.pattern}")
    spec: Dict[str, Any] = {"name": name, "version": version, "description": description}
    if inputs:
        spec["inputs"] = _ports(name, "input", inputs)
    spec["outputs"] = _ports(name, "output", outputs)
    for key, value in (("params", params), ("resources", resources), ("display", display)):
        if value:
            spec[key] = value

    def decorate(target: Any) -> Any:
        if name in _registry:
            raise ValueError(f'@operator: an operator named "{name}" is already defined in this process')
        if isinstance(target, type):
            if not callable(getattr(target, "process", None)):
                raise TypeError(f'@operator "{name}": class {target.__name__} has no process() method')

            def instantiate() -> Instance:
                instance = target()
                setup = getattr(instance, "setup", None)
                if setup:
                    setup()
                return Instance(instance.process, getattr(instance, "teardown", None) or (lambda: None))
        elif callable(target):
            def instantiate() -> Instance:
                return Instance(target, lambda: None)
        else:
            raise TypeError(f'@operator "{name}": decorate a function or a class, not {type(target).__name__}')
        _registry[name] = Definition(spec, instantiate)
        return target

    return decorate
