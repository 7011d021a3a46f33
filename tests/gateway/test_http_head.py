"""The request-head checks without sockets: when a head is complete, too long, or refused."""

from __future__ import annotations

import pytest

from tickerplant.gateway.http_head import MAX_HEAD_BYTES, Refusal, RequestHead, head_refusal


def test_a_head_in_pieces_is_complete_at_its_blank_line() -> None:
    head = RequestHead()
    request = b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n\x81\x80"  # a frame may follow at once
    for byte in request[:-4]:
        assert head.receive(bytes([byte])) is None
    assert head.receive(request[-4:]) == b"GET /ws HTTP/1.1\r\nHost: x"


def test_a_head_reaching_the_bound_is_refused_by_what_made_it_long() -> None:
    uri = RequestHead().receive(b"GET /" + b"a" * MAX_HEAD_BYTES)
    fields = RequestHead().receive(b"GET / HTTP/1.1\r\n" + b"X: a\r\n" * (MAX_HEAD_BYTES // 6))
    assert isinstance(uri, Refusal) and uri.status == 414
    assert isinstance(fields, Refusal) and fields.status == 431
    under = b"GET / HTTP/1.1\r\nX: " + b"a" * (MAX_HEAD_BYTES - 20)
    assert len(under) == MAX_HEAD_BYTES - 1 and RequestHead().receive(under + b"\r\n\r\n") == under


@pytest.mark.parametrize(
    ("line", "status"),
    [(b"GET / HTTP/1.1", None), (b"GET / HTTP/1.0", 400), (b"GET / HTTP/3.0", 505), (b"PUT / HTTP/1.1", 405),
     (b"GET / HTTP/1.1 x", 400), (b"GET / HTTPS/1.1", 400)],
)  # fmt: skip
def test_the_request_line(line: bytes, status: int | None) -> None:
    refusal = head_refusal(line + b"\r\nHost: x")
    assert (refusal.status if refusal else None) == status


def test_an_answer_to_head_has_no_body() -> None:
    refusal = head_refusal(b"HEAD / HTTP/1.1")
    assert refusal is not None
    answer = refusal.to_bytes()
    assert answer.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n") and answer.endswith(b"Allow: GET\r\n\r\n")
