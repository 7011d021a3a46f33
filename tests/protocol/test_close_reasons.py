"""A WebSocket close's reason (``protocol/errors.closing``): within a close frame's bytes."""

from __future__ import annotations

from tickerplant.protocol.errors import closing


def test_a_close_reason_is_cut_to_a_close_frames_bytes_whatever_its_characters() -> None:
    """RFC 6455 §5.5: a close frame's reason is at most 123 bytes of UTF-8; a reason naming a
    file (any characters) is cut by bytes, never inside a character (a cut by characters let
    120 of them be up to 480 bytes)."""
    assert closing(1011, "short") == (1011, "short")
    for reason in ("x" * 200, "é" * 100, "日本" * 50, "a" + "🙂" * 40):
        cut = closing(1011, reason).reason
        assert len(cut.encode()) <= 123 and cut.endswith("...") and reason.startswith(cut[:-3]), reason
