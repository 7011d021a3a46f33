"""What the plant tests feed the plant: a BTC instrument per market and book updates."""

from __future__ import annotations

from tickerplant.market.instruments import ContractType, Instrument, Market
from tickerplant.market.updates import BookUpdate, Level


def instrument(market: Market) -> Instrument:
    """BTCUSDT (prices 2 decimals, tick 0.10; quantities 3 decimals) or BTCUSD_PERP."""
    if market is Market.UM:
        return Instrument(
            "BTCUSDT", "BTCUSDT", market, ContractType.PERPETUAL, "BTC", "USDT", "USDT",
            2, 10, 3, 1, 1, 1_000_000, 1, 0, 4_133_404_800_000, 9_000_000, 0.03, 1.0,
        )  # fmt: skip
    return Instrument(
        "BTCUSD_PERP", "BTCUSD", market, ContractType.PERPETUAL, "BTC", "USD", "BTC",
        1, 1, 0, 1, 1, 1_000_000, 100, 0, 4_133_404_800_000, 900_000, 0.03, 1.0,
    )  # fmt: skip


def book(
    symbol: str, u: int, t: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]], next_id: int = 0
) -> BookUpdate:
    """An update with id ``u`` that reserves ``next_id`` for the next (by default ``u + 1``:
    the next update's id, where the ids a test gives count up by one)."""
    bids_, asks_ = tuple(Level(*b) for b in bids), tuple(Level(*a) for a in asks)
    return BookUpdate(symbol, u, t, bids_, asks_, next_id or u + 1)
