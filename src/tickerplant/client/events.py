"""Market-stream payloads as typed, immutable events, and a decoder for every frame a
stream connection receives.

The payload structs are defined once, in ``tickerplant.market.payloads.events`` and
``tickerplant.market.payloads.derived_events``, for the plant that writes them and for this decoder
(spec §4.1–4.10, §4.12): readable attribute names, Binance's wire keys by ``rename``, the
wire ``e`` as the tag, so a single ``msgspec.json.Decoder`` over the tagged union turns
bytes straight into the right struct in one pass, with no intermediate dict. They are
re-exported here.

Decimals are JSON strings on the wire (spec §4.0) and become ``decimal.Decimal`` here
(or stay ``str`` with ``numbers=str``), so prices and quantities stay exact. Unknown keys
are ignored: real Binance appends ``st`` and, since the mid-2026 merge, ``ps`` (spec
§4.13), and may add more. Optional keys default to ``None``.

Frames a stream connection receives (spec §2.3, §3.1, §3.3):

- raw (``/ws``): the payload alone, an object or, for ``!ticker@arr``,
  ``!miniTicker@arr``, ``!markPrice@arr[@1s]`` and COIN-M's ``<pair>@markPrice[@1s]``, an
  array of objects;
- combined (``/stream``): ``{"stream":"<name>","data":<payload>}``;
- control replies ``{"result":…,"id":…}`` and errors ``{"error":{"code","msg"},"id":…}``.

An event type this module does not model (``!contractInfo``, ``!assetIndex@arr``, …) is
returned as an ``UnknownEvent`` holding its bytes, never raised: a client that subscribes
to a stream we do not type must keep running; so is JSON that is no stream's event and no
reply (``stream`` None, its reason said). Bytes that are not JSON raise
``msgspec.DecodeError``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Generic, TypeAlias, Union

import msgspec

from tickerplant.market.messages import StreamKind
from tickerplant.market.payloads.derived_events import (
    ContinuousKline,
    ContinuousKlineData,
    ForceOrder,
    IndexPriceKline,
    IndexPriceUpdate,
    Kline,
    KlineData,
    LiquidationOrder,
    MarkPriceKline,
    MarkPriceUpdate,
    PriceKlineData,
)
from tickerplant.market.payloads.events import (
    AggTrade,
    BookTicker,
    DepthUpdate,
    MiniTicker,
    N,
    Ticker,
    Trade,
    payload_decoder,
)

__all__ = [
    "AggTrade",
    "BookTicker",
    "Buffer",
    "CombinedEnvelope",
    "CombinedFrame",
    "ContinuousKline",
    "ContinuousKlineData",
    "Decoded",
    "DepthUpdate",
    "ForceOrder",
    "IndexPriceKline",
    "IndexPriceUpdate",
    "Kline",
    "KlineData",
    "LiquidationOrder",
    "MarkPriceKline",
    "MarkPriceUpdate",
    "MarketEvent",
    "MiniTicker",
    "Payload",
    "PriceKlineData",
    "Reply",
    "StreamDecoder",
    "Ticker",
    "Trade",
    "UnknownEvent",
    "stream_of",
]


MarketEvent: TypeAlias = (
    BookTicker[Any] | MiniTicker[Any] | Ticker[Any] | Trade[Any] | AggTrade[Any] | DepthUpdate[Any]
    | Kline[Any] | ContinuousKline[Any] | MarkPriceUpdate[Any] | IndexPriceUpdate[Any] | ForceOrder[Any]
    | MarkPriceKline[Any] | IndexPriceKline[Any]
)


class UnknownEvent(msgspec.Struct, frozen=True):
    """A payload this module does not type (or one that does not match its type)."""

    stream: str | None  # the combined frame's stream name; None on raw connections
    raw: bytes  # the payload itself (inside "data" for combined frames), still JSON
    reason: str = ""  # msgspec's validation message, to tell schema drift from new types


class Reply(msgspec.Struct, frozen=True):
    """The answer to a control message (spec §3.1), or an error (spec §3.3)."""

    id: int | str | None  # the request id, echoed with its JSON type; None when unechoable
    result: Any  # null for SUBSCRIBE and friends, a list for LIST_SUBSCRIPTIONS, a bool …
    error_code: int | None = None  # §3.3 code: 0 property, 1 value, 2 request, 3 JSON, 4 cap
    error_msg: str | None = None  # §3.3 text; clients should match on the code

    @property
    def ok(self) -> bool:
        return self.error_code is None


# A frame's bytes; a memoryview lets a picows shell decode inside its frame callback
# without copying the payload first.
Buffer: TypeAlias = bytes | bytearray | memoryview
# What one payload decodes to: one event, an array stream's events, or bytes we do not type.
Payload: TypeAlias = MarketEvent | list[MarketEvent] | UnknownEvent
# What ``StreamDecoder.decode`` returns: (stream or None on raw frames, payload), or a reply.
Decoded: TypeAlias = tuple[str | None, Payload] | Reply


class _Combined(msgspec.Struct, frozen=True, gc=False):
    """A combined (``/stream``) frame, ``{"stream":"<name>","data":<payload>}`` (spec §2.3)."""

    stream: str  # the stream name as subscribed


class CombinedEnvelope(_Combined, frozen=True, gc=False):
    """A combined frame with its payload left undecoded, byte for byte: the slow path for
    payloads this module does not type, and the way to pass a payload on unread."""

    data: msgspec.Raw  # the payload, still JSON


# Every payload type the decoder knows, one object (a frame holds one or an array of them).
_Typed: TypeAlias = Union[  # noqa: UP007 (a generic alias, parameterized by N below)
    BookTicker[N], MiniTicker[N], Ticker[N], Trade[N], AggTrade[N], DepthUpdate[N], Kline[N],
    ContinuousKline[N], MarkPriceUpdate[N], IndexPriceUpdate[N], ForceOrder[N], MarkPriceKline[N],
    IndexPriceKline[N],
]  # fmt: skip


class CombinedFrame(_Combined, Generic[N], frozen=True, gc=False):
    """A combined frame of a typed payload, as ``decode_combined_frame`` makes it."""

    data: _Typed[N] | list[_Typed[N]]


class _ErrorBody(msgspec.Struct, frozen=True):
    code: int | None = None
    msg: str | None = None


class _ReplyWire(msgspec.Struct, frozen=True):
    result: Any = None
    error: _ErrorBody | None = None
    id: int | str | None = None


class _Probe(msgspec.Struct, frozen=True):
    """Which kind of object a frame is, when its leading bytes did not say."""

    e: Any = msgspec.UNSET
    stream: Any = msgspec.UNSET
    data: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    result: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    error: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


# Leading bytes of the compact frames Binance and tickerplant send; anything else (spaces,
# another key order) takes the slower probing path, so correctness never depends on them.
_RAW_OBJECT = b'{"e":'
_COMBINED = b'{"stream":'
_REPLY_PREFIXES = (b'{"result":', b'{"error":', b'{"id":')
_SPACE = b" \t\r\n"


class StreamDecoder:
    """Decodes stream-connection frames into events; stateless apart from its decoders,
    so one instance can serve every connection."""

    __slots__ = ("_combined", "_combined_raw", "_probe", "_raw", "_reply", "decode_combined_frame")

    def __init__(self, numbers: type[Decimal] | type[str] = Decimal) -> None:
        """``numbers``: ``Decimal`` (the default) or ``str`` for prices and quantities."""
        self._raw = payload_decoder(numbers)
        combined: Any = CombinedFrame[numbers]  # type: ignore[valid-type]
        self._combined: msgspec.json.Decoder[Any] = msgspec.json.Decoder(combined)
        # decode_combined's fast path with no Python frame around it, for a shell that
        # decodes a million frames a second; it raises where decode_combined would fall back.
        self.decode_combined_frame: Callable[[Buffer], CombinedFrame[Any]] = self._combined.decode
        self._combined_raw = msgspec.json.Decoder(CombinedEnvelope)
        self._reply = msgspec.json.Decoder(_ReplyWire)
        self._probe = msgspec.json.Decoder(_Probe)

    def decode_raw(self, payload: Buffer) -> Payload:
        """A raw (``/ws``) frame: one event, a list for the ``@arr`` streams, or an
        ``UnknownEvent`` for a payload that is not one of ours."""
        try:
            decoded: Payload = self._raw.decode(payload)
        except msgspec.ValidationError as exc:
            return UnknownEvent(None, bytes(payload), str(exc))
        return decoded

    def decode_combined(self, payload: Buffer) -> tuple[str, Payload]:
        """A combined (``/stream``) frame ``{"stream":…,"data":…}``: the stream name and
        what ``decode_raw`` would make of ``data``. Raises ``msgspec.ValidationError`` for a
        frame that is not combined."""
        try:
            frame = self._combined.decode(payload)
        except msgspec.ValidationError as exc:
            # Either a payload type we do not model or a frame that is not combined at all;
            # the second decode tells them apart and raises for the latter.
            wrapper = self._combined_raw.decode(payload)
            return wrapper.stream, UnknownEvent(wrapper.stream, bytes(wrapper.data), str(exc))
        return frame.stream, frame.data

    def decode_untyped_combined(self, payload: Buffer, reason: str) -> UnknownEvent:
        """What ``decode_combined`` makes of a frame that ``decode_combined_frame`` refused
        with a ``msgspec.ValidationError`` (``reason``): an ``UnknownEvent``, or, for a frame
        that is not combined, a ``msgspec.ValidationError``."""
        wrapper = self._combined_raw.decode(payload)
        return UnknownEvent(wrapper.stream, bytes(wrapper.data), reason)

    def decode_reply(self, payload: Buffer) -> Reply:
        """A control reply or error (spec §3.1, §3.3)."""
        wire = self._reply.decode(payload)
        if wire.error is None:
            return Reply(wire.id, wire.result)
        return Reply(wire.id, wire.result, wire.error.code, wire.error.msg)

    def decode(self, payload: Buffer) -> Decoded:
        """Any frame a stream connection receives, raw or combined, event or reply.

        Returns ``(stream, payload)`` for events, with ``stream`` None on raw frames (see
        ``stream_of``), or a ``Reply``.
        """
        if payload[:5] == _RAW_OBJECT:
            return None, self.decode_raw(payload)
        if payload[:10] == _COMBINED:
            return self.decode_combined(payload)
        if payload[:1] == b"[":
            return None, self.decode_raw(payload)
        head = bytes(payload[:10])
        if head.startswith(_REPLY_PREFIXES):
            return self.decode_reply(payload)
        return self._decode_unusual(payload)

    def _decode_unusual(self, payload: Buffer) -> Decoded:
        stripped = bytes(payload).lstrip(_SPACE)
        if stripped[:1] == b"[":
            return None, self.decode_raw(payload)
        try:
            probe = self._probe.decode(payload)
        except msgspec.ValidationError as exc:  # valid JSON, but not an object
            return None, UnknownEvent(None, bytes(payload), str(exc))
        if isinstance(probe.stream, str) and probe.data is not msgspec.UNSET:
            return self.decode_combined(payload)
        if probe.e is not msgspec.UNSET:
            return None, self.decode_raw(payload)
        if probe.result is not msgspec.UNSET or probe.error is not msgspec.UNSET:
            return self.decode_reply(payload)
        return None, UnknownEvent(None, bytes(payload), "not a stream event or a reply")


# The stream suffix each single-symbol event type arrives on (spec §3.5). Depth, mark and
# index prices are absent: their names carry a level count or a speed (`@1s`) the payload
# does not reveal. Klines and liquidations are named below.
_SUFFIX: dict[type, str] = {
    BookTicker: "@" + StreamKind.BOOK_TICKER.value,
    MiniTicker: "@" + StreamKind.MINI_TICKER.value,
    Ticker: "@" + StreamKind.TICKER.value,
    Trade: "@" + StreamKind.TRADE.value,
    AggTrade: "@" + StreamKind.AGG_TRADE.value,
}


@functools.lru_cache(maxsize=8192)  # bounded: one entry per (symbol, kind) actually seen
def _stream_name(symbol: str, suffix: str) -> str:
    # Stream names spell the symbol in lowercase, the payload in its listed form (§4.0).
    return symbol.lower() + suffix


def stream_of(event: MarketEvent | UnknownEvent) -> str | None:
    """The single-symbol stream a raw-frame event belongs to, e.g. ``btcusdt@bookTicker``,
    ``btcusdt@kline_1m``, ``btcusdt_perpetual@continuousKline_1m``, ``btcusdt@forceOrder``.

    None for depth, mark and index prices (the level count or speed is unknown) and for an
    ``UnknownEvent`` from a raw frame. Events of ``!bookTicker``, ``!miniTicker@arr``,
    ``!ticker@arr`` and ``!forceOrder@arr`` map to the per-symbol stream, since the payload
    is the same.
    """
    if isinstance(event, UnknownEvent):
        return event.stream
    suffix = _SUFFIX.get(type(event))
    if suffix is not None:
        return _stream_name(event.symbol, suffix)  # type: ignore[union-attr]
    if isinstance(event, Kline):
        return _stream_name(event.symbol, f"@{StreamKind.KLINE.value}_{event.kline.interval}")
    if isinstance(event, ContinuousKline):
        # §3.5: `<pair>_<contractType>`, the contract type lowercase like the pair
        name = f"{event.pair}_{event.contract_type}"
        return _stream_name(name, f"@{StreamKind.CONTINUOUS_KLINE.value}_{event.kline.interval}")
    if isinstance(event, ForceOrder):
        return _stream_name(event.order.symbol, "@" + StreamKind.FORCE_ORDER.value)
    return None
