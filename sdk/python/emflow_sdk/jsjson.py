"""JSON text exactly as JavaScript's JSON.stringify writes it, so that frame metadata and JSON frames have the
same bytes whichever SDK wrote them (Python's json writes 2.0, 1e-05 and NaN where JavaScript writes 2,
0.00001 and null)."""
from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any


def _number(x: float) -> str:
    if not math.isfinite(x):
        return "null"
    if x == 0:
        return "0"
    sign, digits_tuple, exponent = Decimal(repr(x)).as_tuple()
    digits = "".join(map(str, digits_tuple)).rstrip("0") or "0"
    k = len(digits)
    n = len(digits_tuple) + int(exponent)  # the decimal point sits after n digits
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return ("-" if sign else "") + text


def dumps(value: Any) -> str:
    """JSON text of `value` (dict, list, tuple, str, int, float, bool, None, numpy scalars and arrays)."""
    if value is None or value is True or value is False:
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return "{" + ",".join(dumps(str(k)) + ":" + dumps(v) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if tolist is not None:
        return dumps(tolist())
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
