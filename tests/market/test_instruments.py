from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.instruments import (
    PERPETUAL_DELIVERY_MS,
    ContractType,
    Instrument,
    Market,
    catalogue,
    quarterly_deliveries,
)

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00Z


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _by_symbol(market: Market, now_ms: int = NOW_MS) -> dict[str, Instrument]:
    return {inst.symbol: inst for inst in catalogue(market, now_ms)}


@pytest.mark.parametrize("market", list(Market))
def test_every_instrument_is_self_consistent(market: Market) -> None:
    instruments = catalogue(market, NOW_MS)
    assert len({inst.symbol for inst in instruments}) == len(instruments)
    for inst in instruments:
        assert inst.market is market
        assert inst.tick > 0 and inst.step > 0
        assert inst.initial_price > 0 and inst.initial_price % inst.tick == 0
        assert inst.min_qty == inst.step
        assert inst.max_qty % inst.step == 0 and inst.max_qty > inst.min_qty
        assert 0.02 <= inst.daily_volatility <= 0.08
        assert inst.activity > 0
        assert inst.onboard_ms < NOW_MS
        assert inst.symbol.isupper() or inst.symbol[0].isdigit()
        # the tick never needs more digits than the price strings carry
        assert inst.tick < 10**inst.price_decimals


def test_usdm_perpetuals() -> None:
    um = _by_symbol(Market.UM)
    assert len(um) >= 22
    coins = ["BTC", "ETH", "BNB", "SOL", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT", "LTC"]
    coins += ["BCH", "TRX", "NEAR", "ATOM", "ETC", "FIL", "APT", "ARB", "OP", "SUI", "1000PEPE"]
    for name in (coin + "USDT" for coin in coins):
        inst = um[name]
        assert inst.contract_type is ContractType.PERPETUAL
        assert inst.delivery_ms == PERPETUAL_DELIVERY_MS
        assert inst.pair == name
        assert inst.base_asset + "USDT" == name
        assert inst.quote_asset == inst.margin_asset == "USDT"
        assert inst.contract_size == 1
    btc = um["BTCUSDT"]
    assert (btc.price_decimals, btc.tick, btc.qty_decimals, btc.step) == (2, 10, 3, 1)
    assert 50_000_00 < btc.initial_price < 150_000_00
    eth = um["ETHUSDT"]
    assert (eth.price_decimals, eth.tick, eth.qty_decimals, eth.step) == (2, 1, 3, 1)
    xrp = um["XRPUSDT"]
    assert (xrp.price_decimals, xrp.tick, xrp.qty_decimals) == (4, 1, 1)
    doge = um["DOGEUSDT"]
    assert doge.qty_decimals == 0
    assert doge.tick * 100_000 == 10**doge.price_decimals  # 0.00001
    assert um["1000PEPEUSDT"].base_asset == "1000PEPE"
    busiest = sorted(um.values(), key=lambda inst: inst.activity, reverse=True)
    assert {busiest[0].symbol, busiest[1].symbol} == {"BTCUSDT", "ETHUSDT"}


def test_coinm_perpetuals() -> None:
    cm = _by_symbol(Market.CM)
    for coin in ["BTC", "ETH", "BNB", "SOL", "XRP", "ADA", "DOGE", "LINK", "DOT", "LTC"]:
        inst = cm[f"{coin}USD_PERP"]
        assert inst.pair == f"{coin}USD"
        assert (inst.base_asset, inst.quote_asset, inst.margin_asset) == (coin, "USD", coin)
        assert inst.contract_size == (100 if coin == "BTC" else 10)
        assert (inst.qty_decimals, inst.step, inst.min_qty) == (0, 1, 1)
        assert inst.delivery_ms == PERPETUAL_DELIVERY_MS
    assert (cm["BTCUSD_PERP"].price_decimals, cm["BTCUSD_PERP"].tick) == (1, 1)
    assert (cm["ETHUSD_PERP"].price_decimals, cm["ETHUSD_PERP"].tick) == (2, 1)


def test_coinm_quarterlies_at_new_year_2026() -> None:
    cm = _by_symbol(Market.CM)
    # last Fridays of March and June 2026: the 27th and the 26th
    for coin in ("BTC", "ETH"):
        current, following = cm[f"{coin}USD_260327"], cm[f"{coin}USD_260626"]
        assert current.contract_type is ContractType.CURRENT_QUARTER
        assert following.contract_type is ContractType.NEXT_QUARTER
        assert _utc(current.delivery_ms) == datetime(2026, 3, 27, 8, tzinfo=UTC)
        assert _utc(following.delivery_ms) == datetime(2026, 6, 26, 8, tzinfo=UTC)
        perp = cm[f"{coin}USD_PERP"]
        assert perp.initial_price < current.initial_price < following.initial_price
        assert current.initial_price < perp.initial_price * 1.05  # contango, slight
        assert current.pair == perp.pair and current.contract_size == perp.contract_size
        assert current.margin_asset == coin
        assert current.onboard_ms < NOW_MS


def test_quarter_rolls_at_the_delivery_instant() -> None:
    march = int(datetime(2026, 3, 27, 8, tzinfo=UTC).timestamp()) * 1000
    assert quarterly_deliveries(march - 1)[0] == march
    after = quarterly_deliveries(march)  # strictly after: March has delivered
    assert _utc(after[0]) == datetime(2026, 6, 26, 8, tzinfo=UTC)
    assert _utc(after[1]) == datetime(2026, 9, 25, 8, tzinfo=UTC)
    symbols = _by_symbol(Market.CM, march)
    assert "BTCUSD_260626" in symbols and "BTCUSD_260925" in symbols
    assert "BTCUSD_260327" not in symbols


def test_quarters_cross_the_year_end() -> None:
    late_december = int(datetime(2026, 12, 30, tzinfo=UTC).timestamp()) * 1000
    first, second = quarterly_deliveries(late_december)
    assert _utc(first) == datetime(2027, 3, 26, 8, tzinfo=UTC)
    assert _utc(second) == datetime(2027, 6, 25, 8, tzinfo=UTC)


@given(st.integers(min_value=1_577_836_800_000, max_value=2_051_222_400_000))  # 2020 to 2035
def test_quarterly_deliveries_are_last_fridays_after_now(now_ms: int) -> None:
    first, second = quarterly_deliveries(now_ms)
    assert now_ms < first < second
    assert first - now_ms <= 100 * 86_400_000  # a quarter and a bit
    for delivery in (first, second):
        moment = _utc(delivery)
        assert moment.weekday() == 4 and (moment.hour, moment.minute) == (8, 0)
        assert moment.month in (3, 6, 9, 12)
        assert (moment.day + 7) > {3: 31, 6: 30, 9: 30, 12: 31}[moment.month]
