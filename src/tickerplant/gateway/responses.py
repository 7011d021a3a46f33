"""The HTTP answers a market listener writes itself: JSON (the control paths, refusals),
REST's (with Binance's weight headers, spec §7.1) and the public archive's files."""

from __future__ import annotations

from http import HTTPStatus

from multidict import CIMultiDict
from picows import WSUpgradeResponse, WSUpgradeResponseWithListener

from tickerplant.gateway.picows_server import PartsResponse
from tickerplant.protocol.archive import ArchiveAnswer
from tickerplant.protocol.rest import RestAnswer

__all__ = ["file_response", "json_response", "rest_response", "status_line"]


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


def rest_response(answer: RestAnswer) -> WSUpgradeResponseWithListener:
    # The IP's weight in the current minute, under both names Binance writes it (spec §7.1;
    # clients read either, some only the first). Any origin may read public market data: a
    # page served elsewhere (the admin listener's dashboard, a trader's own page) reads
    # REST as a browser client.
    status, line = status_line(answer.status)
    used = answer.used_weight
    head = line + b"Content-Type: application/json\r\n"
    head += b"X-MBX-USED-WEIGHT: %d\r\nX-MBX-USED-WEIGHT-1M: %d\r\n" % (used, used)
    head += b"Access-Control-Allow-Origin: *\r\n"
    if answer.retry_after_s is not None:
        head += b"Retry-After: %d\r\n" % answer.retry_after_s
    head += answer.extra_head
    response = PartsResponse()
    response.version, response.status, response.headers = b"HTTP/1.1", status, CIMultiDict()
    response.body = None
    response.head = head
    response.parts = answer.parts
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
    return WSUpgradeResponseWithListener(response, None)
