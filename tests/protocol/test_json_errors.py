"""Frames that are not JSON, said as Binance's serde_json says it (spec §2.7, §3.3):
nothing a client can send escapes ``parse_json`` as another exception."""

from __future__ import annotations

import sys

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.protocol.json_errors import NotJson, parse_json


@pytest.mark.parametrize(
    ("frame", "what"),
    [
        (b"hello", "expected value at line 1 column 1"),
        (b'{"id":1}x', "trailing characters at line 1 column 9"),
        (b'{"id":', "EOF while parsing a value at line 1 column 6"),
        # serde_json 1.0.87's texts for each frame: the position is a byte index, an error on
        # a byte peeked at one further than one on the bytes consumed
        (b"", "EOF while parsing a value at line 1 column 0"),
        (b"   ", "EOF while parsing a value at line 1 column 3"),
        (b'{"method":', "EOF while parsing a value at line 1 column 10"),
        (b'{"method":"SUBSCRIBE","params":["x"],"id":1}garbage', "trailing characters at line 1 column 45"),
        (b'{"method":"SUBSCRIBE","params":["x"],"id":1}\n\n{', "trailing characters at line 3 column 1"),
        (b'{"a":1,}', "trailing comma at line 1 column 8"),
        (b'{"method":"SUBSCRIBE","params":["a"],"id":1,}', "trailing comma at line 1 column 45"),
        (b"[1,\n]", "trailing comma at line 2 column 1"),
        ('["é" "x"]'.encode(), "expected `,` or `]` at line 1 column 7"),
        (b'{"a":1 "b":2}', "expected `,` or `}` at line 1 column 8"),
        (b'{"a" 1}', "expected `:` at line 1 column 6"),
        (b"{1:2}", "key must be a string at line 1 column 2"),
        (b"[1,2", "EOF while parsing a list at line 1 column 4"),
        (b'{"a":1', "EOF while parsing an object at line 1 column 6"),
        (b'"abc', "EOF while parsing a string at line 1 column 4"),
        (b'{"a":tru}', "expected ident at line 1 column 9"),
        (b"01", "invalid number at line 1 column 2"),
        (b"1.", "EOF while parsing a value at line 1 column 2"),
        (b"1ex", "invalid number at line 1 column 3"),
        (b"1e999999999999", "number out of range at line 1 column 12"),
        (b'{"a":"\\x"}', "invalid escape at line 1 column 8"),
        (b'"\\ud800x"', "unexpected end of hex escape at line 1 column 8"),
        (b'"\\udc00"', "lone leading surrogate in hex escape at line 1 column 7"),
        (b'{"a":"b\t"}', "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 8"),
        # 200,000 nested arrays: deeper than Python's stack, reported where serde_json's
        # 128 levels run out
        (b"[" * 200_000 + b"]" * 200_000, "recursion limit exceeded at line 1 column 128"),
        (b'{"a":"[[{", "b":' + b"[" * 20_000, "recursion limit exceeded at line 1 column 143"),
        (b'{"method":"SUBSCRIBE","params":["\xff"],"id":1}', "invalid unicode code point at line 1 column 34"),
        (b'{"method":"SUBSCRIBE","params":["a"],"id":1e400}', "number out of range at line 1 column 47"),
        (b'[1.5e308, -2e308]', "number out of range at line 1 column 16"),
    ],
)
def test_what_is_wrong_and_where(frame: bytes, what: str) -> None:
    with pytest.raises(NotJson) as refused:
        parse_json(frame)
    assert refused.value.what == what


def test_a_text_frame_reads_the_same() -> None:
    assert parse_json('{"id":"é"}') == {"id": "é"}
    with pytest.raises(NotJson) as refused:
        parse_json("{\n  x}")
    assert refused.value.what == "key must be a string at line 2 column 3"


def test_a_frame_past_what_is_read_is_told_from_msgspec() -> None:
    """Over 64 KiB the reader does not walk the frame: msgspec's finding in serde's words."""
    frame = b"[" + b"[1]," * 20_000 + b"x]"
    with pytest.raises(NotJson) as refused:
        parse_json(frame)
    assert refused.value.what == "expected value at line 1 column 80002"


@given(st.binary(max_size=300))
def test_any_bytes_are_json_or_not_json(frame: bytes) -> None:
    try:
        parse_json(frame)
    except NotJson as refused:
        assert " at line " in refused.what


# serde_json's Deserializer spends one of its 128 levels on each `[` or `{` before consuming
# it: 127 levels are read, the bracket that opens the 128th is refused one byte past it
# (serde_json's tests/test.rs test_stack_overflow: 127 `[` read, 129 refused at column 128)
ARRAYS_127 = b"[" * 127 + b"]" * 127
OBJECTS_127 = b'{"a":' * 126 + b"{}" + b"}" * 126
SUBSCRIBE = b'{"method":"SUBSCRIBE","params":['  # the object and params are two levels


