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
        (b'{"id":1}x', "trailing characters at line 1 column 10"),
        (b'{"id":', "EOF while parsing a value at line 1 column 7"),
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
    assert refused.value.what == "expected value at line 2 column 3"


@given(st.binary(max_size=300))
def test_any_bytes_are_json_or_not_json(frame: bytes) -> None:
    try:
        parse_json(frame)
    except NotJson as refused:
        assert " at line " in refused.what
