"""A control message read as Binance reads it: serde_json into a derived struct (spec §3.3).

The documented code-2 texts (``unknown variant `X`, expected one of …``, ``missing field
`method```, each ``at line L column C``) are serde's for a derived
``Request { method: Method, params: Option<Vec<Value>>, id: Option<Value> }`` whose
``Method`` is an enum of the five names. ``complaint`` says what that struct's
deserializer says of a frame that is JSON, in its words and at its position (a byte
index: ``json_errors.position``), or None when it reads it. Its rules, as serde's derive
and serde_json apply them:

- the members are read in the frame's order and the first problem is the one said;
- ``method`` is a string naming one of the five (else ``unknown variant `X`…`` after the
  string); any other value is ``expected value`` at the byte after its first;
- ``params`` is null or a sequence; anything else is ``invalid type: <it>, expected a
  sequence``, after a scalar, at a map's opening brace;
- ``id`` takes any value (its type is the protocol's rule: "request ID must be an unsigned
  integer");
- a field named twice is ``duplicate field `f``` after the second name and the whitespace
  that follows it;
- other members are ignored; without ``method``, ``missing field `method``` after the
  closing brace;
- a frame that is no object is ``invalid type: <it>, expected struct Request`` after it.

``<it>`` is serde's ``Unexpected`` as serde_json shows it: ``null``, ``boolean `true```,
``integer `42```, ``floating point `1.5``` (Rust's shortest form, no exponent), ``string
"s"`` (Rust's debug quoting), ``map``.

serde's derive also reads a struct from a sequence, ``[method, params, id]``, and an enum
from a map, ``{"SUBSCRIBE":null}``. Binance's control messages are objects with a string
method; tickerplant refuses those two forms rather than be more forgiving than a server it
has not seen take them: a sequence's errors are serde's (its elements read as the three
fields), one serde would read is ``invalid type: sequence, expected struct Request`` after
its bracket, what serde says of a struct that takes no sequence; a map as the method is
read for serde's errors (empty, or its key no method's name) and is otherwise ``expected
value`` at its brace, as any method that is not a string.

Most frames need no reading: when their decoded object has a known method, ``params``
null or a sequence, and none of the three names can appear twice (each written once, no
escapes), serde reads them as msgspec did. Otherwise the top-level members are walked,
each value skipped by the standard library's C scanner; an object over 64 KiB is judged
by the same rules from its members decoded at once, its problem said at its end (a real
control message is a few hundred bytes; walking a MiB of members would take the loop
for half a second).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, NamedTuple

from tickerplant.protocol.json_errors import position

__all__ = ["METHODS", "Complaint", "complaint"]

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
_METHOD_LIST = ", ".join(f"`{name}`" for name in METHODS)
_FIELDS = ("method", "params", "id")
_FIELD_NAME = re.compile(rb'"(?:method|params|id)"')
_WHITESPACE = re.compile(r"[ \n\t\r]*")
_scan = json.JSONDecoder().raw_decode  # the frame is JSON: msgspec has read it
# Walking the members costs a few microseconds each; a control message has three. A frame
# larger than this that needs reading (a field name written more than once, or a problem)
# is read from its members decoded at once, in C, and its problem said at its end.
_WALK_AT_MOST = 64 * 1024
_U64_MAX = 2**64 - 1
_I64_MIN = -(2**63)


class Complaint(NamedTuple):
    what: str  # serde's text with its position
    duplicate_id: bool  # the frame names `id` twice: no one id to echo


class _Refused(Exception):
    def __init__(self, what: str, at: int, *, duplicate_id: bool = False) -> None:
        super().__init__(what)
        self.what = what
        self.at = at  # the index into the text where serde reports it
        self.duplicate_id = duplicate_id


def complaint(data: bytes, request: Any) -> Complaint | None:
    """serde's complaint about ``data`` (JSON, decoded as ``request``) read as the
    ``Request`` struct; None when it reads it."""
    if _plainly_read(data, request):
        return None
    text = data.decode("utf-8", errors="replace")
    try:
        if len(data) > _WALK_AT_MOST and type(request) is dict:
            _read_members(text)
        else:
            _read(text)
    except _Refused as refused:
        at = len(text[: refused.at].encode("utf-8", errors="surrogatepass"))
        return Complaint(f"{refused.what} at {position(data, at)}", refused.duplicate_id)
    except (RecursionError, ValueError, IndexError):  # past the C scanner's depth: msgspec's reading holds
        return None
    return None


def _plainly_read(data: bytes, request: Any) -> bool:
    if type(request) is not dict or request.get("method") not in METHODS:
        return False
    if request.get("params") is not None and type(request["params"]) is not list:
        return False
    named = sum(field in request for field in _FIELDS)
    return b"\\" not in data and len(_FIELD_NAME.findall(data)) <= named


def _skip(text: str, at: int) -> int:
    return _WHITESPACE.match(text, at).end()  # type: ignore[union-attr]


def _read(text: str) -> None:
    start = _skip(text, 0)
    if text[start] == "{":
        _read_map(text, start + 1)
    elif text[start] == "[":
        _read_sequence(text, start + 1)
    else:
        value, end = _scan(text, start)
        raise _Refused(f"invalid type: {_unexpected(text, start, end, value)}, expected struct Request", end)


def _read_map(text: str, at: int) -> None:
    seen: set[str] = set()
    while True:
        at = _skip(text, at)
        if text[at] == "}":
            break
        if text[at] == ",":
            at = _skip(text, at + 1)
        key, at = _scan(text, at)
        if key in _FIELDS:
            if key in seen:  # said where serde_json's end_map left off: past the whitespace
                raise _Refused(f"duplicate field `{key}`", _skip(text, at), duplicate_id=key == "id")
            seen.add(key)
        start = _skip(text, _skip(text, at) + 1)  # past the colon
        value, at = _scan(text, start)
        _read_field(key, text, start, at, value)
    if "method" not in seen:
        raise _Refused("missing field `method`", at + 1)


class _Members(list[tuple[str, Any]]):
    """An object's members in the frame's order, duplicates kept."""


def _read_members(text: str) -> None:
    """``_read_map``'s rules over the members decoded at once, said at the frame's end."""
    seen: set[str] = set()
    end = len(text)
    for key, value in json.loads(text, object_pairs_hook=_Members):
        if key in _FIELDS:
            if key in seen:
                raise _Refused(f"duplicate field `{key}`", end, duplicate_id=key == "id")
            seen.add(key)
        if key == "method" and value not in METHODS:
            name = value[0][0] if type(value) is _Members and value else value
            if type(name) is str and name not in METHODS:
                raise _Refused(f"unknown variant `{name}`, expected one of {_METHOD_LIST}", end)
            raise _Refused("expected value", end)
        if key == "params" and value is not None and type(value) is not list:
            literal = json.dumps(value)
            shown = "map" if type(value) is _Members else _unexpected(literal, 0, len(literal), value)
            raise _Refused(f"invalid type: {shown}, expected a sequence", end)
    if "method" not in seen:
        raise _Refused("missing field `method`", end)


def _read_sequence(text: str, at: int) -> None:
    opened = at
    for count, field in enumerate(_FIELDS):
        at = _skip(text, at)
        if text[at] == "]":
            raise _Refused(f"invalid length {count}, expected struct Request with 3 elements", at + 1)
        if count:
            at = _skip(text, at + 1)  # past the comma
        value, end = _scan(text, at)
        _read_field(field, text, at, end, value)
        at = end
    at = _skip(text, at)
    if text[at] != "]":
        raise _Refused("trailing characters", _skip(text, at + 1) + 1)
    raise _Refused("invalid type: sequence, expected struct Request", opened)


def _read_field(name: str, text: str, start: int, end: int, value: Any) -> None:
    if name == "method":
        if type(value) is dict:  # serde_json's enum as a map: its name is the first key
            first = _skip(text, start + 1)
            if not value:
                raise _Refused("expected value", first + 1)
            key, after = _scan(text, first)
            if key not in METHODS:
                raise _Refused(f"unknown variant `{key}`, expected one of {_METHOD_LIST}", after)
        if type(value) is not str:  # what serde_json says of a value no enum is read from
            raise _Refused("expected value", start + 1)
        if value not in METHODS:
            raise _Refused(f"unknown variant `{value}`, expected one of {_METHOD_LIST}", end)
    elif name == "params" and value is not None and type(value) is not list:
        at = start if type(value) is dict else end  # a map is refused on its brace
        raise _Refused(f"invalid type: {_unexpected(text, start, end, value)}, expected a sequence", at)


def _unexpected(text: str, start: int, end: int, value: Any) -> str:
    """serde's ``Unexpected`` as serde_json displays it."""
    if value is None:
        return "null"
    if type(value) is bool:
        return f"boolean `{'true' if value else 'false'}`"
    if type(value) is str:
        return f"string {_rust_debug(value)}"
    if type(value) is dict:
        return "map"
    if type(value) is list:
        return "sequence"
    literal = text[start:end]
    if type(value) is int and value and (_I64_MIN <= value <= _U64_MAX):
        return f"integer `{value}`"
    if type(value) is int and value == 0 and not literal.startswith("-"):
        return "integer `0`"
    return f"floating point `{_rust_float(float(literal))}`"  # serde_json's -0 is a float


def _rust_float(number: float) -> str:
    """Rust's ``{}`` of an f64 (finite: serde_json refuses the rest): the shortest digits
    that read back, never an exponent."""
    return format(Decimal(repr(number)).normalize(), "f")


def _rust_debug(value: str) -> str:
    """Rust's ``{:?}`` of a str: quoted, ``\\"``, ``\\\\``, ``\\n``, ``\\r``, ``\\t``, ``\\0``,
    and ``\\u{…}`` for a character that does not print."""
    out = ['"']
    for char in value:
        if char in _RUST_ESCAPES:
            out.append(_RUST_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        else:
            out.append(f"\\u{{{ord(char):x}}}")
    out.append('"')
    return "".join(out)


_RUST_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
