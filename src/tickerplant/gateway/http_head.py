"""A client's HTTP request head as it arrives, checked before picows reads it.

picows closes without a word a head of 16 KiB or more, and answers a method other than
GET or a version other than HTTP/1.1 with a plain-text 400 whose body is its exception
text, the request line included. The listener reads the head here first and answers
those itself, each with a status that says what is wrong and a short fixed body:

- a head (request line and header fields, up to the blank line) of 16 KiB or more:
  414 URI Too Long when the request line is longer than the header fields, else 431
  Request Header Fields Too Large (RFC 6585 §5); more than 128 header fields: 431;
- a version other than HTTP/1.1: 400 "HTTP/1.1 required" for HTTP/1.0 (and any other
  1.x), 505 for another major version. 505 is for refusing the request's *major* version
  (RFC 9110 §15.6.6), which HTTP/1.0 shares with HTTP/1.1; what refuses it is that a
  WebSocket handshake is an HTTP/1.1 request (RFC 6455 §4.1) and the listeners speak
  HTTP/1.1 only;
- a method other than GET: 405 with ``Allow: GET`` (RFC 9110 §15.5.6); to HEAD without
  the body (§9.3.2);
- a request line that is not three words: 400.

The bound is picows' own (``WSProtocol``'s ``_http_max_size``, 16 KiB), so a head the
checks let through is one picows reads. The head is kept only until it is complete, and
never past the bound: a connection holds at most 16 KiB of it.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import NamedTuple

__all__ = ["MAX_HEADER_FIELDS", "MAX_HEAD_BYTES", "Refusal", "RequestHead", "head_refusal"]

MAX_HEAD_BYTES = 16 * 1024  # picows' bound on a request head, the blank line excluded
MAX_HEADER_FIELDS = 128  # picows' bound on the header fields of a request
_END = b"\r\n\r\n"
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)")


class Refusal(NamedTuple):
    """An HTTP answer after which the connection is closed."""

    status: int
    body: bytes  # short and fixed: it never echoes the request
    headers: tuple[tuple[str, str], ...] = ()
    head_only: bool = False  # the answer to a HEAD request carries no body (RFC 9110 §9.3.2)

    def to_bytes(self) -> bytes:
        status = HTTPStatus(self.status)
        lines = [
            f"HTTP/1.1 {status.value} {status.phrase}",
            "Content-Type: text/plain; charset=utf-8",
            f"Content-Length: {len(self.body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        return head if self.head_only else head + self.body


class RequestHead:
    """Collects the bytes of a request head until its blank line or its bound."""

    __slots__ = ("_head", "_searched")

    def __init__(self) -> None:
        self._head = bytearray()
        self._searched = 0  # where the blank line was not, so far

    @property
    def received(self) -> bytes:
        """Every byte received so far: the head, its blank line and whatever came after."""
        return bytes(self._head)

    def receive(self, data: bytes | bytearray | memoryview) -> bytes | Refusal | None:
        """The complete head (without its blank line), a refusal of one too long, or None
        while it is incomplete."""
        head = self._head
        head += data
        end = head.find(_END, self._searched)
        if end < 0:
            if len(head) >= MAX_HEAD_BYTES:
                return _too_long(head)
            self._searched = max(0, len(head) - len(_END) + 1)
            return None
        if end >= MAX_HEAD_BYTES:
            return _too_long(head[:end])
        return bytes(head[:end])


def _too_long(head: bytearray) -> Refusal:
    line_end = head.find(b"\r\n")
    line = len(head) if line_end < 0 else line_end
    if line > len(head) - line:
        return Refusal(HTTPStatus.REQUEST_URI_TOO_LONG, b"Request line too long\n")
    return Refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, b"Request header fields too large\n")


def head_refusal(head: bytes) -> Refusal | None:
    """What the listener refuses of a complete head before routing it, or None."""
    lines = head.split(b"\r\n")
    words = lines[0].split(b" ")
    if len(words) != 3:
        return Refusal(HTTPStatus.BAD_REQUEST, b"Malformed request line\n")
    method, _, version = words
    numbers = _VERSION.fullmatch(version)
    if numbers is None:
        return Refusal(HTTPStatus.BAD_REQUEST, b"Malformed request line\n")
    if numbers[1] != b"1":
        return Refusal(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, b"HTTP/1.1 required\n")
    if numbers[2] != b"1":
        return Refusal(HTTPStatus.BAD_REQUEST, b"HTTP/1.1 required\n")
    if method != b"GET":
        allow = (("Allow", "GET"),)
        return Refusal(HTTPStatus.METHOD_NOT_ALLOWED, b"Only GET\n", allow, head_only=method == b"HEAD")
    if len(lines) - 1 > MAX_HEADER_FIELDS:
        return Refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, b"Too many header fields\n")
    return None
