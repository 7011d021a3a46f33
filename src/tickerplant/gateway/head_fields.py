"""A request head's header fields read once per distinct block of them.

A client's requests on its connections differ in their request line (a signed request's
query carries its own ``timestamp`` and ``signature``) and rarely in their fields: the
same ``Host``, ``X-MBX-APIKEY`` and ``Content-Length: 0`` on every order and cancel. What
the listener reads of the fields (their count's refusal, the body's framing, the fields as
picows' parser would take them, whether they ask to upgrade) is a function of their bytes
alone, so it is read once per block and kept (``read_fields``): at most ``FIELDS_KEPT``
blocks of up to ``FIELD_BLOCK_KEPT_BYTES`` each, forgotten all at once when full; a longer
block is read each time. The fields are kept read-only (``CIMultiDictProxy``): every
request of the block shares them.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from multidict import CIMultiDict, CIMultiDictProxy

from tickerplant.gateway.http_head import Refusal, fields_refusal, lines_body_length

__all__ = ["FIELDS_KEPT", "FIELD_BLOCK_KEPT_BYTES", "FieldsRead", "read_fields"]

FIELDS_KEPT = 4096  # distinct field blocks remembered (one or two per client, most often)
FIELD_BLOCK_KEPT_BYTES = 1024  # a longer block is read every time: at most 4 MiB kept
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a field's name (picows' _is_http_token)
_NOT_IN_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # picows' _is_valid_http_field_value


class FieldsRead(NamedTuple):
    """What a block of header fields says, whatever the request line before it."""

    refusal: Refusal | None  # too many fields, or the body's framing refused (``http_head``)
    body_length: int  # ``Content-Length``'s (0 without it, or when refused)
    # the fields as picows' parser takes a GET's, ``Content-Length`` left out; None: refused
    headers: CIMultiDictProxy[str] | None
    upgrade: bool  # the fields ask for a WebSocket (``Upgrade: websocket``)


_read: dict[bytes, FieldsRead] = {}


def read_fields(block: bytes) -> FieldsRead:
    """``block`` (a head after its request line: each field behind its CRLF; b"" for none)
    read, or as read before."""
    known = _read.get(block)
    if known is not None:
        return known
    made = _read_block(block)
    if len(block) <= FIELD_BLOCK_KEPT_BYTES:
        if len(_read) >= FIELDS_KEPT:
            _read.clear()
        _read[block] = made
    return made


def _read_block(block: bytes) -> FieldsRead:
    lines = block.split(b"\r\n")[1:]  # the block starts with the request line's CRLF
    refusal = fields_refusal(len(lines))
    length = lines_body_length([b"", *lines]) if refusal is None else 0
    if isinstance(length, Refusal):
        refusal, length = length, 0
    headers = _fields_as_picows_would(lines)
    upgrade = headers is not None and headers.get("upgrade", "").lower() == "websocket"
    return FieldsRead(refusal, length, None if headers is None else CIMultiDictProxy(headers), upgrade)


def _fields_as_picows_would(lines: list[bytes]) -> CIMultiDict[str] | None:
    """The fields as picows' parser reads a GET's (the same names and values taken and
    refused), or None where it refuses them. The ``Content-Length`` fields, read by
    ``lines_body_length``, are left out, as picows would refuse a length."""
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines:
        name, colon, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            continue
        if not colon or _TOKEN.fullmatch(name) is None:  # a folded line's name is no token either
            return None
        value = value.strip(b" \t")
        if _NOT_IN_VALUE.search(value) is not None:
            return None
        headers.add(name.decode("ascii"), value.decode("ascii", "surrogateescape"))
    return headers
