"""JSON text exactly as JavaScript's JSON.stringify writes it, so that frame metadata and JSON frames have the
same bytes whichever SDK wrote them (Python's json writes 2.0, 1e-05 and NaN where JavaScript writes 2,
0.00001 and null)."""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

# JavaScript strings are UTF-16: JSON.stringify writes a surrogate pair as its character and escapes a lone surrogate
_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")
# keys of a JavaScript object that are array indices come first, in ascending order (ECMAScript OrdinaryOwnPropertyKeys)
_INDEX = re.compile(r"^(?:0|[1-9][0-9]*)$")
_MAX_SAFE_INTEGER = 2 ** 53 - 1


def _number(x: float) -> str:
    if not math.isfinite(x):
        return "null"
    if x == 0:
        return "0"
    # float.__repr__: numpy 2 writes repr(np.float64(0.1)) as "np.float64(0.1)"
    sign, digits_tuple, exponent = Decimal(float.__repr__(float(x))).as_tuple()
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


def _string(text: str) -> str:
    def surrogate(match: "re.Match[str]") -> str:
        pair = match.group()
        return pair.encode("utf-16-le", "surrogatepass").decode("utf-16-le") if len(pair) == 2 else f"\\u{ord(pair):04x}"

    return _SURROGATES.sub(surrogate, json.dumps(text, ensure_ascii=False))


def _integer(n: int) -> str:
    if abs(n) <= _MAX_SAFE_INTEGER:
        return str(n)
    try:  # a JavaScript number holds the nearest double
        return _number(float(n))
    except OverflowError:
        return "null"


def _is_index(key: str) -> bool:
    return _INDEX.match(key) is not None and int(key) < 2 ** 32 - 1


def _key_order(items: Any) -> Any:
    keyed = [(str(k), v) for k, v in items]
    return sorted((kv for kv in keyed if _is_index(kv[0])), key=lambda kv: int(kv[0])) + [kv for kv in keyed if not _is_index(kv[0])]


def dumps(value: Any) -> str:
    """JSON text of `value` (dict, list, tuple, str, int, float, bool, None, numpy scalars and arrays)."""
    if value is None or value is True or value is False:
        return json.dumps(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return _integer(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return "{" + ",".join(_string(k) + ":" + dumps(v) for k, v in _key_order(value.items())) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if tolist is not None:
        return dumps(tolist())
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
