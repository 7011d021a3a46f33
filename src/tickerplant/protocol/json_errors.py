"""Reading a client's JSON frame, and saying why it is not JSON the way Binance does.

Binance's servers parse with Rust's serde_json, so the market streams' code-3 reply reads
``Invalid JSON: <what> at line L column C`` (spec §2.7, §3.3), the position computed from
the frame received. ``parse_json`` never raises anything but ``NotJson``: msgspec's own
errors, a nesting too deep for the decoder (``RecursionError``) and a string holding
invalid UTF-8 (``UnicodeDecodeError``, or from msgspec 0.23 its own "Invalid UTF-8" error)
all become one, so no frame a client can send escapes as an unhandled exception.

msgspec decides whether a frame is JSON; why it is not is told by ``_Reader``, serde_json's
parser (its ``de.rs``, 1.0.87) restated: the same grammar checked in the same order, the
same words (``EOF while parsing a list``, ``expected `,` or `}```, ``trailing comma``…)
and the same positions. serde_json's position is a byte index: the line counts the
newlines before it and the column the bytes since the last one, so an error found where
the parser stands (``Deserializer::error``) is reported at the bytes it has consumed, and
one found on a byte it has only peeked at (``peek_error``) one byte further, capped at the
frame's end: ``{"method":`` ends ``column 10``, an empty frame ``column 0``, ``{"a":1,}``
is a ``trailing comma at line 1 column 8``. The reader runs only for a frame refused,
which closes the connection, and skips a string's plain bytes, whitespace and digits by
regular expression, so its cost is one pass over the frame.

Nesting is serde_json's line, not msgspec's: serde_json's ``Deserializer`` has 128 levels
(``remaining_depth``), one spent on each ``[`` or ``{`` before it is consumed, so a value
127 deep is read and the bracket that opens the 128th level is ``recursion limit
exceeded``, reported as a peeked byte is (``[`` × 129 at column 128), wherever it is: in
``params``, in a member no one reads (the frame is read as a ``Value``, as ``_Reader``
does: serde_json's ``ignore_value`` would skip a struct's unknown member uncounted), at
the top. msgspec reads deeper (about a thousand levels, as deep as Python's stack lets
it), so a frame it decoded with 128 opening brackets or more is walked, one level at a
time over the decoded containers, and refused if it is that deep; anything deeper than
msgspec reads is its ``RecursionError``, refused the same way. Where msgspec and
serde_json otherwise draw lines apart, msgspec's holds: a string of invalid UTF-8 is
reported at its first bad byte.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

__all__ = ["NotJson", "parse_json", "position"]

_SERDE_DEPTH = 128  # serde_json's recursion limit: the level its Deserializer refuses
_decode = msgspec.json.decode
_TOO_DEEP = "nested too deep"
_NOT_UTF8 = "a string is not UTF-8"
_WHITESPACE = re.compile(rb"[ \n\t\r]*")  # serde_json's parse_whitespace
_PLAIN = re.compile(rb'[^"\\\x00-\x1f]*')  # the bytes serde_json's ESCAPE table lets pass
_DIGITS = re.compile(rb"[0-9]*")
# A string (its end optional: a frame may stop inside one) or a bracket, in JSON msgspec read
_STRING_OR_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SIMPLE_ESCAPES = frozenset(b'"\\/bfnrt')
_I32_MAX = 2**31 - 1
# A control message is a few hundred bytes, 1024 stream names some 40 KiB. The reader walks
# a frame byte by byte where it cannot skip, about a second a MiB of small nested values,
# so a larger frame is told from msgspec's own finding: serde_json's word for it at the
# byte msgspec names.
_READ_AT_MOST = 64 * 1024
_MSGSPEC_ERROR = re.compile(r"JSON is malformed: (?P<what>.*) \(byte (?P<byte>\d+)\)")
_MSGSPEC_WORDS = {
    "trailing comma in object": "trailing comma",
    "trailing comma in array": "trailing comma",
    "trailing characters": "trailing characters",
    "expected ':'": "expected `:`",
    "expected ',' or ']'": "expected `,` or `]`",
    "expected ',' or '}'": "expected `,` or `}`",
    "object keys must be strings": "key must be a string",
    "invalid number": "invalid number",
    "invalid escape character in string": "invalid escape",
}

# serde_json's ErrorCode texts
_EOF_LIST = "EOF while parsing a list"
_EOF_OBJECT = "EOF while parsing an object"
_EOF_STRING = "EOF while parsing a string"
_EOF_VALUE = "EOF while parsing a value"
_TRAILING_COMMA = "trailing comma"


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
        if self.why == _NOT_UTF8:
            return _bad_unicode(data)
        if len(data) > _READ_AT_MOST:
            return _msgspec_said(data, self.why)
        try:
            found = _Reader(data).first_error()
        except RecursionError:  # its 128 levels on a stack already nearly full
            return _msgspec_said(data, self.why)
        # None: msgspec refused what serde_json reads; its own line holds, said at the end
        return found if found is not None else f"expected value at {position(data, len(data))}"


def parse_json(frame: bytes | str, *, serde_depth: bool = True) -> Any:
    """The frame's JSON value; ``NotJson`` saying why not. With ``serde_depth`` a value
    nested as deep as serde_json refuses is not JSON either; without it, the line is
    msgspec's (about a thousand levels, as Python's stack allows)."""
    try:
        value = _decode(frame)
    except msgspec.DecodeError as exc:
        why = str(exc)  # (msgspec from 0.23 says "Invalid UTF-8 …" where it raised UnicodeDecodeError)
        raise NotJson(frame, _NOT_UTF8 if why.startswith("Invalid UTF-8") else why) from None
    except RecursionError:
        raise NotJson(frame, _TOO_DEEP) from None
    except UnicodeDecodeError:
        raise NotJson(frame, _NOT_UTF8) from None
    if serde_depth and _opening_brackets(frame) >= _SERDE_DEPTH and _reaches_serde_depth(value):
        raise NotJson(frame, _TOO_DEEP)
    return value


def _opening_brackets(frame: bytes | str) -> int:
    """How many ``[`` and ``{`` the frame holds, in strings too: no value is nested deeper."""
    if isinstance(frame, str):
        return frame.count("[") + frame.count("{")
    return frame.count(b"[") + frame.count(b"{")


def _reaches_serde_depth(value: Any) -> bool:
    """Whether ``value`` has containers ``_SERDE_DEPTH`` levels deep (itself the first).
    One level at a time, each a list of the containers in the one above: no recursion, and
    no more work or memory than the decoded value's containers and their members."""
    level = [value] if type(value) is list or type(value) is dict else []
    for _ in range(_SERDE_DEPTH - 1):
        below: list[Any] = []
        for container in level:
            members = container.values() if type(container) is dict else container
            below += [item for item in members if type(item) is list or type(item) is dict]
        if not below:
            return False
        level = below
    return True


def position(data: bytes, index: int) -> str:
    """serde_json's ``line L column C`` for a byte index into the frame (its
    ``position_of_index``: the column counts the bytes since the last newline)."""
    index = max(0, min(index, len(data)))
    line = data.count(b"\n", 0, index) + 1
    column = index - (data.rfind(b"\n", 0, index) + 1)
    return f"line {line} column {column}"


class _SyntaxError(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class _Reader:
    """serde_json's ``Deserializer`` reading a ``Value`` and then the frame's end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.index = 0
        self.depth = _SERDE_DEPTH

    def first_error(self) -> str | None:
        try:
            self.value()
            if self.whitespace() is not None:
                raise self.peek_error("trailing characters")
        except _SyntaxError as found:
            return found.what
        return None

    # -- positions: Deserializer::error and Deserializer::peek_error --------------------

    def error(self, what: str) -> _SyntaxError:
        return _SyntaxError(f"{what} at {position(self.data, self.index)}")

    def peek_error(self, what: str) -> _SyntaxError:
        return _SyntaxError(f"{what} at {position(self.data, self.index + 1)}")

    def whitespace(self) -> int | None:
        """The next byte that is not whitespace, not consumed; None at the end."""
        self.index = _WHITESPACE.match(self.data, self.index).end()  # type: ignore[union-attr]
        return self.data[self.index] if self.index < len(self.data) else None

    def next_byte(self) -> int | None:
        if self.index == len(self.data):
            return None
        self.index += 1
        return self.data[self.index - 1]

    # -- values ---------------------------------------------------------------------

    def value(self) -> None:
        peek = self.whitespace()
        if peek is None:
            raise self.peek_error(_EOF_VALUE)
        if peek in b"ntf":
            self.index += 1
            self.ident({0x6E: b"ull", 0x74: b"rue", 0x66: b"alse"}[peek])
        elif peek == 0x2D:  # '-'
            self.index += 1
            self.number()
        elif 0x30 <= peek <= 0x39:
            self.number()
        elif peek == 0x22:
            self.index += 1
            self.string()
        elif peek in b"[{":
            self.depth -= 1  # check_recursion!, before the bracket is consumed
            if self.depth == 0:
                raise self.peek_error("recursion limit exceeded")
            self.index += 1
            if peek == 0x5B:
                self.members(b"]", _EOF_LIST, "expected `,` or `]`")
            else:
                self.members(b"}", _EOF_OBJECT, "expected `,` or `}`")
            self.depth += 1
        else:
            raise self.peek_error("expected value")

    def ident(self, rest: bytes) -> None:
        for expected in rest:
            got = self.next_byte()
            if got is None:
                raise self.error(_EOF_VALUE)
            if got != expected:
                raise self.error("expected ident")

    def members(self, close: bytes, eof: str, expected_comma: str) -> None:
        """SeqAccess or MapAccess until the closing bracket, then end_seq / end_map."""
        first = True
        while True:
            peek = self.whitespace()
            if peek == close[0]:
                break
            if peek == 0x2C and not first:  # ','
                self.index += 1
                peek = self.whitespace()
            elif peek is None:
                raise self.peek_error(eof)
            elif first:
                first = False
            else:
                raise self.peek_error(expected_comma)
            if peek == close[0]:
                raise self.peek_error(_TRAILING_COMMA)
            if peek is None:
                raise self.peek_error(_EOF_VALUE)
            if close == b"}":
                if peek != 0x22:
                    raise self.peek_error("key must be a string")
                self.index += 1
                self.string()
                colon = self.whitespace()
                if colon is None:
                    raise self.peek_error(_EOF_OBJECT)
                if colon != 0x3A:
                    raise self.peek_error("expected `:`")
                self.index += 1
            self.value()
        self.index += 1  # the closing bracket, end_seq / end_map

    def string(self) -> None:
        """After the opening quote, to after the closing one (parse_str, validating)."""
        data = self.data
        while True:
            self.index = _PLAIN.match(data, self.index).end()  # type: ignore[union-attr]
            byte = self.next_byte()
            if byte is None:
                raise self.error(_EOF_STRING)
            if byte == 0x22:
                return
            if byte != 0x5C:
                raise self.error("control character (\\u0000-\\u001F) found while parsing a string")
            self.escape()

    def escape(self) -> None:
        byte = self.next_byte()
        if byte is None:
            raise self.error(_EOF_STRING)
        if byte in _SIMPLE_ESCAPES:
            return
        if byte != 0x75:  # 'u'
            raise self.error("invalid escape")
        unit = self.hex4()
        if 0xDC00 <= unit <= 0xDFFF:
            raise self.error("lone leading surrogate in hex escape")
        if 0xD800 <= unit <= 0xDBFF:
            for expected in b"\\u":  # a high surrogate must be followed by \u and a low one
                got = self.next_byte()
                if got is None:
                    raise self.error(_EOF_STRING)
                if got != expected:
                    raise self.error("unexpected end of hex escape")
            if not 0xDC00 <= self.hex4() <= 0xDFFF:
                raise self.error("lone leading surrogate in hex escape")

    def hex4(self) -> int:
        if self.index + 4 > len(self.data):
            self.index = len(self.data)
            raise self.error(_EOF_STRING)
        for _ in range(4):
            self.index += 1
            if self.data[self.index - 1] not in _HEX:
                raise self.error("invalid escape")
        return int(self.data[self.index - 4 : self.index], 16)

    def number(self) -> None:
        """After an optional '-': parse_integer, parse_decimal, parse_exponent."""
        start = self.index
        first = self.next_byte()
        if first is None:
            raise self.error(_EOF_VALUE)
        if first == 0x30:  # one leading zero only
            if self.index < len(self.data) and 0x30 <= self.data[self.index] <= 0x39:
                raise self.peek_error("invalid number")
        elif 0x31 <= first <= 0x39:
            self.digits()
        else:
            raise self.error("invalid number")
        peek = self.data[self.index] if self.index < len(self.data) else None
        if peek == 0x2E:  # '.'
            self.index += 1
            if self.digits() == 0:
                raise self.peek_error("invalid number" if self.index < len(self.data) else _EOF_VALUE)
            peek = self.data[self.index] if self.index < len(self.data) else None
        if peek in (0x45, 0x65):  # 'E', 'e'
            self.exponent(significand_zero=not self.data[start : self.index].strip(b"0."))
        if abs(float(self.data[start : self.index])) == float("inf"):
            raise self.error("number out of range")

    def digits(self) -> int:
        begin = self.index
        self.index = _DIGITS.match(self.data, self.index).end()  # type: ignore[union-attr]
        return self.index - begin

    def exponent(self, *, significand_zero: bool) -> None:
        self.index += 1
        positive = True
        if self.index < len(self.data) and self.data[self.index] in b"+-":
            positive = self.data[self.index] == 0x2B
            self.index += 1
        first = self.next_byte()
        if first is None:
            raise self.error(_EOF_VALUE)
        if not 0x30 <= first <= 0x39:
            raise self.error("invalid number")
        exponent = first - 0x30
        while self.index < len(self.data) and 0x30 <= self.data[self.index] <= 0x39:
            self.index += 1
            exponent = exponent * 10 + self.data[self.index - 1] - 0x30
            if exponent > _I32_MAX:  # serde_json stops at the digit that overflows an i32
                if positive and not significand_zero:
                    raise self.error("number out of range")
                self.digits()
                return


def _bytes(frame: bytes | str) -> bytes:
    return frame.encode("utf-8", errors="surrogatepass") if isinstance(frame, str) else frame


def _msgspec_said(data: bytes, why: str) -> str:
    """What is wrong, told from msgspec's finding (its message, or ``_TOO_DEEP``): a
    bracket before it that opens serde_json's refused level, else serde_json's word for
    msgspec's at the byte it names. msgspec reads in order, so the frame is JSON up to there."""
    found = _MSGSPEC_ERROR.search(why)
    at = len(data) if found is None else int(found["byte"])  # "Input data was truncated" …: none named
    deep = _deepest_bracket(data, at)
    if deep is not None:
        return f"recursion limit exceeded at {position(data, deep + 1)}"
    if found is None:
        return f"{_EOF_VALUE} at {position(data, len(data))}"
    what = _MSGSPEC_WORDS.get(found["what"], "expected value")
    return f"{what} at {position(data, at + 1)}"


def _deepest_bracket(data: bytes, end: int) -> int | None:
    """The index of the bracket in ``data[:end]`` (JSON as far as that) that opens serde_json's
    refused level, ``peek_error`` reporting it one further; None if there is none."""
    depth = 0
    for token in _STRING_OR_BRACKET.finditer(data, 0, end):
        byte = data[token.start()]
        if byte == 0x5B or byte == 0x7B:  # '[', '{'
            depth += 1
            if depth == _SERDE_DEPTH:
                return token.start()
        elif byte == 0x5D or byte == 0x7D:  # ']', '}'
            depth -= 1
    return None


def _bad_unicode(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid unicode code point at {position(data, exc.start + 1)}"
    return f"invalid unicode code point at {position(data, len(data))}"
