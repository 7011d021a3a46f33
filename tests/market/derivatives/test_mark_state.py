"""The market view's mark state and funding history (market/derivatives/mark_state.py): bounded by
design, kept in time order, filled from the plant's internal streams."""

from __future__ import annotations

from fractions import Fraction

import msgspec

from tickerplant.market.derivatives.mark_price import FUNDING_INTERVAL_MS
from tickerplant.market.derivatives.mark_state import FUNDING_HISTORY, MarkStateView
from tickerplant.market.derivatives.mark_streams import MarkState, internal_names
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.price_candles import PriceKind
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.market.updates import FundingRate, MarkPrice

T0 = 1_767_225_600_000


def test_a_year_of_funding_keeps_the_last_thousand_events_in_order() -> None:
    insts = [i for i in catalogue(Market.UM, T0) if i.symbol in ("BTCUSDT", "ETHUSDT")]
    plant, view = Plant(Market.UM, insts, now_ms=T0), MarketView(Market.UM, insts)
    days = 400  # 1,200 fundings: more than the history keeps
    for k in range(3 * days):
        out: list[StreamMessage] = []
        time_ms = T0 + k * FUNDING_INTERVAL_MS
        plant.apply(FundingRate("BTCUSDT", time_ms, k, 9_000_000_000_000), time_ms, out)
        plant.apply(MarkPrice("BTCUSDT", time_ms, 1, 2, 3, k, 10_000, time_ms + FUNDING_INTERVAL_MS), time_ms, out)
        view.receive(out)
    history = view.marks.funding("BTCUSDT")
    assert len(history) == FUNDING_HISTORY
    assert [e.T for e in history] == [T0 + k * FUNDING_INTERVAL_MS for k in range(3 * days - FUNDING_HISTORY, 3 * days)]
    state = view.marks.mark("BTCUSDT")
    assert state is not None and state.r == f"0.{3 * days - 1:08d}", "the last mark state only"
    assert view.marks.mark("ETHUSDT") is None and list(view.marks.funding("ETHUSDT")) == []
    # an older event (a replay's file) goes in its place; one already held is not repeated
    out = []
    plant.apply(FundingRate("ETHUSDT", T0 + 2 * FUNDING_INTERVAL_MS, 2, 1), T0, out)
    plant.apply(FundingRate("ETHUSDT", T0, 0, 1), T0, out)
    plant.apply(FundingRate("ETHUSDT", T0 + FUNDING_INTERVAL_MS, 1, 1), T0, out)
    plant.apply(FundingRate("ETHUSDT", T0, 0, 1), T0, out)
    view.receive(out)
    assert [e.r for e in view.marks.funding("ETHUSDT")] == ["0.00000000", "0.00000001", "0.00000002"]


def test_premium_index_klines_are_of_the_premium_the_source_gives_else_derived() -> None:
    """The note carries the source's premium index (the impact premium, §7.8); a source
    without one (a relay's, a recording's notes) leaves the view to derive (p − i) / i."""
    insts = [i for i in catalogue(Market.UM, T0) if i.symbol in ("BTCUSDT", "ETHUSDT")]
    plant, view = Plant(Market.UM, insts, now_ms=T0), MarketView(Market.UM, insts)
    out: list[StreamMessage] = []
    for second in range(3):
        t = T0 + second * 1000
        premium = -12_345 + second  # -0.00012345 …: nothing like (p - i) / i
        plant.apply(MarkPrice("BTCUSDT", t, 101 * 10**8, 100 * 10**8, 1, 1, 1, T0, premium), t, out)
        plant.apply(MarkPrice("ETHUSDT", t, 101 * 10**8, 100 * 10**8, 1, 1, 1, T0), t, out)
    view.receive(out)
    state = view.marks.mark("BTCUSDT")
    assert state is not None and state.pi == "-0.00012343"
    btc, eth = view.marks.bars("BTCUSDT"), view.marks.bars("ETHUSDT")
    assert btc is not None and eth is not None
    [bar] = btc.query(PriceKind.PREMIUM, "1m", None, None, 10)
    assert (bar.open, bar.high, bar.low, bar.close, bar.samples) == (-12_345, -12_343, -12_345, -12_343, 3)
    [bar] = eth.query(PriceKind.PREMIUM, "1m", None, None, 10)
    assert (bar.open, bar.close) == (1_000_000, 1_000_000), "derived: (101 - 100) / 100"


def test_the_mark_price_is_each_payloads_own() -> None:
    """``mark_price`` (the venue's margins): exact, read once per payload, and never a
    payload's before (a new mark, even of the same text, is read again)."""
    view = MarkStateView(catalogue(Market.UM, 1_790_000_000_000))
    stream, _ = internal_names("BTCUSDT")
    assert view.mark_price("BTCUSDT") is None

    def mark(text: str, t: int) -> None:
        state = MarkState("BTCUSDT", t, text, text, text, "0.00010000", "0.00010000", 0)
        view.receive(stream, msgspec.json.encode(state))

    mark("60000.12345678", 1)
    first = view.mark_price("BTCUSDT")
    assert first == Fraction("60000.12345678") and view.mark_price("BTCUSDT") is first
    mark("59999.50000000", 2)
    assert view.mark_price("BTCUSDT") == Fraction("59999.5")
    mark("60000.12345678", 3)
    assert view.mark_price("BTCUSDT") == Fraction("60000.12345678")
    assert view.mark_price("ETHUSDT") is None
