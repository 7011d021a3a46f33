"""MessageAssembly without sockets: frames in, messages or close reasons out (RFC 6455 §5.4,
§8.1), and the reassembled message's bound."""

from __future__ import annotations

from picows import WSMsgType

from tickerplant.gateway.message_assembly import (
    CLOSE_BAD_CONTINUATION,
    CLOSE_INVALID_UTF8,
    CLOSE_MESSAGE_TOO_BIG,
    CLOSE_TOO_MANY_FRAGMENTS,
    CLOSE_UNFINISHED_MESSAGE,
    MAX_FRAGMENTS,
    MAX_MESSAGE_BYTES,
    MessageAssembly,
)

TEXT, BINARY, CONTINUATION = WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION


def test_whole_frames_are_messages() -> None:
    messages = MessageAssembly()
    assert messages.receive(TEXT, True, b'{"id":1}') == b'{"id":1}'
    assert messages.receive(BINARY, True, b"\xff") == b"\xff"  # binary is not checked as text
    assert messages.receive(TEXT, True, "é".encode()) == "é".encode()


def test_fragments_make_one_message_and_the_next_starts_afresh() -> None:
    messages = MessageAssembly()
    assert messages.receive(TEXT, False, b"") is None
    assert messages.receive(CONTINUATION, False, b'{"id"') is None
    assert messages.receive(CONTINUATION, True, b":1}") == b'{"id":1}'
    assert messages.receive(TEXT, True, b"next") == b"next"
    assert messages.receive(CONTINUATION, True, b"x") == CLOSE_BAD_CONTINUATION


def test_utf8_is_checked_on_the_whole_message() -> None:
    messages = MessageAssembly()
    split = "é".encode()
    assert messages.receive(TEXT, False, split[:1]) is None  # half a character is fine here
    assert messages.receive(CONTINUATION, True, split[1:]) == split
    assert messages.receive(TEXT, True, b"\xff") == CLOSE_INVALID_UTF8
    assert messages.receive(TEXT, False, b"\xc3") is None
    assert messages.receive(CONTINUATION, True, b"") == CLOSE_INVALID_UTF8


def test_a_new_message_inside_a_fragmented_one_is_refused() -> None:
    messages = MessageAssembly()
    assert messages.receive(BINARY, False, b"a") is None
    assert messages.receive(TEXT, True, b"b") == CLOSE_UNFINISHED_MESSAGE


def test_the_reassembled_message_is_bounded() -> None:
    messages = MessageAssembly()
    assert messages.receive(TEXT, False, b" " * (MAX_MESSAGE_BYTES - 1)) is None
    assert messages.receive(CONTINUATION, False, b" ") is None  # exactly the bound
    assert messages.receive(CONTINUATION, True, b" ") == CLOSE_MESSAGE_TOO_BIG


def test_the_reassembled_message_s_frames_are_bounded() -> None:
    """Bytes alone did not bound it: empty continuation frames never reached the 1 MiB."""
    messages = MessageAssembly()
    assert messages.receive(TEXT, False, b"{") is None
    for _ in range(MAX_FRAGMENTS - 1):
        assert messages.receive(CONTINUATION, False, b"") is None
    assert messages.receive(CONTINUATION, False, b"") == CLOSE_TOO_MANY_FRAGMENTS
    again = MessageAssembly()  # the last frame that fits ends it: a message
    assert again.receive(TEXT, False, b"{") is None
    for _ in range(MAX_FRAGMENTS - 2):
        assert again.receive(CONTINUATION, False, b"") is None
    assert again.receive(CONTINUATION, True, b"}") == b"{}"
