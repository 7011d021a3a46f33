"""A market view applies a backlog of aggregates a column at a time (``MarketView``'s
``_add_trades``): its recent trades, klines and last price are those of the same payloads
applied one by one, whatever unreadable payloads the backlog holds (not JSON, two objects,
finer digits, another writing of a decimal, a COIN-M price of 0), each of which is skipped."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.payloads.events import AggTrade
from tickerplant.market.plant.view import MarketView
from tickerplant.market.units import fixed

T0 = 1_767_225_600_000
_BAD = [b"not json", b"{}", b'{"e":"aggTrade"}{"e":"aggTrade"}', b"[1]", b""]


def _payload(symbol: str, agg_id: int, time_ms: int, price: str, qty: str, maker: bool) -> bytes:
    return msgspec.json.encode(AggTrade(
        event_time=time_ms, agg_id=agg_id, symbol=symbol, price=price, qty=qty, first_trade_id=10 * agg_id,
        last_trade_id=10 * agg_id + agg_id % 3, trade_time=time_ms, buyer_is_maker=maker,
    ))  # fmt: skip


@st.composite
def _backlog(draw: st.DrawFn, market: Market) -> list[bytes]:
    inst = catalogue(market, T0)[0]
    out, t = [], T0
    for n in range(draw(st.integers(1, 40))):
        t += draw(st.sampled_from([0, 7, 400, 1_500, 61_000]))
        price = fixed(draw(st.integers(0 if market is Market.CM else 1, 10**7)), inst.price_decimals)
        qty = fixed(draw(st.integers(1, 10**5)), inst.qty_decimals)
        kind = draw(st.integers(0, 9))
        if kind == 0:
            out.append(draw(st.sampled_from(_BAD)))
            continue
        if kind == 1:  # finer digits than the instrument's
            price += "1" if "." in price else ".1"
        elif kind == 2:  # the same value written longer
            qty += "00" if "." in qty else ".00"
        out.append(_payload(inst.symbol, n + 1, t, price, qty, draw(st.booleans())))
    return out


def _state(view: MarketView, symbol: str) -> tuple[object, ...]:
    sv = view.symbols[symbol]
    return (
        view.trades(sv).latest(1000), view.last_price(sv), view.unreadable,
        [view.klines(sv).series(i).query(None, None, 1500) for i in view.klines(sv).intervals],
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([Market.UM, Market.CM]).flatmap(lambda m: st.tuples(st.just(m), _backlog(m))))
def test_a_backlog_at_once_is_its_payloads_one_by_one(case: tuple[Market, list[bytes]]) -> None:
    market, backlog = case
    inst = catalogue(market, T0)[0]
    stream = f"{inst.symbol.lower()}@aggTrade"
    at_once, one_by_one = MarketView(market, [inst]), MarketView(market, [inst])
    one_by_one._add_trades = lambda view, aggs: False  # type: ignore[method-assign]  # never at once
    for view in (at_once, one_by_one):
        view.receive([StreamMessage(stream, payload) for payload in backlog])
    assert _state(at_once, inst.symbol) == _state(one_by_one, inst.symbol)
