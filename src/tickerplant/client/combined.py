"""The combined-stream frame on the wire (spec §2.3): ``{"stream":"<name>","data":<payload>}``.

What the client needs of it without decoding the payload: whether a frame is one (its
leading bytes), and its stream name and payload bytes, exactly as sent, for ``RawStreams``
to record and relay them byte for byte.
"""

from __future__ import annotations

import msgspec

from tickerplant.client.events import CombinedEnvelope

__all__ = ["COMBINED_PREFIX", "split_combined"]

# How every combined frame Binance and tickerplant send begins (compact JSON, "stream"
# first). A frame spaced or ordered otherwise still decodes, on a slower path.
COMBINED_PREFIX = b'{"stream":'
# The name's opening quote follows the prefix; the name starts after it.
_NAME_OPENS = COMBINED_PREFIX + b'"'
_NAME_START = len(_NAME_OPENS)
# What follows the name's closing quote in a compact frame, up to the payload.
_DATA_KEY = b'","data":'

_combined = msgspec.json.Decoder(CombinedEnvelope)


def split_combined(frame: bytes) -> tuple[str, bytes]:
    """A combined frame's stream name and its payload, byte for byte, without decoding it.

    Raises ``msgspec.DecodeError`` for a frame that is not a combined frame.
    """
    end = frame.find(b'"', _NAME_START)
    # Stream names hold no quote or backslash (spec §3.5), so the next quote ends the name.
    compact = frame.startswith(_NAME_OPENS) and frame.startswith(_DATA_KEY, end) and frame.endswith(b"}")
    if end > _NAME_START and compact:
        return frame[_NAME_START:end].decode(), frame[end + len(_DATA_KEY) : -1]
    decoded = _combined.decode(frame)  # spaced or reordered keys: the slow, exact way
    return decoded.stream, bytes(decoded.data)
