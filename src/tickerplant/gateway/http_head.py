"""A client's HTTP request heads as they arrive, checked before picows reads them.

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
- a method other than GET, POST, PUT and DELETE (Binance's, trading part 1 §3.1) and
  OPTIONS (a browser's CORS preflight, answered by the listener: ``responses.preflight_response``):
  405 with ``Allow: GET, POST, PUT, DELETE, OPTIONS`` (RFC 9110 §15.5.6, the methods
  Binance's ``Access-Control-Allow-Methods`` names, part 1 §7.3); to HEAD without the body
  (§9.3.2);
- a request line that is not three words: 400.

The bound is picows' own (``WSProtocol``'s ``_http_max_size``, 16 KiB), so a head the
checks let through is one picows reads. A head is kept only until it is complete, and
never past the bound: a connection holds at most 16 KiB of it, and what one read brought
after it.

A request's body is framed by ``Content-Length`` only (``body_length``), as every client
of Binance's signed endpoints sends its form body (trading part 1 §3.1, §11). What
``body_length`` refuses, before a byte of the body is read, each answered and the
connection closed (a body never read is never taken for the next request's head, RFC 9112
§6.3 and §11.2, request smuggling):

- ``Transfer-Encoding`` with ``Content-Length``: 400 (RFC 9112 §6.1 allows a server to take
  the coding; it is how requests are smuggled, so it is refused instead);
- ``Transfer-Encoding`` (chunked or any other): 411 Length Required (RFC 9110 §15.5.12):
  a body is sent with its length or not at all;
- ``Content-Length`` more than once, even with equal values, or not all digits: 400
  (RFC 9112 §6.3 item 5: an invalid length is unrecoverable);
- a length over ``MAX_BODY_BYTES`` (64 KiB), or written in more than 12 digits: 413
  Content Too Large (RFC 9110 §15.5.14).
  Binance's largest bodies are five batch orders (part 1 §3.2), some 2 KiB.

A connection carries requests one after another (HTTP/1.1 persistent connections, RFC
9112 §9.3), and a client may send the next before the last is answered (pipelining,
§9.3.2): ``RequestHeads`` hands them out in order, each head with its body, the next head
read from the byte after the body. ``keeps_alive`` says whether the connection goes on
after a request's answer: not when the client said ``Connection: close`` (§9.6). Every
answer carries ``Date`` (RFC 9110 §6.6.1: an origin server with a clock sends it), written
by ``http_date``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import formatdate
from http import HTTPStatus
from typing import NamedTuple

__all__ = [
    "END", "MAX_BODY_BYTES", "MAX_HEADER_FIELDS", "MAX_HEAD_BYTES", "METHODS", "PREFLIGHT", "Refusal",
    "RequestHeads", "body_length", "expects_continue", "fields_refusal", "head_refusal", "http_date",
    "keeps_alive", "line_refusal", "lines_body_length", "lines_refusal",
]  # fmt: skip

MAX_HEAD_BYTES = 16 * 1024  # picows' bound on a request head, the blank line excluded
MAX_HEADER_FIELDS = 128  # picows' bound on the header fields of a request
MAX_BODY_BYTES = 64 * 1024  # a request body's bound (the module's docstring)
METHODS = (b"GET", b"POST", b"PUT", b"DELETE")  # Binance's REST methods (trading part 1 §3.1)
PREFLIGHT = b"OPTIONS"  # a CORS preflight (the Fetch standard's), which Binance's fapi allows (part 1 §7.3)
_ALLOW = (("Allow", "GET, POST, PUT, DELETE, OPTIONS"),)
END = b"\r\n\r\n"  # a head's blank line, after its last field's CRLF
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)")


class Refusal(NamedTuple):
    """An HTTP answer after which the connection is closed."""

    status: int
    body: bytes  # short and fixed: it never echoes the request
    headers: tuple[tuple[str, str], ...] = ()
    head_only: bool = False  # the answer to a HEAD request carries no body (RFC 9110 §9.3.2)

    def to_bytes(self, date: bytes = b"") -> bytes:
        """The answer, with ``date`` (``http_date``'s) as its ``Date`` when given."""
        status = HTTPStatus(self.status)
        lines = [
            f"HTTP/1.1 {status.value} {status.phrase}",
            "Content-Type: text/plain; charset=utf-8",
            f"Content-Length: {len(self.body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in self.headers),
            *((f"Date: {date.decode()}",) if date else ()),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        return head if self.head_only else head + self.body


class RequestHeads:
    """A connection's request heads in the order they arrive, each complete at its blank line
    or refused at the bound. ``next`` shows the first head not yet answered, ``consume``
    drops it; whatever came after it stays for the next."""

    __slots__ = ("_buffer", "_searched")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._searched = 0  # where the first head's blank line was not, so far

    @property
    def received(self) -> bytes:
        """Every byte from the first head not yet consumed on: it, and what came after."""
        return bytes(self._buffer)

    @property
    def started(self) -> bool:
        """Whether any byte of a next head has come."""
        return bool(self._buffer)

    def receive(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data

    def next(self) -> bytes | Refusal | None:
        """The first complete head (without its blank line), a refusal of one too long, or
        None while it is incomplete."""
        head = self._buffer
        if head[:2] == b"\r\n" and not self._searched:
            # empty lines before a request line are ignored (RFC 9112 §2.2): some clients
            # end a request's body with one more CRLF than it has
            while head[:2] == b"\r\n":
                del head[:2]
        end = head.find(END, self._searched)
        if end < 0:
            if len(head) >= MAX_HEAD_BYTES:
                return _too_long(head)
            self._searched = max(0, len(head) - len(END) + 1)
            return None
        if end >= MAX_HEAD_BYTES:
            return _too_long(head[:end])
        return bytes(head[:end])

    def body(self, head: bytes, length: int) -> bytes | None:
        """The ``length`` bytes after ``head`` (``next``'s) and its blank line, or None
        while they have not all come."""
        start = len(head) + len(END)
        if len(self._buffer) < start + length:
            return None
        return bytes(self._buffer[start : start + length])

    def consume(self, body_length: int = 0) -> None:
        """Drop the head ``next`` showed, its blank line and its body of ``body_length``
        bytes: what follows is the next request's."""
        head = self._buffer
        del head[: head.find(END) + len(END) + body_length]
        self._searched = 0


def keeps_alive(headers: Mapping[str, str]) -> bool:
    """Whether the connection carries another request after this one's answer: not when the
    client asks to close (``Connection: close``, RFC 9112 §9.6). ``headers``: looked up
    case-insensitively."""
    connection = headers.get("connection")
    return connection is None or "close" not in (token.strip().lower() for token in connection.split(","))


def expects_continue(headers: Mapping[str, str]) -> bool:
    """Whether the client waits for ``100 Continue`` before it sends its body (RFC 9110
    §10.1.1; curl does for a body over 1 KiB, and would wait a second for it)."""
    expect: str = headers.get("expect", "")
    return expect.lower() == "100-continue"


_DATE: list[tuple[int, bytes]] = [(-1, b"")]  # the last second asked for, and its date


def http_date(now_ms: int) -> bytes:
    """The ``Date`` of an answer made at ``now_ms`` (IMF-fixdate, RFC 9110 §5.6.7), written
    once per second."""
    second = now_ms // 1000
    last_second, last = _DATE[0]
    if second != last_second:
        last = formatdate(second, usegmt=True).encode()
        _DATE[0] = (second, last)
    return last


def _too_long(head: bytearray) -> Refusal:
    line_end = head.find(b"\r\n")
    line = len(head) if line_end < 0 else line_end
    if line > len(head) - line:
        return Refusal(HTTPStatus.REQUEST_URI_TOO_LONG, b"Request line too long\n")
    return Refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, b"Request header fields too large\n")


def head_refusal(head: bytes) -> Refusal | None:
    """What the listener refuses of a complete head before routing it, or None."""
    return lines_refusal(head.split(b"\r\n"))


def lines_refusal(lines: list[bytes]) -> Refusal | None:
    """``head_refusal`` of a head split at its line ends (its request line first)."""
    return line_refusal(lines[0]) or fields_refusal(len(lines) - 1)


def line_refusal(line: bytes) -> Refusal | None:
    """What the listener refuses of a request line (the checks of ``head_refusal`` before
    the field count), or None."""
    words = line.split(b" ")
    if len(words) != 3:
        return Refusal(HTTPStatus.BAD_REQUEST, b"Malformed request line\n")
    method, _, version = words
    if version == b"HTTP/1.1" and (method in METHODS or method == PREFLIGHT):  # every request a client means
        return None
    numbers = _VERSION.fullmatch(version)
    if numbers is None:
        return Refusal(HTTPStatus.BAD_REQUEST, b"Malformed request line\n")
    if numbers[1] != b"1":
        return Refusal(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, b"HTTP/1.1 required\n")
    if numbers[2] != b"1":
        return Refusal(HTTPStatus.BAD_REQUEST, b"HTTP/1.1 required\n")
    if method not in METHODS and method != PREFLIGHT:
        head_only = method == b"HEAD"
        return Refusal(HTTPStatus.METHOD_NOT_ALLOWED, b"Method not allowed\n", _ALLOW, head_only=head_only)
    return None


def fields_refusal(count: int) -> Refusal | None:
    """The refusal of a head with ``count`` header fields, or None."""
    if count > MAX_HEADER_FIELDS:
        return Refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, b"Too many header fields\n")
    return None


def body_length(head: bytes) -> int | Refusal:
    """The length of the body that follows ``head`` (0 without ``Content-Length``), or how
    its framing is refused (the module's docstring). Read from the head's own lines, not a
    parser's dictionary, so that a field sent twice is seen twice."""
    return lines_body_length(head.split(b"\r\n"))


def lines_body_length(lines: list[bytes]) -> int | Refusal:
    """``body_length`` of a head split at its line ends (its request line first)."""
    lengths: list[bytes] = []
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            lengths.append(value.strip())
        elif name == b"transfer-encoding":
            chunked = True
    if chunked:
        if lengths:
            return Refusal(HTTPStatus.BAD_REQUEST, b"Content-Length and Transfer-Encoding both sent\n")
        return Refusal(HTTPStatus.LENGTH_REQUIRED, b"Transfer-Encoding not supported; send Content-Length\n")
    if not lengths:
        return 0
    if len(lengths) > 1:
        return Refusal(HTTPStatus.BAD_REQUEST, b"Content-Length sent more than once\n")
    value = lengths[0]
    if not value.isdigit() or not value.isascii():
        return Refusal(HTTPStatus.BAD_REQUEST, b"Malformed Content-Length\n")
    if len(value) > 12 or int(value) > MAX_BODY_BYTES:  # over 12 digits: 413, never parsed
        return Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"Request body too large\n")
    return int(value)
