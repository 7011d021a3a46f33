"""Reading exchangeInfo bodies back into instruments (spec §7.3): ours round-trip, and
Binance's real entries, with the keys and filters we do not write, read the same way."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import pytest

from tickerplant.market.instruments import (
    PERPETUAL_DELIVERY_MS,
    ContractType,
    Instrument,
    Market,
    Published,
    catalogue,
)
from tickerplant.market.payloads.exchange_info import exchange_info, order_filters
from tickerplant.market.payloads.listing import instruments_from_exchange_info, read_exchange_info

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00Z

# The spec's captured entries (§7.3), verbatim: real key order, POSITION_RISK_CONTROL and
# MAX_NUM_ALGO_ORDERS filters, which our own body does not have.
BINANCE_BTCUSDT = (
    b'{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL","deliveryDate":4133404800000,"onboardDate":1567965300000,'
    b'"status":"TRADING","maintMarginPercent":"2.5000","requiredMarginPercent":"5.0000","baseAsset":"BTC","quoteAsset":"USDT",'
    b'"marginAsset":"USDT","pricePrecision":2,"quantityPrecision":3,"baseAssetPrecision":8,"quotePrecision":8,'
    b'"underlyingType":"COIN","underlyingSubType":["PoW","Crypto"],"triggerProtect":"0.0500","liquidationFee":"0.012500",'
    b'"marketTakeBound":"0.05","maxMoveOrderLimit":10000,'
    b'"filters":[{"maxPrice":"4529764","tickSize":"0.10","filterType":"PRICE_FILTER","minPrice":"556.80"},'
    b'{"stepSize":"0.001","minQty":"0.001","maxQty":"1000","filterType":"LOT_SIZE"},'
    b'{"minQty":"0.001","maxQty":"120","filterType":"MARKET_LOT_SIZE","stepSize":"0.001"},'
    b'{"filterType":"MAX_NUM_ORDERS","limit":200},'
    b'{"notional":"50","filterType":"MIN_NOTIONAL"},'
    b'{"multiplierDown":"0.9500","multiplierUp":"1.0500","multiplierDecimal":"4","filterType":"PERCENT_PRICE"},'
    b'{"filterType":"POSITION_RISK_CONTROL","positionControlSide":"NONE"}],'
    b'"orderTypes":["LIMIT","MARKET","STOP","STOP_MARKET","TAKE_PROFIT","TAKE_PROFIT_MARKET","TRAILING_STOP_MARKET"],'
    b'"timeInForce":["GTC","IOC","FOK","GTX","GTD"],"permissionSets":["GRID","COPY","DCA","PSB"]}'
)
BINANCE_BTCUSD_PERP = (
    b'{"symbol":"BTCUSD_PERP","pair":"BTCUSD","contractType":"PERPETUAL","deliveryDate":4133404800000,"onboardDate":1597042800000,'
    b'"contractStatus":"TRADING","contractSize":100,"marginAsset":"BTC","maintMarginPercent":"2.5000","requiredMarginPercent":"5.0000",'
    b'"baseAsset":"BTC","quoteAsset":"USD","pricePrecision":1,"quantityPrecision":0,"baseAssetPrecision":8,"quotePrecision":8,'
    b'"equalQtyPrecision":4,"maxMoveOrderLimit":10000,"triggerProtect":"0.0500","underlyingType":"COIN","underlyingSubType":["PoW"],'
    b'"filters":[{"minPrice":"1000","maxPrice":"4520958","filterType":"PRICE_FILTER","tickSize":"0.1"},'
    b'{"stepSize":"1","filterType":"LOT_SIZE","maxQty":"1000000","minQty":"1"},'
    b'{"stepSize":"1","filterType":"MARKET_LOT_SIZE","maxQty":"60000","minQty":"1"},'
    b'{"limit":200,"filterType":"MAX_NUM_ORDERS"},{"limit":20,"filterType":"MAX_NUM_ALGO_ORDERS"},'
    b'{"multiplierDown":"0.9500","multiplierUp":"1.0500","multiplierDecimal":"4","filterType":"PERCENT_PRICE"}],'
    b'"orderTypes":["LIMIT","MARKET","STOP","STOP_MARKET","TAKE_PROFIT","TAKE_PROFIT_MARKET","TRAILING_STOP_MARKET"],'
    b'"timeInForce":["GTC","IOC","FOK","GTX"],"liquidationFee":"0.015000","marketTakeBound":"0.05"}'
)


def _body(*entries: bytes | dict[str, Any]) -> bytes:
    raw = [e if isinstance(e, bytes) else msgspec.json.encode(e) for e in entries]
    return (
        b'{"timezone":"UTC","serverTime":1,"rateLimits":[],"exchangeFilters":[],"symbols":[%b]}'
        % b",".join(raw)
    )


def _neutral(inst: Instrument) -> Instrument:
    return dataclasses.replace(inst, initial_price=0, daily_volatility=0.0, activity=0.0)


@pytest.mark.parametrize("market", list(Market))
def test_our_own_body_reads_back_as_the_catalogue(market: Market) -> None:
    instruments = catalogue(market, NOW_MS)
    body = exchange_info(market, instruments, NOW_MS, 2400)
    read = instruments_from_exchange_info(market, body)
    assert [dataclasses.replace(i, published=None) for i in read] == [_neutral(i) for i in instruments]
    assert all(i.published is not None for i in read)  # the filters as they came (a relay's)
    assert read_exchange_info(market, body).skipped == {}


@pytest.mark.parametrize("market", list(Market))
def test_a_relay_lists_what_its_upstream_lists(market: Market) -> None:
    """Re-encoding what was read gives the upstream's entries back, filters and all: their
    values travel with the instruments (``Published``), though the simulator's starting price
    does not."""
    instruments = catalogue(market, NOW_MS)
    upstream = msgspec.json.decode(exchange_info(market, instruments, NOW_MS, 2400))
    relayed = exchange_info(
        market, instruments_from_exchange_info(market, exchange_info(market, instruments, 1, 2400)), NOW_MS, 2400
    )
    assert msgspec.json.decode(relayed)["symbols"] == upstream["symbols"]


@pytest.mark.parametrize(("market", "entry"), [(Market.UM, BINANCE_BTCUSDT), (Market.CM, BINANCE_BTCUSD_PERP)])
def test_binances_filters_are_listed_again_as_they_came(market: Market, entry: bytes) -> None:
    """A relay of Binance lists its filters and enforces them (``order_filters``): PRICE_FILTER's
    minPrice and maxPrice, MARKET_LOT_SIZE, MIN_NOTIONAL, PERCENT_PRICE, not our rules'."""
    (inst,) = instruments_from_exchange_info(market, _body(entry))
    theirs = {f["filterType"]: f for f in msgspec.json.decode(entry)["filters"]}
    (mine,) = msgspec.json.decode(exchange_info(market, [inst], NOW_MS, 2400))["symbols"]
    ours = {f["filterType"]: f for f in mine["filters"]}
    for kind in ("PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "MAX_NUM_ORDERS", "MIN_NOTIONAL", "PERCENT_PRICE"):
        assert ours.get(kind) == theirs.get(kind), kind
    filters = order_filters(inst)
    assert (filters.min_price, filters.max_price) == ((55680, 452976400) if market is Market.UM else (10000, 45209580))
    assert filters.market_max_qty == (120_000 if market is Market.UM else 60_000)


@pytest.mark.parametrize(("written", "read"), [("0.1000", "0.1000"), ("1e-1", "0.0500"), ("-0.1", "0.0500")])
def test_a_relayed_trigger_protect_is_listed_and_enforced_as_it_came(written: str, read: str) -> None:
    """``triggerProtect`` (priceProtect's bound, the algo trigger pass reads it from the
    filters) travels with a relayed symbol; one no decimal the venue can read is the
    catalogue's rule instead."""
    (inst,) = instruments_from_exchange_info(Market.UM, _body(_entry(triggerProtect=written)))
    assert order_filters(inst).trigger_protect == read
    (mine,) = msgspec.json.decode(exchange_info(Market.UM, [inst], NOW_MS, 2400))["symbols"]
    assert mine["triggerProtect"] == read


def test_binances_captured_entries() -> None:
    (btcusdt,) = instruments_from_exchange_info(Market.UM, _body(BINANCE_BTCUSDT))
    assert btcusdt == Instrument(
        symbol="BTCUSDT", pair="BTCUSDT", market=Market.UM, contract_type=ContractType.PERPETUAL,
        base_asset="BTC", quote_asset="USDT", margin_asset="USDT", price_decimals=2, tick=10,
        qty_decimals=3, step=1, min_qty=1, max_qty=1_000_000, contract_size=1,
        onboard_ms=1567965300000, delivery_ms=PERPETUAL_DELIVERY_MS,
        initial_price=0, daily_volatility=0.0, activity=0.0,
        published=Published(55680, 452976400, 120_000, 200, "50", "1.0500", "0.9500", "4", "0.05", "0.0500"),
    )  # fmt: skip
    (btcusd,) = instruments_from_exchange_info(Market.CM, _body(BINANCE_BTCUSD_PERP))
    assert (btcusd.symbol, btcusd.pair, btcusd.margin_asset) == ("BTCUSD_PERP", "BTCUSD", "BTC")
    assert btcusd.contract_size == 100
    assert (btcusd.price_decimals, btcusd.tick, btcusd.qty_decimals, btcusd.step) == (1, 1, 0, 1)
    assert (btcusd.min_qty, btcusd.max_qty) == (1, 1_000_000)


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = msgspec.json.decode(BINANCE_BTCUSDT)
    entry.update(changes)
    return entry


def test_only_trading_symbols_of_known_contract_types_are_listed_and_the_rest_say_why() -> None:
    without_lot = _entry(
        symbol="NOLOTUSDT", filters=[f for f in _entry()["filters"] if f["filterType"] != "LOT_SIZE"]
    )
    listing = read_exchange_info(
        Market.UM,
        _body(
            _entry(symbol="SETTLEUSDT", status="SETTLING"),
            _entry(symbol="XAUUSDT", contractType="TRADIFI_PERPETUAL"),
            _entry(symbol="OLDUSDT", contractType="CURRENT_MONTH"),
            _entry(symbol="BROKENUSDT", pricePrecision="two"),
            without_lot,
            BINANCE_BTCUSDT,
        ),
    )
    assert [(i.symbol, i.contract_type) for i in listing.instruments] == [
        ("XAUUSDT", ContractType.PERPETUAL),  # a perpetual, whatever it tracks
        ("BTCUSDT", ContractType.PERPETUAL),
    ]
    assert listing.skipped.keys() == {"SETTLEUSDT", "OLDUSDT", "BROKENUSDT", "NOLOTUSDT"}
    assert listing.skipped["SETTLEUSDT"] == "status SETTLING"
    assert "CURRENT_MONTH" in listing.skipped["OLDUSDT"]
    assert "pricePrecision" in listing.skipped["BROKENUSDT"]
    assert "LOT_SIZE" in listing.skipped["NOLOTUSDT"]


def test_a_coin_m_symbol_needs_its_contract_size() -> None:
    entry: dict[str, Any] = msgspec.json.decode(BINANCE_BTCUSD_PERP)
    del entry["contractSize"]
    listing = read_exchange_info(Market.CM, _body(entry))
    assert listing.instruments == [] and "contractSize" in listing.skipped["BTCUSD_PERP"]


def test_a_tick_finer_than_the_price_precision_widens_the_decimals_instead_of_rounding() -> None:
    filters = _entry()["filters"]
    filters[0] = {
        "minPrice": "0.00005",
        "maxPrice": "100",
        "filterType": "PRICE_FILTER",
        "tickSize": "0.00005",
    }
    (inst,) = instruments_from_exchange_info(Market.UM, _body(_entry(pricePrecision=4, filters=filters)))
    assert (inst.price_decimals, inst.tick) == (5, 5)


def test_a_body_that_is_no_exchange_info_is_an_error() -> None:
    with pytest.raises(msgspec.DecodeError):
        read_exchange_info(Market.UM, b"<html>502 Bad Gateway</html>")
    with pytest.raises(msgspec.DecodeError):
        read_exchange_info(Market.UM, b'{"code":-1003,"msg":"Way too many requests"}')
