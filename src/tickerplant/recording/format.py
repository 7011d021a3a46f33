"""The recording format: raw stream messages with their receive times, in rotated gzip files.

A recording is a directory of files named ``tickerplant-<market>-<UTC start>.jsonl.gz``
(start as ``%Y%m%dT%H%M%S%fZ``). Each is a gzip stream of JSON lines and stands alone:

    {"format":"tickerplant-recording","version":2,"market":"um","url":"…","streams":[…],"started_us":…}
    {"r":<receive Unix µs>,"s":"<stream name as received>","d":<the payload, byte for byte>}
    {"r":<Unix µs>,"lost":["<stream>",…]}
    {"r":<Unix µs>,"depth":"<SYMBOL>","d":<a REST depth answer, byte for byte>}

"d" is the payload spliced in unchanged (it is JSON already), so a replay hands out the
very bytes the server sent. A payload that cannot be spliced into one line and come back
identical (a newline in it, whitespace around it, not JSON) is refused with ``ValueError``.
A "lost" line says a connection carrying those streams dropped: messages may be missing.

A "depth" line (version 2) is the body of ``GET /fapi/v1/depth`` (``/dapi/v1/depth``)
``?symbol=<SYMBOL>&limit=1000`` as the server answered it, fetched when a diff-depth
stream of the symbol starts delivering and again after every loss or ``pu`` break on it
(spec §4.9 step 2): with the recorded diff events it lets a replay keep the book those
events describe and answer depth requests consistently with them. Its time is that of
the last message written before it, so a file's times never go back. Version 1 files (no
"depth" lines) still read; their depth streams replay, but no book is kept from them.

The writer starts a new file when the current one holds ``rotate_bytes`` uncompressed or is
``rotate_s`` old, and sync-flushes the compressor about once a second, so a recorder that
is killed loses about a second; the reader (``reading.py``) stops with a warning where
such a file ends.

Encoding, decoding and the rotation decision are plain functions of their inputs (time
included); the only I/O is the ``Output`` each file is written through.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, NamedTuple, Protocol

import msgspec

from tickerplant.market.instruments import Market

__all__ = [
    "COMPRESS_LEVEL", "FLUSH_S", "FORMAT", "ROTATE_BYTES", "ROTATE_S", "SUFFIX", "VERSION",
    "GzipOutput", "Item", "Output", "Recorded", "RecordedLoss", "RecordedSnapshot",
    "RecordingHeader", "RecordingWriter", "Rotation", "decode_header", "decode_item",
    "encode_header", "encode_item", "file_name",
]  # fmt: skip

FORMAT = "tickerplant-recording"
VERSION = 2
_READABLE_VERSIONS = (1, 2)
SUFFIX = ".jsonl.gz"
ROTATE_BYTES = 256 * 1024 * 1024  # uncompressed bytes per file
ROTATE_S = 3600.0
FLUSH_S = 1.0  # what a killed recorder may lose
# On recorded market data, level 5 costs half the CPU of zlib's default 6 and a seventh of
# gzip's 9 for files 3 % and 12 % bigger (1.4, 2.6, 9.4 µs a line): the compressor is what
# bounds the rate a recorder sustains.
COMPRESS_LEVEL = 5
CHUNK_BYTES = 64 * 1024  # lines are compressed in chunks: one zlib call per ~300 messages

_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STAMP = "%Y%m%dT%H%M%S%fZ"
_WHITESPACE = b" \t\r\n"



class RecordingHeader(NamedTuple):
    market: Market
    url: str  # the stream URL recorded from
    streams: tuple[str, ...]  # as subscribed
    started_us: int  # Unix µs the file was opened
    version: int = VERSION  # 1: written before "depth" lines existed


class Recorded(NamedTuple):
    received_us: int  # Unix µs the frame was read
    stream: str  # the stream name the combined frame carried
    data: bytes  # the payload, byte for byte


class RecordedLoss(NamedTuple):
    received_us: int  # Unix µs the loss was seen
    streams: tuple[str, ...]  # what the dropped connection carried


class RecordedSnapshot(NamedTuple):
    received_us: int  # Unix µs: that of the last message written before it
    symbol: str  # as the request named it (upper case)
    data: bytes  # the REST depth answer, byte for byte


Item = Recorded | RecordedLoss | RecordedSnapshot


# -- lines ---------------------------------------------------------------------------------


class _Header(msgspec.Struct):
    format: str
    version: int
    market: Market
    url: str
    streams: tuple[str, ...]
    started_us: int


class _Loss(msgspec.Struct):
    r: int
    lost: tuple[str, ...]


class _Line(msgspec.Struct):
    """Any kind of item line, for decoding."""

    r: int
    s: str | None = None
    d: msgspec.Raw = msgspec.Raw()  # the payload's exact bytes; empty when absent
    lost: tuple[str, ...] | None = None
    depth: str | None = None


_encoder = msgspec.json.Encoder()
_line_decoder = msgspec.json.Decoder(_Line)
_header_decoder = msgspec.json.Decoder(_Header)
_json_value = msgspec.json.Decoder(msgspec.Raw)  # validates one JSON value, keeps no copy


def encode_header(header: RecordingHeader) -> bytes:
    market, url, streams, started_us, _ = header
    return _encoder.encode(_Header(FORMAT, VERSION, market, url, streams, started_us)) + b"\n"


def decode_header(line: bytes) -> RecordingHeader:
    """The header of a recording; ``ValueError`` if ``line`` is not one."""
    try:
        header = _header_decoder.decode(line)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a recording header: {exc}") from None
    if header.format != FORMAT or header.version not in _READABLE_VERSIONS:
        raise ValueError(f"not a {FORMAT} version 1 or {VERSION} header: {header.format} {header.version}")
    return RecordingHeader(header.market, header.url, header.streams, header.started_us, header.version)


def _check_spliceable(data: bytes) -> None:
    # Splicing keeps the bytes only if they are one JSON value on one line with nothing
    # around it: the decoder's Raw gives back the value, not the whitespace beside it.
    if not data or 0x0A in data or data[0] in _WHITESPACE or data[-1] in _WHITESPACE:
        raise ValueError(f"payload cannot be spliced into a line: {data[:80]!r}")
    try:
        _json_value.decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError(f"payload is not JSON ({exc}): {data[:80]!r}") from None


# The `,"s":"<stream>","d":` between a message's time and its payload, per stream name: the
# names are few and repeat, and formatting a line is then ~3x cheaper than a Struct.
_stream_keys: dict[str, bytes] = {}
_STREAM_KEYS_MAX = 65_536  # a server sending ever new names must not grow this forever


def _stream_key(stream: str) -> bytes:
    key = _stream_keys.get(stream)
    if key is None:
        if len(_stream_keys) >= _STREAM_KEYS_MAX:
            _stream_keys.clear()
        key = _stream_keys[stream] = b',"s":' + _encoder.encode(stream) + b',"d":'
    return key


def encode_item(item: Item) -> bytes:
    """``item``'s line; ``ValueError`` if a message's payload could not come back byte
    for byte from it."""
    if isinstance(item, Recorded):
        received_us, stream, data = item
        _check_spliceable(data)
        return b'{"r":%d%b%b}\n' % (received_us, _stream_key(stream), data)
    if isinstance(item, RecordedSnapshot):
        received_us, symbol, data = item
        _check_spliceable(data)
        return b'{"r":%d,"depth":%b,"d":%b}\n' % (received_us, _encoder.encode(symbol), data)
    return _encoder.encode(_Loss(item.received_us, item.streams)) + b"\n"


def decode_item(line: bytes) -> Item:
    """The item on ``line``; ``ValueError`` if it is not an item line."""
    try:
        decoded = _line_decoder.decode(line)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a recording line: {exc}") from None
    if decoded.lost is not None:
        return RecordedLoss(decoded.r, decoded.lost)
    data = bytes(decoded.d)
    if decoded.depth is not None and data:
        return RecordedSnapshot(decoded.r, decoded.depth, data)
    if decoded.s is None or not data:
        raise ValueError("a recording line has either s and d, depth and d, or lost")
    return Recorded(decoded.r, decoded.s, data)


def file_name(market: Market, started_us: int) -> str:
    # Integer µs to a datetime without a float on the way, or %f could be off by one.
    started = _EPOCH + timedelta(microseconds=started_us)
    return f"tickerplant-{market.value}-{started.strftime(_STAMP)}{SUFFIX}"


# -- rotation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rotation:
    """When a file is full: ``rotate_bytes`` uncompressed, or ``rotate_s`` old."""

    rotate_bytes: int = ROTATE_BYTES
    rotate_s: float = ROTATE_S

    def __post_init__(self) -> None:
        if self.rotate_bytes <= 0 or self.rotate_s <= 0:
            raise ValueError("rotate_bytes and rotate_s must be positive")

    def due(self, size_bytes: int, started_us: int, now_us: int) -> bool:
        return size_bytes >= self.rotate_bytes or now_us - started_us >= self.rotate_s * _US


# -- writing -------------------------------------------------------------------------------


class Output(Protocol):
    """Where one file's lines go: compressed and written, here or in another thread."""

    def write(self, data: bytes) -> None: ...

    def flush(self) -> None:
        """Make everything written so far readable from the file."""
        ...

    def close(self) -> None: ...


