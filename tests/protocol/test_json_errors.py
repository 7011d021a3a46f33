"""Frames that are not JSON, said as Binance's serde_json says it (spec §2.7, §3.3):
nothing a client can send escapes ``parse_json`` as another exception."""

from __future__ import annotations

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
