"""The plant fed by the simulator: what the streams say agrees with the trades behind them."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.updates import BookUpdate, Trade

T0 = 1_767_225_600_000
DAY = 86_400_000
MINUTE_MS = 60_000


def test_mini_ticker_volume_is_the_sum_of_trades_in_the_window_and_u_increases() -> None:
    instruments = catalogue(Market.UM, T0)
    sim = Simulator(instruments, seed=11, actions_per_s=5000.0, start_ms=T0, book_levels=20)  # depth is not the point
    plant = Plant(Market.UM, instruments, now_ms=T0)
    history = sim.warm_history(T0)
    plant.warm(history)
    trades = list(history)
    out: list[StreamMessage] = []
    for update in sim.initial_updates(T0):
        plant.apply(update, T0, out)
    last_u: dict[str, int] = {}
    now = T0
    for _ in range(400):
        now += 25
        for update in sim.advance(now):
            plant.apply(update, now, out)
            if isinstance(update, Trade):
                trades.append(update)
            elif isinstance(update, BookUpdate):
                assert not plant.symbols[update.symbol].book.is_crossed()
        if now >= plant.next_tick_ms:
            plant.tick(now, out)
    for message in out:
        if message.stream.endswith("@bookTicker"):
            payload = msgspec.json.decode(message.payload)
            assert payload["u"] > last_u.get(payload["s"], 0)
            last_u[payload["s"]] = payload["u"]
            assert Decimal(payload["b"]) < Decimal(payload["a"])
    assert len(last_u) > 10
    latest = {}
    for message in out:
        if message.stream.endswith("@miniTicker"):
            payload = msgspec.json.decode(message.payload)
            latest[payload["s"]] = payload
    for inst in instruments:
        mini = latest[inst.symbol]
        opens = (mini["E"] - DAY) // MINUTE_MS * MINUTE_MS  # on the minute 24 h ago (spec §4.3)
        in_window = [t for t in trades if t.symbol == inst.symbol and opens <= t.time_ms <= mini["E"]]
        step = Decimal(1).scaleb(-inst.qty_decimals)
        assert Decimal(mini["v"]) == sum(t.qty for t in in_window) * step
        tick = Decimal(1).scaleb(-inst.price_decimals)
        assert Decimal(mini["h"]) == max(t.price for t in in_window) * tick
        assert Decimal(mini["l"]) == min(t.price for t in in_window) * tick
        assert Decimal(mini["o"]) == in_window[0].price * tick
        assert Decimal(mini["c"]) == in_window[-1].price * tick
        quote = sum(Decimal(t.price) * tick * Decimal(t.qty) * step for t in in_window)
        assert Decimal(mini["q"]) == quote