class GzipOutput:
    """A new gzip file (``FileExistsError`` if ``path`` exists), written in this thread."""

    def __init__(self, path: Path, level: int = COMPRESS_LEVEL) -> None:
        self._file: IO[bytes] = open(path, "xb")  # noqa: SIM115 - closed in close()
        try:
            self._gzip = gzip.GzipFile(fileobj=self._file, mode="wb", compresslevel=level, mtime=0)
        except BaseException:
            self._file.close()
            raise

    def write(self, data: bytes) -> None:
        self._gzip.write(data)

    def flush(self) -> None:
        # A sync flush ends the deflate block on a byte boundary: a reader can decompress
        # everything up to here even if the gzip trailer never comes.
        self._gzip.flush(zlib.Z_SYNC_FLUSH)

    def close(self) -> None:
        try:
            self._gzip.close()
        finally:
            self._file.close()


OpenOutput = Callable[[Path], Output]


class RecordingWriter:
    """Items to rotated recording files in ``directory``: ``write(item, now_us)``,
    ``flush()`` (``write`` also does when one is due), ``close()``.

    A file is opened at the first write after the previous one was rotated, so a recording
    has no empty files; ``files`` lists every file opened, in order.
    """

    def __init__(
        self,
        directory: Path,
        market: Market,
        url: str,
        streams: Iterable[str],
        *,
        rotate_bytes: int = ROTATE_BYTES,
        rotate_s: float = ROTATE_S,
        flush_s: float = FLUSH_S,
        open_output: OpenOutput = GzipOutput,
    ) -> None:
        self.directory = Path(directory)
        self.market = market
        self.url = url
        self.streams = tuple(streams)
        self.rotation = Rotation(rotate_bytes, rotate_s)
        self.files: list[Path] = []
        self._flush_us = flush_s * _US
        self._open_output = open_output
        self._output: Output | None = None
        self._started_us = 0
        self._size = 0  # uncompressed bytes in the current file, header included
        self._pending = bytearray()  # lines not yet handed to the output
        self._dirty = False  # written to the output since its last flush
        self._flushed_us = 0
        self.directory.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, item: Item, now_us: int) -> None:
        """Record ``item`` at ``now_us``; ``ValueError`` (nothing written) for a payload
        that would not come back byte for byte."""
        line = encode_item(item)
        if self._output is None or self.rotation.due(self._size, self._started_us, now_us):
            self._rotate(now_us)
        self._pending += line
        self._size += len(line)
        if len(self._pending) >= CHUNK_BYTES:
            self._hand_over()
        if now_us - self._flushed_us >= self._flush_us:
            self.flush()
            self._flushed_us = now_us

    def flush(self) -> None:
        self._hand_over()
        if self._dirty and self._output is not None:
            self._output.flush()
            self._dirty = False

    def close(self) -> None:
        if self._output is not None:
            self._finish()

    def _rotate(self, now_us: int) -> None:
        if self._output is not None:
            self._finish()
        self._open(now_us)

    def _open(self, now_us: int) -> None:
        # Names carry µs: never reuse one, even for two files opened in the same µs.
        started_us = max(now_us, self._started_us + 1) if self.files else now_us
        while True:
            path = self.directory / file_name(self.market, started_us)
            try:
                self._output = self._open_output(path)
                break
            except FileExistsError:
                started_us += 1
        self.files.append(path)
        self._started_us = started_us
        header = encode_header(RecordingHeader(self.market, self.url, self.streams, started_us))
        self._pending += header
        self._size = len(header)
        # Out at once: a file on disk always says what it is, however soon it is cut off.
        self.flush()
        self._flushed_us = now_us

    def _hand_over(self) -> None:
        if self._pending and self._output is not None:
            self._output.write(bytes(self._pending))
            self._pending.clear()
            self._dirty = True

    def _finish(self) -> None:
        output = self._output
        assert output is not None
        self._hand_over()
        self._output = None
        self._dirty = False
        output.close()


# -- reading -------------------------------------------------------------------------------
