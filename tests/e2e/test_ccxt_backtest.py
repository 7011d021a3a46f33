"""A futures backtest's download, as a quant makes it against Binance, by ccxt unchanged but
for its base URL: for four symbols, the listing date from `since=0`, 30
days of 1m candles paged without a gap (30 pages of 1,500), the funding history (92
fundings) and the hourly mark candles (733, past the default limit of 500) of the same 30
days; then a backtest holding each symbol from the first minute charges
`position × mark × rate` at every funding time.

Four symbols, not ten: each symbol's download is the same download of its own (its listing,
its 43,866 minutes, its fundings and marks), and four of them (two listed in 2019, two in
2020) catch what ten did at two fifths of the CPU (~10 s instead of ~25 s on two cores)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from conftest import StartServer
from test_ccxt import exchanges, usdm  # noqa: F401 (a fixture)

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS

T0 = 1_795_000_000_000 + 17_345  # 2026-11-18T08:53:37.345Z, mid-minute
STILL = {"actions_per_s": 1e-9, "seed": 11}  # a market that does not move: the past alone
FUNDING_MS = 8 * HOUR_MS
# two perpetuals listed in 2019 (the oldest, the largest prices), two in 2020: a half each
PICKED = (("BTCUSDT", "ETHUSDT"), ("BNBUSDT", "SOLUSDT"))

pytestmark = pytest.mark.uvloop_only  # 175,000 candles: once, on uvloop


@pytest.mark.parametrize("half", [0, 1])  # two symbols each: the two halves run side by side
async def test_thirty_days_of_four_symbols_and_a_backtest_that_pays_every_funding(
    start_server: StartServer, exchanges: list[Any], half: int  # noqa: F811
) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    exchange = usdm(plant)
    exchanges.append(exchange)
    await exchange.load_markets()
    listed = {inst.symbol: inst.onboard_ms for inst in plant.instruments[Market.UM]}
    symbols = [m for m in exchange.markets.values() if m["linear"] and m["swap"] and m["id"] in PICKED[half]]
    assert sorted(m["id"] for m in symbols) == sorted(PICKED[half])
    since = T0 - T0 % DAY_MS - 30 * DAY_MS
    last_closed = T0 - T0 % MINUTE_MS - MINUTE_MS  # the live minute has no trade (STILL)
    fundings = list(range(since, T0, FUNDING_MS))
    for market in symbols:
        name = market["symbol"]
        (first,) = await exchange.fetch_ohlcv(name, "1m", since=0, limit=1)
        assert first[0] == -(-listed[market["id"]] // MINUTE_MS) * MINUTE_MS  # the listing date
        candles: list[list[float]] = []
        while not candles or candles[-1][0] < last_closed:
            after = candles[-1][0] + MINUTE_MS if candles else since
            candles += await exchange.fetch_ohlcv(name, "1m", since=after, limit=1500)
        assert [c[0] for c in candles] == list(range(since, last_closed + MINUTE_MS, MINUTE_MS)), name
        assert all(b[1] == a[4] for a, b in itertools.pairwise(candles)), name  # one path
        funding = await exchange.fetch_funding_rate_history(name, since=since, limit=1000)
        # from the hour before the first funding: the mark of a funding time is its hour's close
        marks = await exchange.fetch_mark_ohlcv(name, "1h", since=since - HOUR_MS, limit=1000)
        assert [c[0] for c in marks] == list(range(since - HOUR_MS, T0 - T0 % HOUR_MS + HOUR_MS, HOUR_MS)), name
        # the backtest: long one unit from the first minute, funding at the mark of its time
        mark_at = {c[0] + HOUR_MS: Decimal(str(c[4])) for c in marks}  # an hour's close: its end
        close_at = {c[0]: Decimal(str(c[1])) for c in candles}  # a minute's open: the price then
        paid = []
        for f in funding:
            mark, rate = mark_at[f["timestamp"]], Decimal(f["info"]["fundingRate"])
            assert Decimal(f["info"]["markPrice"]) == mark  # the history's mark is the candles'
            # and the trades' of that moment (one market): within the premium's reach
            assert abs(mark / close_at[f["timestamp"]] - 1) < Decimal("0.01"), (name, f["timestamp"])
            paid.append(mark * rate)  # a long pays a positive rate
        assert [f["timestamp"] for f in funding] == fundings, name  # every funding time, once
        assert all(p != 0 for p in paid), name