@pytest.mark.parametrize(
    ("frame", "what"),
    [
        (b"[" * 128 + b"]" * 128, "recursion limit exceeded at line 1 column 128"),
        (b"[" * 129 + b"]" * 129, "recursion limit exceeded at line 1 column 128"),
        (b'{"a":' * 127 + b"{}" + b"}" * 127, "recursion limit exceeded at line 1 column 636"),
        (b"[" * 127 + b"{}" + b"]" * 127, "recursion limit exceeded at line 1 column 128"),
        (b'{"\xc3\xa9":\n  ' + b"[" * 127 + b"]" * 127 + b"}", "recursion limit exceeded at line 2 column 129"),
        (SUBSCRIBE + b"[" * 126 + b"]" * 126 + b'],"id":1}', "recursion limit exceeded at line 1 column 158"),
        (SUBSCRIBE + b'"a"],"id":1,"x":' + b'{"b":' * 127 + b"1" + b"}" * 127 + b"}",  # a member no one reads
         "recursion limit exceeded at line 1 column 679"),
        # deeper than msgspec reads: the same place
        (b'{"a":' * 100_000, "recursion limit exceeded at line 1 column 636"),
        (SUBSCRIBE + b"[" * 1_000 + b"]" * 1_000 + b'],"id":1}', "recursion limit exceeded at line 1 column 158"),
        # serde_json stops at the bracket before anything wrong after it
        (b"[" * 300 + b"x", "recursion limit exceeded at line 1 column 128"),
        # an error before the 128th level is said first
        (b"[1 " + b"[" * 300, "expected `,` or `]` at line 1 column 4"),
    ],
)  # fmt: skip
def test_nesting_is_refused_at_serde_jsons_level(frame: bytes, what: str) -> None:
    with pytest.raises(NotJson) as refused:
        parse_json(frame)
    assert refused.value.what == what
    with pytest.raises(NotJson) as refused:
        parse_json(frame.decode())  # a text frame alike
    assert refused.value.what == what


@pytest.mark.parametrize(
    "frame",
    [
        ARRAYS_127,
        OBJECTS_127,
        b'{"\xc3\xa9":\n  ' + b"[" * 126 + b"]" * 126 + b"}",
        SUBSCRIBE + b"[" * 125 + b"]" * 125 + b'],"id":1}',
        SUBSCRIBE + b'"a"],"id":1,"x":' + b'{"b":' * 126 + b"1" + b"}" * 126 + b"}",
        b'["' + b"[" * 300 + b'", "\\"{' + b"{" * 300 + b'"]',  # brackets in strings are no level
        b"[" + b"[[]]," * 300 + b"1]",  # many brackets, three levels
    ],
)
def test_nesting_serde_json_reads_is_read(frame: bytes) -> None:
    assert parse_json(frame) == msgspec.json.decode(frame)


def test_a_frame_over_64_kib_is_refused_at_the_same_level() -> None:
    padding = b'{"pad":"' + b"y" * 70_000 + b'","x":'
    frame = padding + b"[" * 127 + b"]" * 127 + b"}"  # msgspec reads it
    with pytest.raises(NotJson) as refused:
        parse_json(frame)
    assert refused.value.what == f"recursion limit exceeded at line 1 column {len(padding) + 127}"
    frame = b"[" * 200 + b"1," * 40_000 + b"x"  # msgspec refuses it further on
    with pytest.raises(NotJson) as refused:
        parse_json(frame)
    assert refused.value.what == "recursion limit exceeded at line 1 column 128"
    frame = padding + b'"\\"[' + b"[" * 200 + b'" 1}'  # the brackets are in a string: msgspec's finding holds
    with pytest.raises(NotJson) as refused:
        parse_json(frame)
    assert refused.value.what == f"expected `,` or `}}` at line 1 column {len(frame) - 1}"


def test_without_serde_depth_msgspecs_line_holds() -> None:
    """The WebSocket API's reading (not known to be serde_json's)."""
    frame = b"[" * 500 + b"]" * 500
    assert parse_json(frame, serde_depth=False) == msgspec.json.decode(frame)
    with pytest.raises(NotJson):
        parse_json(b"[" * 100_000 + b"]" * 100_000, serde_depth=False)


def test_deep_nesting_is_said_on_a_stack_nearly_full() -> None:
    """Asked for its text with little stack left, the reader's recursion gives way to the
    bracket count: the reply is still serde_json's."""

    def nearly_full(levels: int) -> str:
        if levels:
            return nearly_full(levels - 1)
        with pytest.raises(NotJson) as refused:
            parse_json(b"[" * 300)
        return refused.value.what

    assert nearly_full(sys.getrecursionlimit() - 150) == "recursion limit exceeded at line 1 column 128"


OPENERS = {"[": "]", '{"k":': "}", "[1,": "]", '{"s":"[[{{\\"","t":': "}"}  # each one level


@given(st.lists(st.sampled_from(sorted(OPENERS)), min_size=120, max_size=140), st.sampled_from(["", " ", "\n"]))
def test_refused_exactly_from_the_128th_level(openers: list[str], space: str) -> None:
    frame = (space.join(openers) + "0" + "".join(OPENERS[o] for o in reversed(openers))).encode()
    if len(openers) < 128:
        assert parse_json(frame) == msgspec.json.decode(frame)
        return
    bracket = len(space.join(openers[:127]) + space)  # where the 128th opener starts
    line = frame.count(b"\n", 0, bracket) + 1
    column = bracket - (frame.rfind(b"\n", 0, bracket) + 1) + 1
    with pytest.raises(NotJson) as refused:
        parse_json(frame)
    assert refused.value.what == f"recursion limit exceeded at line {line} column {column}"
