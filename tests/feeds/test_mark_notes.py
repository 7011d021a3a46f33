"""The market views' mark notes made from mark-price pushes a source passes through."""

from __future__ import annotations

import msgspec

from tickerplant.bus import StreamMessage
from tickerplant.feeds.mark_notes import REWIND_MS, MarkNotes, is_mark_stream

T = 1_767_225_600_000
H8 = 8 * 3_600_000


def _push(symbol: str, e: int, p: str, r: str, t: int) -> dict[str, object]:
    return {"e": "markPriceUpdate", "E": e, "s": symbol, "p": p, "P": "1.00000000", "i": "2.00000000", "r": r, "T": t}


def test_a_funding_is_noted_when_the_next_funding_time_moves_on() -> None:
    notes = MarkNotes(["BTCUSDT", "ETHUSDT"])
    out = notes.of(msgspec.json.encode(_push("BTCUSDT", T + H8 - 1000, "5.0", "0.00012000", T + H8)))
    assert [m.stream for m in out] == ["btcusdt@markState"]
    everything = [
        _push("BTCUSDT", T + H8, "6.0", "0.00010000", T + 2 * H8),
        _push("ETHUSDT", T + H8, "7.0", "0.00010000", T + 2 * H8),
        _push("SOLUSDT", T + H8, "8.0", "0.00010000", T + 2 * H8),  # not listed: passed over
    ]
    out = notes.of(msgspec.json.encode(everything))
    assert [m.stream for m in out] == ["btcusdt@fundingEvent", "btcusdt@markState", "ethusdt@markState"]
    # told at the E of the push that moved T on: the upstream's clock (venue/clearing/funding.py)
    assert msgspec.json.decode(out[0].payload) == {"s": "BTCUSDT", "T": T + H8, "r": "0.00012000", "p": "5.0", "E": T + H8}
    state = msgspec.json.decode(out[1].payload)
    assert (state["p"], state["ir"], state["T"], state["t"]) == ("6.0", "0.00010000", T + 2 * H8, T + H8)


def test_a_delivery_contract_has_no_interest_rate_and_no_funding() -> None:
    notes = MarkNotes(["BTCUSD_250627"])
    notes.of(msgspec.json.encode([_push("BTCUSD_250627", T, "5.0", "", 0)]))
    (state,) = notes.of(msgspec.json.encode([_push("BTCUSD_250627", T + 1000, "5.0", "", 0)]))
    assert msgspec.json.decode(state.payload)["ir"] == ""
    assert notes.of(b'{"e":"kline"}') == [] and notes.of(b"not json") == []


def test_which_streams_carry_mark_prices() -> None:
    marks = ["btcusdt@markPrice", "btcusdt@markPrice@1s", "!markPrice@arr@1s", "btcusd@markPrice@1s"]
    assert all(map(is_mark_stream, marks))
    assert not any(map(is_mark_stream, ["btcusd@indexPrice@1s", "btcusdt@markPriceKline_1m", "btcusdt@trade"]))


def test_the_same_push_on_two_streams_is_one_sample() -> None:
    """A relay subscribes a symbol's ``markPrice``, ``markPrice@1s`` and the all-market arrays:
    the push of one moment comes on each, and is noted once (a mark kline's sample count,
    index 8, is 60 a whole minute, docs/fidelity.md)."""
    notes = MarkNotes(["BTCUSDT"])
    push = _push("BTCUSDT", T + 1000, "5.0", "0.00010000", T + H8)
    assert len(notes.of(msgspec.json.encode(push))) == 1
    assert notes.of(msgspec.json.encode([push])) == []  # the same moment again, from an array
    assert len(notes.of(msgspec.json.encode(_push("BTCUSDT", T + 2000, "5.1", "0.00010000", T + H8)))) == 1


def _state(out: list[StreamMessage]) -> list[tuple[str, int]]:
    return [(m.stream, msgspec.json.decode(m.payload)["t"]) for m in out if m.stream.endswith("@markState")]


def test_after_a_loss_the_next_push_is_taken_whatever_its_time() -> None:
    """A replaying upstream restarted: its clock is behind the last push noted. The mark
    follows it at once, and no funding is made of the two time lines' ``T``."""
    notes = MarkNotes(["BTCUSDT"])
    notes.of(msgspec.json.encode(_push("BTCUSDT", T + 5000, "5.0", "0.00010000", T + H8)))
    assert notes.of(msgspec.json.encode(_push("BTCUSDT", T + 1000, "4.0", "0.00010000", T + H8))) == []
    notes.lost()
    out = notes.of(msgspec.json.encode(_push("BTCUSDT", T - H8 + 1000, "4.0", "0.00010000", T)))
    assert _state(out) == [("btcusdt@markState", T - H8 + 1000)]
    out = notes.of(msgspec.json.encode(_push("BTCUSDT", T - H8 + 2000, "4.1", "0.00010000", T)))
    assert _state(out) == [("btcusdt@markState", T - H8 + 2000)], "and on from there"
    assert notes.of(msgspec.json.encode(_push("BTCUSDT", T - H8 + 1500, "4.0", "0.00010000", T))) == []


def test_a_funding_across_a_loss_is_noted_when_the_upstream_goes_on() -> None:
    notes = MarkNotes(["BTCUSDT"])
    notes.of(msgspec.json.encode(_push("BTCUSDT", T + H8 - 1000, "5.0", "0.00012000", T + H8)))
    notes.lost()
    out = notes.of(msgspec.json.encode(_push("BTCUSDT", T + H8 + 9000, "6.0", "0.00010000", T + 2 * H8)))
    assert [m.stream for m in out] == ["btcusdt@fundingEvent", "btcusdt@markState"]


def test_a_push_far_behind_the_last_starts_the_time_line_over_without_a_loss() -> None:
    """A replaying upstream sent back, its connection kept: a straggler of a slower stream is
    passed over, a push more than ``REWIND_MS`` behind is a new time line."""
    notes = MarkNotes(["BTCUSDT"])
    notes.of(msgspec.json.encode(_push("BTCUSDT", T + H8 + 60_000, "5.0", "0.00012000", T + 2 * H8)))
    straggler = _push("BTCUSDT", T + H8 + 60_000 - REWIND_MS, "5.0", "0.00012000", T + 2 * H8)
    assert notes.of(msgspec.json.encode(straggler)) == []
    back = _push("BTCUSDT", T + H8 - 5000, "4.0", "0.00012000", T + H8)
    assert _state(notes.of(msgspec.json.encode(back))) == [("btcusdt@markState", T + H8 - 5000)]
    # and the funding at T + H8 noted when this time line passes it
    out = notes.of(msgspec.json.encode(_push("BTCUSDT", T + H8 + 1000, "4.2", "0.00010000", T + 2 * H8)))
    assert [m.stream for m in out] == ["btcusdt@fundingEvent", "btcusdt@markState"]
