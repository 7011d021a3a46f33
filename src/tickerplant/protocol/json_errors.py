"""Reading a client's JSON frame, and saying why it is not JSON the way Binance does.

Binance's servers parse with Rust's serde_json, so the market streams' code-3 reply reads
``Invalid JSON: <what> at line L column C`` (spec §2.7, §3.3), the position computed from
the frame received. ``parse_json`` never raises anything but ``NotJson``: msgspec's own
errors, a nesting too deep for the decoder (``RecursionError``) and a string holding
invalid UTF-8 (``UnicodeDecodeError``, or from msgspec 0.23 its own "Invalid UTF-8" error)
all become one, so no frame a client can send escapes as an unhandled exception.

serde_json's wording is kept where we know it: ``expected value``, ``trailing
characters``, ``EOF while parsing a value``, ``recursion limit exceeded`` (serde_json
nests at most 128 deep: its depth counter runs out at the 128th opening bracket, which is
where it reports), ``invalid unicode code point`` and ``number out of range``. Where
msgspec and serde_json draw lines apart, msgspec's line holds: a frame nested 129 to
about a thousand deep is read (serde_json refuses it), and a position is msgspec's (one
column past serde_json's for trailing characters and an early end).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

__all__ = ["NotJson", "parse_json", "position"]

_SERDE_DEPTH = 128  # serde_json's recursion limit
_MSGSPEC_ERROR = re.compile(r"JSON is malformed: (?P<what>.*) \(byte (?P<byte>\d+)\)")
_FLOAT = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?[eE][+-]?[0-9]+|-?[0-9]+\.[0-9]+")
_decode = msgspec.json.decode
_TOO_DEEP = "nested too deep"
_NOT_UTF8 = "a string is not UTF-8"


class NotJson(ValueError):
    """The frame is not JSON. ``what`` is serde_json's wording with its position, worked
    out only when asked (the WebSocket API's -1000 reply never asks), so a flood of bad
    frames costs no more than their decoding."""

    def __init__(self, frame: bytes | str, why: str) -> None:
        super().__init__(why)
        self.frame = frame
        self.why = why  # msgspec's message, or _TOO_DEEP / _NOT_UTF8

    @property
    def what(self) -> str:
        data = _bytes(self.frame)
        if self.why == _TOO_DEEP:
            return _too_deep(data)
        if self.why == _NOT_UTF8:
            return _bad_unicode(data)
        return _why(data, self.why)


def parse_json(frame: bytes | str) -> Any:
    """The frame's JSON value; ``NotJson`` saying why not."""
    try:
        return _decode(frame)
    except msgspec.DecodeError as exc:
        why = str(exc)  # (msgspec from 0.23 says "Invalid UTF-8 …" where it raised UnicodeDecodeError)
        raise NotJson(frame, _NOT_UTF8 if why.startswith("Invalid UTF-8") else why) from None
    except RecursionError:
        raise NotJson(frame, _TOO_DEEP) from None
    except UnicodeDecodeError:
        raise NotJson(frame, _NOT_UTF8) from None


def position(text: str, offset: int) -> str:
    """serde_json's ``line L column C`` for a character offset into the frame."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line} column {column}"


def _bytes(frame: bytes | str) -> bytes:
    return frame.encode("utf-8", errors="surrogatepass") if isinstance(frame, str) else frame


def _at_byte(data: bytes, offset: int) -> str:
    """The position of the character at a byte offset (serde_json reports the character
    it has just read, columns from 1)."""
    text = data[:offset].decode("utf-8", errors="replace")
    return position(text, len(text))


def _why(data: bytes, message: str) -> str:
    text = data.decode("utf-8", errors="replace")
    found = _MSGSPEC_ERROR.search(message)
    if found is not None:
        serde_what = "trailing characters" if found["what"].startswith("trailing") else "expected value"
        return f"{serde_what} at {_at_byte(data, int(found['byte']))}"
    if message.startswith("Number out of range"):
        return _out_of_range(data)
    # msgspec says "Input data was truncated" without a position: serde_json's EOF.
    return f"EOF while parsing a value at {position(text, len(text.rstrip()))}"


def _out_of_range(data: bytes) -> str:
    """serde_json reports the end of the first number too large for a float."""
    for found in _FLOAT.finditer(data):
        if abs(float(found[0])) == float("inf"):
            return f"number out of range at {_at_byte(data, found.end() - 1)}"  # its last digit
    return f"number out of range at {_at_byte(data, len(data))}"


def _too_deep(data: bytes) -> str:
    depth, in_string, escaped = 0, False, False
    for offset, byte in enumerate(data):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            if depth == _SERDE_DEPTH:
                return f"recursion limit exceeded at {_at_byte(data, offset)}"
        elif byte in b"]}":
            depth -= 1
    return f"recursion limit exceeded at {_at_byte(data, len(data))}"


def _bad_unicode(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid unicode code point at {_at_byte(data, exc.start)}"
    return f"invalid unicode code point at {_at_byte(data, len(data))}"
