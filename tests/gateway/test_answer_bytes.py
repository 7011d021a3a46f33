"""A private REST answer routed as its ``RestAnswer`` (``responses.answer_bytes``): the bytes
``plain_answer`` writes for its ``rest_response``, whatever its status, fields, body and
the connection's keep-alive."""

from __future__ import annotations

import pytest
from picows.picows import _parse_http_request  # type: ignore[attr-defined]

from tickerplant.gateway.picows_server import plain_answer
from tickerplant.gateway.responses import answer_bytes, rest_response
from tickerplant.protocol.rest import RestAnswer

_REQUEST = _parse_http_request(b"GET /fapi/v1/order HTTP/1.1\r\nHost: x")  # (its method aside)
_DATE = b"Thu, 26 Nov 2026 09:43:23 GMT"
_COUNTS = b"X-MBX-ORDER-COUNT-10S: 1\r\nX-MBX-ORDER-COUNT-1M: 7\r\n"
_ANSWERS = [
    RestAnswer(200, (b'{"orderId":1}',), 1, None, _COUNTS),
    RestAnswer(200, (b'{"orderId":1}',), 12),
    RestAnswer(200, (b"[", b"1" * 5000, b"]"), 3),
    RestAnswer(200, (b"",), 1),
    RestAnswer(400, (b'{"code":-1102,"msg":"x"}',), 2),
    RestAnswer(429, (b'{"code":-1003,"msg":"y"}',), 2401, 7),
    RestAnswer(200, (b"{}",), 1, 3, _COUNTS),
]


@pytest.mark.parametrize("answer", _ANSWERS)
@pytest.mark.parametrize("keep_alive", [True, False])
def test_an_answer_is_written_as_its_response_would_be(answer: RestAnswer, keep_alive: bool) -> None:
    written = b"".join(answer_bytes(answer, _REQUEST, keep_alive, _DATE))
    assert written == b"".join(plain_answer(rest_response(answer), _REQUEST, keep_alive, _DATE))
    assert written.startswith(b"HTTP/1.1 %d " % answer.status) and written.endswith(answer.body)
