"""A head's fields read once per distinct block (``gateway/head_fields.py``): each request
of the block gets its own request line over the fields read before, read-only."""

from __future__ import annotations

import pytest

from tickerplant.gateway import head_fields
from tickerplant.gateway.head_fields import FIELD_BLOCK_KEPT_BYTES, read_fields
from tickerplant.gateway.picows_server import Head, _checked_head

_FIELDS = b"\r\nHost: h\r\nX-MBX-APIKEY: k\r\nContent-Length: 0"


def test_requests_sharing_their_fields_keep_their_own_lines() -> None:
    first = _checked_head(b"POST /fapi/v1/order?a=1 HTTP/1.1" + _FIELDS)
    second = _checked_head(b"DELETE /fapi/v1/order?b=2 HTTP/1.1" + _FIELDS)
    assert isinstance(first, Head) and isinstance(second, Head)
    assert (first.request.method, first.request.path) == (b"POST", b"/fapi/v1/order?a=1")
    assert (second.request.method, second.request.path) == (b"DELETE", b"/fapi/v1/order?b=2")
    assert second.request.headers is first.request.headers  # read once
    with pytest.raises(TypeError):  # shared, so never changed by one request
        first.request.headers["Host"] = "other"  # type: ignore[index]


def test_a_long_block_is_read_each_time_and_the_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    long_block = b"\r\nX-Pad: " + b"p" * FIELD_BLOCK_KEPT_BYTES
    assert read_fields(long_block) is not read_fields(long_block)
    monkeypatch.setattr(head_fields, "FIELDS_KEPT", 2)
    monkeypatch.setattr(head_fields, "_read", {})
    blocks = [b"\r\nHost: %d" % i for i in range(3)]
    for block in blocks:
        read_fields(block)
    assert list(head_fields._read) == [blocks[2]]  # forgotten all at once when full
    assert read_fields(blocks[2]).headers == {"Host": "2"}
