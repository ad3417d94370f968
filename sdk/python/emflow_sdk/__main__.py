"""Entry point of a Python operator process (the process runtime runs it; container images use it as ENTRYPOINT):
    python3 -m emflow_sdk SCRIPT [--operator NAME]     serve, with EMFLOW_SOCKET, EMFLOW_SESSION_DIR, EMFLOW_TOKEN set
    python3 -m emflow_sdk SCRIPT --describe            print the specs of the script's operators as JSON
SCRIPT and NAME may also come from EMFLOW_MODULE and EMFLOW_OPERATOR.
Exit codes as the TypeScript host: 2 usage or a missing variable, 3 the script cannot be loaded or the operator is ambiguous.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
import traceback
from typing import NoReturn

from .host import serve_operator
from .operator import defined_operators


def fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"emflow-operator: {message}\n")
    sys.exit(code)


def load(script: str) -> None:
    path = os.path.abspath(script)
    # modules beside the script import as they would when it runs on its own
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("emflow_operator_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_"), path)
    if spec is None or spec.loader is None:
        fail(f"cannot load operator script {script}: not a Python file", 3)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        # the engine shows the first 6 lines of stderr: the error first, then the script's own frames (not importlib's)
        frames = [f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith("<frozen ") and f.filename != __file__]
        exception = "".join(traceback.format_exception_only(type(error), error)).rstrip()
        fail(f"cannot load operator script {script}: {exception.splitlines()[-1]}\nTraceback (most recent call last):\n"
             f"{''.join(traceback.format_list(frames))}{exception}", 3)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m emflow_sdk", description="serve or describe the emflow operators of a Python script")
    parser.add_argument("script", nargs="?", default=os.environ.get("EMFLOW_MODULE"))
    parser.add_argument("--operator", default=os.environ.get("EMFLOW_OPERATOR"))
    parser.add_argument("--describe", action="store_true")
    args = parser.parse_args()
    if not args.script:
        fail("usage: python3 -m emflow_sdk SCRIPT [--operator NAME] [--describe]", 2)
    if args.describe:
        # stdout must be the JSON of the specs alone (sdk/PROTOCOL.md §1.2): what the script prints while it is
        # imported, from Python or from C, goes to stderr
        sys.stdout.flush()
        specs_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
        os.dup2(2, 1)
        load(args.script)
        specs_out.write(json.dumps([d.spec for d in defined_operators()]) + "\n")
        specs_out.close()
        return
    load(args.script)
    definitions = defined_operators()
    chosen = [d for d in definitions if d.spec["name"] == args.operator] if args.operator else definitions
    if len(chosen) != 1:
        names = ", ".join(d.spec["name"] for d in definitions) or "none"
        fail(f'script defines no operator "{args.operator}" (defined: {names})' if args.operator
             else f"script defines {len(definitions)} operators ({names}): pass --operator NAME", 3)
    env = {}
    for name in ("EMFLOW_SOCKET", "EMFLOW_SESSION_DIR", "EMFLOW_TOKEN"):
        env[name] = os.environ.get(name) or fail(f"environment variable {name} is not set", 2)
    # log records reach the engine's log events through stderr
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    serve_operator(chosen[0], env["EMFLOW_SOCKET"], env["EMFLOW_SESSION_DIR"], env["EMFLOW_TOKEN"])


if __name__ == "__main__":
    main()
