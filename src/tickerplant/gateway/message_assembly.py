"""What a client's data frames add up to: messages, by RFC 6455's rules that picows leaves
to its user.

picows hands each frame over as it comes, with its FIN and RSV bits, and checks neither
fragmentation nor UTF-8. ``MessageAssembly`` (sans-I/O: frames in, a message or a close
reason out) holds one connection's rules:

- a text or binary frame without FIN starts a message that CONTINUATION frames extend,
  the last with FIN (§5.4); control frames may come between and are not its business;
- a CONTINUATION frame with no message to continue, or a new text or binary frame before
  the message ended, fails the connection with 1002 (§5.4, §7.1.7);
- a text message that is not UTF-8 fails the connection with 1007 (§5.6, §8.1), checked
  once the message is whole;
- a message, whole or reassembled, is at most ``MAX_MESSAGE_BYTES`` (1 MiB, the largest
  frame the listeners take: a fragmented message cannot be larger than an unfragmented
  one could be), in at most ``MAX_FRAGMENTS`` frames; past either the connection fails with
  1009 (§7.4.1). The fragments kept meanwhile are bounded by both: by bytes alone, a message
  of empty continuation frames never ended and grew by each (~5 MB a second from one client,
  the loop held by its frames), and one of 2-byte frames held ~30 MB under its 1 MiB.

RSV bits set on any frame (no extension is ever negotiated, §5.2) fail the connection with
1002 too; the connection checks them, on every frame, before it gets here.
"""

from __future__ import annotations

from picows import WSMsgType

from tickerplant.protocol.errors import CloseReason

__all__ = [
    "CLOSE_BAD_CONTINUATION",
    "CLOSE_INVALID_UTF8",
    "CLOSE_MESSAGE_TOO_BIG",
    "CLOSE_RESERVED_BITS",
    "CLOSE_TOO_MANY_FRAGMENTS",
    "CLOSE_UNFINISHED_MESSAGE",
    "MAX_FRAGMENTS",
    "MAX_MESSAGE_BYTES",
    "MessageAssembly",
]

MAX_MESSAGE_BYTES = 1024 * 1024  # Binance's clients refuse frames over 1 MiB
MAX_FRAGMENTS = 1024  # frames a message may come in (a client sends one, or a few)

CLOSE_RESERVED_BITS = CloseReason(1002, "Reserved bits set: no extension was negotiated")
CLOSE_BAD_CONTINUATION = CloseReason(1002, "Continuation frame without a message to continue")
CLOSE_UNFINISHED_MESSAGE = CloseReason(1002, "New message before the fragmented one ended")
CLOSE_INVALID_UTF8 = CloseReason(1007, "Text message is not valid UTF-8")
CLOSE_MESSAGE_TOO_BIG = CloseReason(1009, f"Message over {MAX_MESSAGE_BYTES} bytes")
CLOSE_TOO_MANY_FRAGMENTS = CloseReason(1009, f"Message in over {MAX_FRAGMENTS} frames")


class MessageAssembly:
    """One connection's data frames, made into messages."""

    __slots__ = ("_size", "_text", "fragments")

    def __init__(self) -> None:
        self.fragments: list[bytes] = []  # the message being reassembled; empty: none
        self._size = 0
        self._text = False

    def receive(self, msg_type: WSMsgType, fin: bool, payload: bytes) -> bytes | CloseReason | None:
        """A data frame (text, binary or continuation): the whole message once it is
        complete, the reason to fail the connection, or None while fragments are due."""
        fragments = self.fragments
        if msg_type is WSMsgType.CONTINUATION:
            if not fragments:
                return CLOSE_BAD_CONTINUATION
            self._size += len(payload)
            if self._size > MAX_MESSAGE_BYTES:
                return CLOSE_MESSAGE_TOO_BIG
            if len(fragments) >= MAX_FRAGMENTS:
                return CLOSE_TOO_MANY_FRAGMENTS
            fragments.append(payload)
            if not fin:
                return None
            message = b"".join(fragments)
            fragments.clear()
            return _checked(message) if self._text else message
        if fragments:
            return CLOSE_UNFINISHED_MESSAGE
        text = msg_type is WSMsgType.TEXT
        if fin:
            return _checked(payload) if text else payload
        fragments.append(payload)
        self._size = len(payload)
        self._text = text
        return None


def _checked(text: bytes) -> bytes | CloseReason:
    if not text.isascii():
        try:
            text.decode()
        except UnicodeDecodeError:
            return CLOSE_INVALID_UTF8
    return text
