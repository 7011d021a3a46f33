"""The HTTP answers a market listener writes itself: JSON (the control paths, refusals),
REST's (with Binance's weight headers, spec §7.1), a browser's CORS preflight answered and
the public archive's files."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus

from multidict import CIMultiDict
from picows import WSUpgradeRequest, WSUpgradeResponse, WSUpgradeResponseWithListener

from tickerplant.gateway.picows_server import PartsResponse, Repeatable, Routed, answer_parts, plain_answer
from tickerplant.protocol.archive import ArchiveAnswer
from tickerplant.protocol.rest import RestAnswer

__all__ = [
    "JOINED_BELOW", "OK_KEPT_ALIVE", "answer_bytes", "file_response", "json_response", "preflight_response",
    "rest_head", "rest_parts", "rest_response", "status_line",
]  # fmt: skip


def json_response(
    status: int, body: bytes, headers: dict[str, str] | None = None
) -> WSUpgradeResponseWithListener:
    extra = {"Content-Type": "application/json", **(headers or {})}
    if status == 200:
        response = WSUpgradeResponse.create_ok_response(body, extra)
    else:
        response = WSUpgradeResponse.create_error_response(status, body, extra)
    return WSUpgradeResponseWithListener(response, None)


_STATUS_LINES: dict[int, tuple[HTTPStatus, bytes]] = {}  # status -> its enum member and line


def status_line(status: int) -> tuple[HTTPStatus, bytes]:
    made = _STATUS_LINES.get(status)
    if made is None:
        member = HTTPStatus(status)
        line = b"HTTP/1.1 %d %b\r\n" % (member.value, member.phrase.encode())
        made = _STATUS_LINES[status] = (member, line)
    return made


# What every REST answer says to a browser, as Binance's fapi answers do (trading part 1
# §7.3, a captured 401's fields): any origin may read it, by the four methods and a
# preflight. A page served elsewhere (the admin listener's dashboard, a trader's own page)
# reads public market data so.
_CORS = b"Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS\r\n"
# The fields of every REST answer. The IP's weight in the current minute goes under both
# names Binance writes it (spec §7.1; clients read either, some only the first).
_REST_FIELDS = (
    b"Content-Type: application/json\r\nX-MBX-USED-WEIGHT: %d\r\nX-MBX-USED-WEIGHT-1M: %d\r\n" + _CORS
)
# A 200's whole head on a kept-alive connection, with the weight (twice), the answer's own
# fields (an order's counts; b"" for none), the date and the length to fill in:
# ``answer_parts``' own fields after ``rest_head``'s, in one step.
OK_KEPT_ALIVE = answer_parts(status_line(200)[1] + _REST_FIELDS + b"%b", (b"-",), True, b"%b")[0].replace(
    b"Content-Length: 1\r\n", b"Content-Length: %d\r\n"
)


JOINED_BELOW = 4096  # bytes of body joined to the head


def rest_head(answer: RestAnswer) -> bytes:
    """A REST answer's status line and fields, up to those every plain answer gets
    (``picows_server.answer_parts``)."""
    used = answer.used_weight
    head = status_line(answer.status)[1] + _REST_FIELDS % (used, used)
    if answer.retry_after_s is not None:
        head += b"Retry-After: %d\r\n" % answer.retry_after_s
    return head + answer.extra_head


def rest_parts(answer: RestAnswer, keep_alive: bool, date: bytes) -> tuple[bytes, ...]:
    """``rest_response(answer)``'s bytes as a plain answer (``picows_server.plain_answer``),
    made straight, without the response object (``rest_repeat``): a 200 on a kept-alive
    connection, the common case, in one format."""
    parts = answer.parts
    if keep_alive and answer.status == 200 and answer.retry_after_s is None:
        size = len(parts[0]) if len(parts) == 1 else sum(map(len, parts))
        if size:
            used = answer.used_weight
            head = OK_KEPT_ALIVE % (used, used, answer.extra_head, date, size)
            # a small body goes with its head, one buffer to write: a large one (a depth
            # answer's levels) is written as it is, never copied
            return (head + parts[0],) if size < JOINED_BELOW and len(parts) == 1 else (head, *parts)
    return answer_parts(rest_head(answer), parts, keep_alive, date)


def answer_bytes(
    routed: Routed | None, request: WSUpgradeRequest, keep_alive: bool, date: bytes
) -> Sequence[bytes]:
    """The bytes of a plain request's answer (``picows_server.plain_answer``'s): a private
    REST answer, routed as its ``RestAnswer``, written straight from it (``rest_parts``)."""
    if type(routed) is RestAnswer:
        return rest_parts(routed, keep_alive, date)
    return plain_answer(routed, request, keep_alive, date)


def rest_response(answer: RestAnswer, again: Repeatable | None = None) -> WSUpgradeResponseWithListener:
    """``answer`` as the router gives it; ``again``: what answers the same request again
    (``rest_repeat``), for the front door to keep."""
    response = PartsResponse()
    response.version, response.headers = b"HTTP/1.1", CIMultiDict()
    response.status = status_line(answer.status)[0]
    response.body = None
    response.head = rest_head(answer)
    response.parts = answer.parts
    response.again = again
    return WSUpgradeResponseWithListener(response, None)


def preflight_response() -> WSUpgradeResponseWithListener:
    """The answer to an ``OPTIONS`` request, a browser's CORS preflight (the Fetch standard),
    on any path, before a signed, ``PUT`` or ``DELETE`` call from a page on another origin:
    200, no body, ``_CORS``'s fields, no weight counted. It names no
    ``Access-Control-Allow-Headers``, as Binance's preflight names none a client sends: a
    browser then refuses a call carrying ``X-MBX-APIKEY`` ("Request header field
    x-mbx-apikey is not allowed by Access-Control-Allow-Headers in preflight response", the
    error browser users of ccxt and Binance's clients report), so what a page can call here
    is what it can call on Binance: public market data."""
    response = PartsResponse()
    response.version, response.headers = b"HTTP/1.1", CIMultiDict()
    response.status = status_line(200)[0]
    response.body = None
    response.head = status_line(200)[1] + _CORS + b"Content-Length: 0\r\n"
    response.parts = (b"",)
    response.again = None
    return WSUpgradeResponseWithListener(response, None)


def file_response(answer: ArchiveAnswer) -> WSUpgradeResponseWithListener:
    """``answer`` as the listener writes it: its type, readable from any origin (S3 serves
    data.binance.vision's files so), no weight header (the archive is not the API)."""
    status, line = status_line(answer.status)
    response = PartsResponse()
    response.version, response.status, response.headers = b"HTTP/1.1", status, CIMultiDict()
    response.body = None
    response.head = line + b"Content-Type: %b\r\nAccess-Control-Allow-Origin: *\r\n" % answer.content_type
    response.parts = (answer.body,)
    response.again = None
    return WSUpgradeResponseWithListener(response, None)
