"""A POST, PUT or DELETE head (or one with a body) read once, from the lines the checks
split: the same request picows' parser makes of it as a GET without its length, and the
same refusals, whatever the fields (``picows_server._checked_head``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from picows.picows import _parse_http_request  # type: ignore[attr-defined]

from tickerplant.gateway.http_head import Refusal, body_length, head_refusal
from tickerplant.gateway.picows_server import Head, _checked_head

_MALFORMED = Refusal(400, b"Malformed request head\n")


def _as_a_get(head: bytes) -> Refusal | Head:
    """What picows makes of the head as a GET, its length's fields left out: the reading
    the listener had before it read such a head itself."""
    refusal = head_refusal(head)
    if refusal is not None:
        return refusal
    length = body_length(head)
    if isinstance(length, Refusal):
        return length
    line, _, rest_of_head = head.partition(b"\r\n")
    method, _, rest = line.partition(b" ")
    kept = [f for f in rest_of_head.split(b"\r\n") if f.partition(b":")[0].strip().lower() != b"content-length"]
    as_get = b"\r\n".join([b"GET " + rest, *(kept if rest_of_head else [])])
    taken_as_it_stands = method == b"GET" and not length
    if taken_as_it_stands:
        as_get = head
    try:
        request = _parse_http_request(as_get)
    except RuntimeError:
        return _MALFORMED
    upgrade: str = request.headers.get("upgrade", "")
    if upgrade.lower() == "websocket" and not taken_as_it_stands:
        return Refusal(400, b"A WebSocket handshake is a GET without a body\n")
    request.method = method
    return Head(request, length)


def _seen(checked: Refusal | Head) -> object:
    if isinstance(checked, Refusal):
        return checked
    request = checked.request
    return request.method, request.path, request.version, list(request.headers.items()), checked.body_length


_LINES = st.sampled_from([
    b"POST /fapi/v1/order?a=1 HTTP/1.1", b"DELETE /fapi/v1/order HTTP/1.1", b"PUT / HTTP/1.1",
    b"GET /fapi/v1/depth HTTP/1.1", b"POST  HTTP/1.1", b"DELETE /x HTTP/1.0", b"PATCH /x HTTP/1.1",
])  # fmt: skip
_FIELDS = st.sampled_from([
    b"Host: 127.0.0.1", b"X-MBX-APIKEY: " + b"k" * 64, b"Content-Length: 5", b"content-length:0",
    b"Content-Length : 3", b" Content-Length: 2", b"Content-Length: 00", b"Content-Type: application/x-www-form-urlencoded",
    b"Connection: close", b"Upgrade: websocket", b"Bad Name: x", b"NoColon", b"X: a\x01b", b"X: \tpadded\t ",
    b"X-High: \x80\xff", b" folded", b"\tfolded: x", b": empty name", b"Transfer-Encoding: chunked", b"X:",
    b"Expect: 100-continue", b"x-del: \x7f",
])  # fmt: skip


@given(_LINES, st.lists(_FIELDS, max_size=6))
def test_a_head_is_read_once_as_picows_reads_it_as_a_get(line: bytes, fields: list[bytes]) -> None:
    head = b"\r\n".join([line, *fields])
    assert _seen(_checked_head(head)) == _seen(_as_a_get(head))


def test_a_delete_with_its_length_is_its_method_and_fields() -> None:
    head = b"DELETE /fapi/v1/order?symbol=BTCUSDT HTTP/1.1\r\nHost: h\r\nX-MBX-APIKEY: k\r\nContent-Length: 0"
    checked = _checked_head(head)
    assert isinstance(checked, Head) and checked.body_length == 0
    assert checked.request.method == b"DELETE" and checked.request.path == b"/fapi/v1/order?symbol=BTCUSDT"
    assert dict(checked.request.headers) == {"Host": "h", "X-MBX-APIKEY": "k"}
    assert checked.request.headers["x-mbx-apikey"] == "k"
