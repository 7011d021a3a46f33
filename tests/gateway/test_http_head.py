"""The request-head checks without sockets: when a head is complete, too long, or refused;
heads one after another on a kept-alive connection; when a connection is kept alive."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.gateway.http_head import (
    MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    Refusal,
    RequestHeads,
    body_length,
    head_refusal,
    http_date,
    keeps_alive,
)


def _one(data: bytes) -> bytes | Refusal | None:
    heads = RequestHeads()
    heads.receive(data)
    return heads.next()


def test_a_head_in_pieces_is_complete_at_its_blank_line() -> None:
    heads = RequestHeads()
    request = b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n\x81\x80"  # a frame may follow at once
    for byte in request[:-4]:
        heads.receive(bytes([byte]))
        assert heads.next() is None
    heads.receive(request[-4:])
    assert heads.next() == b"GET /ws HTTP/1.1\r\nHost: x"
    assert heads.received == request  # an upgrade hands picows the head and what followed
    heads.consume()
    assert heads.received == b"\x81\x80"


def test_a_head_reaching_the_bound_is_refused_by_what_made_it_long() -> None:
    uri = _one(b"GET /" + b"a" * MAX_HEAD_BYTES)
    fields = _one(b"GET / HTTP/1.1\r\n" + b"X: a\r\n" * (MAX_HEAD_BYTES // 6))
    assert isinstance(uri, Refusal) and uri.status == 414
    assert isinstance(fields, Refusal) and fields.status == 431
    under = b"GET / HTTP/1.1\r\nX: " + b"a" * (MAX_HEAD_BYTES - 20)
    assert len(under) == MAX_HEAD_BYTES - 1 and _one(under + b"\r\n\r\n") == under


@pytest.mark.parametrize(
    ("line", "status"),
    [(b"GET / HTTP/1.1", None), (b"GET / HTTP/1.0", 400), (b"GET / HTTP/3.0", 505), (b"PUT / HTTP/1.1", None),
     (b"POST / HTTP/1.1", None), (b"DELETE / HTTP/1.1", None), (b"PATCH / HTTP/1.1", 405),
     (b"OPTIONS / HTTP/1.1", None), (b"get / HTTP/1.1", 405), (b"GET / HTTP/1.1 x", 400), (b"GET / HTTPS/1.1", 400)],
)  # fmt: skip
def test_the_request_line(line: bytes, status: int | None) -> None:
    refusal = head_refusal(line + b"\r\nHost: x")
    assert (refusal.status if refusal else None) == status


def test_an_answer_to_head_has_no_body() -> None:
    refusal = head_refusal(b"HEAD / HTTP/1.1")
    assert refusal is not None
    answer = refusal.to_bytes()
    assert answer.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n") and answer.endswith(b"Allow: GET, POST, PUT, DELETE, OPTIONS\r\n\r\n")


_TARGETS = st.lists(st.from_regex(rb"/[a-z0-9?=&]{0,40}", fullmatch=True), min_size=1, max_size=6)


@given(targets=_TARGETS, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12), blank=st.booleans())
def test_pipelined_heads_come_out_in_order_however_the_bytes_are_cut(
    targets: list[bytes], cuts: list[int], blank: bool
) -> None:
    """Requests sent back to back (pipelining, RFC 9112 §9.3.2) arrive in reads cut
    anywhere: each head comes out whole, in order, once; an empty line before a request
    line is ignored (§2.2)."""
    heads_sent = [b"GET %b HTTP/1.1\r\nHost: x" % target for target in targets]
    stream = b"".join((b"\r\n" if blank else b"") + head + b"\r\n\r\n" for head in heads_sent)
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    heads = RequestHeads()
    out: list[bytes | Refusal] = []
    for start, end in itertools.pairwise(points):
        heads.receive(stream[start:end])
        while (head := heads.next()) is not None:
            out.append(head)
            heads.consume()
    assert out == heads_sent
    assert not heads.started


@given(
    bodies=st.lists(st.binary(max_size=200), min_size=1, max_size=5),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_pipelined_bodies_come_out_with_their_heads_however_the_bytes_are_cut(
    bodies: list[bytes], cuts: list[int]
) -> None:
    """Each head with the body its length declares, whatever the body holds (a head's blank
    line, CRLFs): the next head is read from the byte after the body."""
    heads_sent = [b"POST /fapi/v1/order HTTP/1.1\r\nContent-Length: %d" % len(body) for body in bodies]
    stream = b"".join(head + b"\r\n\r\n" + body for head, body in zip(heads_sent, bodies, strict=True))
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    heads = RequestHeads()
    out: list[tuple[bytes, bytes]] = []
    pending: bytes | None = None
    for start, end in itertools.pairwise(points):
        heads.receive(stream[start:end])
        while True:
            if pending is None:
                head = heads.next()
                if head is None:
                    break
                assert isinstance(head, bytes)
                pending = head
            length = body_length(pending)
            assert isinstance(length, int)
            body = heads.body(pending, length)
            if body is None:
                break
            out.append((pending, body))
            heads.consume(length)
            pending = None
    assert out == list(zip(heads_sent, bodies, strict=True))
    assert not heads.started


@pytest.mark.parametrize(
    ("fields", "length"),
    [
        (b"", 0),
        (b"\r\nContent-Length: 0", 0),
        (b"\r\ncontent-length:  17 ", 17),  # any case, spaces around the value (RFC 9110 §5.5)
        (b"\r\nContent-Length: %d" % MAX_BODY_BYTES, MAX_BODY_BYTES),
        (b"\r\nContent-Length: %d" % (MAX_BODY_BYTES + 1), 413),
        (b"\r\nContent-Length: 0000000000000000001", 413),  # too many digits to read
        (b"\r\nContent-Length: 1\r\nContent-Length: 1", 400),
        (b"\r\nContent-Length: 1,1", 400),
        (b"\r\nContent-Length: 0x10", 400),
        (b"\r\nTransfer-Encoding: chunked", 411),
        (b"\r\nTRANSFER-ENCODING: identity", 411),
        (b"\r\nTransfer-Encoding: chunked\r\nContent-Length: 0", 400),
    ],
)
def test_a_body_s_length_and_its_refusals(fields: bytes, length: int) -> None:
    found = body_length(b"POST / HTTP/1.1\r\nHost: x" + fields)
    assert (found.status if isinstance(found, Refusal) else found) == length


@pytest.mark.parametrize(
    ("headers", "alive"),
    [
        ({}, True),
        ({"connection": "keep-alive"}, True),
        ({"connection": "close"}, False),
        ({"connection": "Keep-Alive, Close"}, False),  # tokens, any case (RFC 9110 §7.6.1)
        ({"connection": "upgrade"}, True),
    ],
)
def test_what_keeps_a_connection_alive(headers: dict[str, str], alive: bool) -> None:
    assert keeps_alive(headers) is alive


def test_the_date_is_rfc_9110_s_imf_fixdate_of_the_second() -> None:
    assert http_date(1_767_225_600_999) == b"Thu, 01 Jan 2026 00:00:00 GMT"
    assert http_date(1_767_225_601_000) == b"Thu, 01 Jan 2026 00:00:01 GMT"
