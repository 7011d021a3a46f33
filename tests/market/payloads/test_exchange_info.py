from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from tickerplant.market.instruments import (
    PERPETUAL_DELIVERY_MS,
    ContractType,
    Instrument,
    Market,
    catalogue,
    listed_price,
)
from tickerplant.market.payloads.exchange_info import exchange_info, exchange_info_spot_stub, order_filters

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
SERVER_TIME = 1_791_382_992_723
WEIGHT = 2400  # the default --request-weight, declared as REQUEST_WEIGHT (§7.3)


def _decode(market: Market, server_time_ms: int = SERVER_TIME) -> tuple[list[Instrument], dict[str, Any]]:
    instruments = catalogue(market, NOW_MS)
    body: dict[str, Any] = msgspec.json.decode(exchange_info(market, instruments, server_time_ms, WEIGHT))
    return instruments, body


def _filters(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["filterType"]: f for f in entry["filters"]}


# What ccxt's parse_market reads (spec §7.3), with the JSON type it expects.
CCXT_KEYS: dict[str, type] = {
    "symbol": str,
    "baseAsset": str,
    "quoteAsset": str,
    "marginAsset": str,
    "contractType": str,
    "deliveryDate": int,
    "onboardDate": int,
    "pricePrecision": int,
    "quantityPrecision": int,
    "baseAssetPrecision": int,
    "quotePrecision": int,
    "filters": list,
}
CCXT_FILTER_KEYS = {
    "PRICE_FILTER": ("minPrice", "maxPrice", "tickSize"),
    "LOT_SIZE": ("minQty", "maxQty", "stepSize"),
    "MARKET_LOT_SIZE": ("minQty", "maxQty"),
}


@pytest.mark.parametrize("market", list(Market))
def test_every_key_ccxt_reads_is_there_with_its_type(market: Market) -> None:
    instruments, body = _decode(market)
    assert len(body["symbols"]) == len(instruments)
    for entry in body["symbols"]:
        for key, kind in CCXT_KEYS.items():
            assert isinstance(entry[key], kind), (entry["symbol"], key)
        status_key = "status" if market is Market.UM else "contractStatus"
        assert entry[status_key] == "TRADING"
        filters = _filters(entry)
        for filter_type, keys in CCXT_FILTER_KEYS.items():
            for key in keys:
                assert isinstance(filters[filter_type][key], str)
                Decimal(filters[filter_type][key])  # an exact decimal
        if market is Market.UM:
            assert "contractStatus" not in entry and "contractSize" not in entry
            assert Decimal(filters["MIN_NOTIONAL"]["notional"]) > 0
        else:
            assert "status" not in entry and "MIN_NOTIONAL" not in filters
            assert isinstance(entry["contractSize"], int) and isinstance(entry["equalQtyPrecision"], int)
        assert list(filters) == [
            "PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "MAX_NUM_ORDERS",
            *(["MIN_NOTIONAL"] if market is Market.UM else []), "PERCENT_PRICE",
        ]  # fmt: skip


@pytest.mark.parametrize("market", list(Market))
def test_symbols_follow_the_instruments(market: Market) -> None:
    instruments, body = _decode(market)
    for inst, entry in zip(instruments, body["symbols"], strict=True):
        assert (entry["symbol"], entry["pair"]) == (inst.symbol, inst.pair)
        assert (entry["baseAsset"], entry["quoteAsset"], entry["marginAsset"]) == (
            inst.base_asset, inst.quote_asset, inst.margin_asset,
        )  # fmt: skip
        assert (entry["pricePrecision"], entry["quantityPrecision"]) == (
            inst.price_decimals,
            inst.qty_decimals,
        )
        assert entry["contractType"] == inst.contract_type.value
        assert (entry["deliveryDate"], entry["onboardDate"]) == (inst.delivery_ms, inst.onboard_ms)
        filters = _filters(entry)
        price, lot, market_lot = filters["PRICE_FILTER"], filters["LOT_SIZE"], filters["MARKET_LOT_SIZE"]
        # tick and step written with exactly pricePrecision / quantityPrecision decimals
        tick = Decimal(inst.tick).scaleb(-inst.price_decimals)
        step = Decimal(inst.step).scaleb(-inst.qty_decimals)
        assert Decimal(price["tickSize"]) == tick
        assert len(price["tickSize"].partition(".")[2]) == inst.price_decimals
        assert Decimal(lot["stepSize"]) == step == Decimal(market_lot["stepSize"])
        assert len(lot["stepSize"].partition(".")[2]) == inst.qty_decimals
        assert Decimal(lot["minQty"]) == Decimal(inst.min_qty).scaleb(-inst.qty_decimals)
        assert Decimal(lot["maxQty"]) == Decimal(inst.max_qty).scaleb(-inst.qty_decimals)
        min_price, max_price = Decimal(price["minPrice"]), Decimal(price["maxPrice"])
        initial = Decimal(inst.initial_price).scaleb(-inst.price_decimals)
        assert 0 < min_price < initial / 10 and max_price > initial * 10
        assert min_price % tick == 0 and (max_price - min_price) % tick == 0
        assert Decimal(market_lot["minQty"]) <= Decimal(market_lot["maxQty"]) <= Decimal(lot["maxQty"])
        assert Decimal(market_lot["maxQty"]) % step == 0
        if market is Market.CM:
            assert entry["contractSize"] == inst.contract_size


def test_binance_spellings_of_tick_and_step() -> None:
    _, um = _decode(Market.UM)
    btc = next(e for e in um["symbols"] if e["symbol"] == "BTCUSDT")
    assert _filters(btc)["PRICE_FILTER"]["tickSize"] == "0.10"
    assert _filters(btc)["LOT_SIZE"] == {
        "stepSize": "0.001",
        "minQty": "0.001",
        "maxQty": "1000",
        "filterType": "LOT_SIZE",
    }
    doge = next(e for e in um["symbols"] if e["symbol"] == "DOGEUSDT")
    assert _filters(doge)["PRICE_FILTER"]["tickSize"] == "0.000010"
    assert _filters(doge)["LOT_SIZE"]["stepSize"] == "1"
    _, cm = _decode(Market.CM)
    btc_cm = next(e for e in cm["symbols"] if e["symbol"] == "BTCUSD_PERP")
    assert _filters(btc_cm)["PRICE_FILTER"]["tickSize"] == "0.1"
    assert _filters(btc_cm)["LOT_SIZE"]["stepSize"] == "1"
    assert btc_cm["contractSize"] == 100 and btc_cm["marginAsset"] == "BTC"


@pytest.mark.parametrize("market", list(Market))
def test_perpetual_delivery_date(market: Market) -> None:
    _, body = _decode(market)
    perpetuals = [e for e in body["symbols"] if e["contractType"] == "PERPETUAL"]
    assert perpetuals
    assert all(e["deliveryDate"] == PERPETUAL_DELIVERY_MS == 4_133_404_800_000 for e in perpetuals)


def test_quarterlies_carry_their_contract_type_and_delivery() -> None:
    instruments, body = _decode(Market.CM)
    by_symbol = {e["symbol"]: e for e in body["symbols"]}
    quarterlies = [i for i in instruments if i.contract_type is not ContractType.PERPETUAL]
    assert {i.contract_type for i in quarterlies} == {ContractType.CURRENT_QUARTER, ContractType.NEXT_QUARTER}
    for inst in quarterlies:
        entry = by_symbol[inst.symbol]
        assert entry["contractType"] == inst.contract_type.value
        assert entry["deliveryDate"] == inst.delivery_ms != PERPETUAL_DELIVERY_MS
    # 2026-03-27 08:00 UTC, the last Friday of the quarter, for BTCUSD_260327
    assert by_symbol["BTCUSD_260327"]["contractType"] == "CURRENT_QUARTER"
    assert by_symbol["BTCUSD_260327"]["deliveryDate"] == 1_774_598_400_000


def test_top_level_key_order_um() -> None:
    instruments = catalogue(Market.UM, NOW_MS)
    body = exchange_info(Market.UM, instruments, SERVER_TIME, WEIGHT)
    assert body.startswith(
        b'{"timezone":"UTC","serverTime":1791382992723,"futuresType":"U_MARGINED","rateLimits":['
        b'{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":2400},'
        b'{"rateLimitType":"ORDERS","interval":"MINUTE","intervalNum":1,"limit":1200},'
        b'{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":300}],'
        b'"exchangeFilters":[],"assets":[{"asset":"USDT","marginAvailable":true,"autoAssetExchange":"-10000"},'
        b'{"asset":"USDC","marginAvailable":true,"autoAssetExchange":"-10000"},'
        b'{"asset":"BNB","marginAvailable":true,"autoAssetExchange":"-10000"},'
        b'{"asset":"BTC","marginAvailable":true,"autoAssetExchange":"-10000"},'
        b'{"asset":"ETH","marginAvailable":true,"autoAssetExchange":"-10000"},'
        b'{"asset":"FDUSD","marginAvailable":true,"autoAssetExchange":"-10000"},'
        b'{"asset":"BFUSD","marginAvailable":true,"autoAssetExchange":"-10000"}],'
        b'"symbols":[{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL","deliveryDate":4133404800000,'
        b'"onboardDate":1567965300000,"status":"TRADING","maintMarginPercent":"2.5000",'
    )
    decoded = msgspec.json.decode(body)
    assert list(decoded) == [
        "timezone", "serverTime", "futuresType", "rateLimits", "exchangeFilters", "assets", "symbols",
    ]  # fmt: skip
    assert list(decoded["symbols"][0]) == [
        "symbol", "pair", "contractType", "deliveryDate", "onboardDate", "status", "maintMarginPercent",
        "requiredMarginPercent", "baseAsset", "quoteAsset", "marginAsset", "pricePrecision",
        "quantityPrecision", "baseAssetPrecision", "quotePrecision", "underlyingType", "underlyingSubType",
        "triggerProtect", "liquidationFee", "marketTakeBound", "maxMoveOrderLimit", "filters", "orderTypes",
        "timeInForce", "permissionSets",
    ]  # fmt: skip
    # the filter key orders of the spec's example
    assert [list(f) for f in decoded["symbols"][0]["filters"]] == [
        ["maxPrice", "tickSize", "filterType", "minPrice"],
        ["stepSize", "minQty", "maxQty", "filterType"],
        ["minQty", "maxQty", "filterType", "stepSize"],
        ["filterType", "limit"],
        ["notional", "filterType"],
        ["multiplierDown", "multiplierUp", "multiplierDecimal", "filterType"],
    ]


def test_top_level_key_order_cm() -> None:
    instruments = catalogue(Market.CM, NOW_MS)
    body = exchange_info(Market.CM, instruments, SERVER_TIME, WEIGHT)
    assert body.startswith(
        b'{"timezone":"UTC","serverTime":1791382992723,"rateLimits":['
        b'{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":2400},'
        b'{"rateLimitType":"ORDERS","interval":"MINUTE","intervalNum":1,"limit":1200}],'
        b'"exchangeFilters":[],"symbols":[{"symbol":"BTCUSD_PERP","pair":"BTCUSD","contractType":"PERPETUAL",'
        b'"deliveryDate":4133404800000,"onboardDate":1597042800000,"contractStatus":"TRADING","contractSize":100,'
    )
    decoded = msgspec.json.decode(body)
    assert list(decoded) == ["timezone", "serverTime", "rateLimits", "exchangeFilters", "symbols"]
    assert list(decoded["symbols"][0]) == [
        "symbol", "pair", "contractType", "deliveryDate", "onboardDate", "contractStatus", "contractSize",
        "marginAsset", "maintMarginPercent", "requiredMarginPercent", "baseAsset", "quoteAsset",
        "pricePrecision", "quantityPrecision", "baseAssetPrecision", "quotePrecision", "equalQtyPrecision",
        "maxMoveOrderLimit", "triggerProtect", "underlyingType", "underlyingSubType", "filters", "orderTypes",
        "timeInForce", "liquidationFee", "marketTakeBound",
    ]  # fmt: skip
    assert [list(f) for f in decoded["symbols"][0]["filters"]] == [
        ["minPrice", "maxPrice", "filterType", "tickSize"],
        ["stepSize", "filterType", "maxQty", "minQty"],
        ["stepSize", "filterType", "maxQty", "minQty"],
        ["limit", "filterType"],
        ["multiplierDown", "multiplierUp", "multiplierDecimal", "filterType"],
    ]


@pytest.mark.parametrize("market", list(Market))
@pytest.mark.parametrize("server_time", [0, 7, SERVER_TIME, 10**13 - 1])
def test_server_time_is_spliced_in(market: Market, server_time: int) -> None:
    instruments = catalogue(market, NOW_MS)
    first = exchange_info(market, instruments, SERVER_TIME, WEIGHT)  # fills the cache
    body = exchange_info(market, instruments, server_time, WEIGHT)
    assert msgspec.json.decode(body)["serverTime"] == server_time
    # everything but the time is the same bytes
    assert body.replace(b":%d," % server_time, b":T,", 1) == first.replace(b":%d," % SERVER_TIME, b":T,", 1)


def test_cache_follows_the_instruments() -> None:
    instruments = catalogue(Market.UM, NOW_MS)
    whole = msgspec.json.decode(exchange_info(Market.UM, instruments, 1, WEIGHT))
    first_two = msgspec.json.decode(exchange_info(Market.UM, instruments[:2], 1, WEIGHT))
    assert [e["symbol"] for e in first_two["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    assert len(whole["symbols"]) == len(instruments)
    # a fresh but equal catalogue gives the same body
    again = catalogue(Market.UM, NOW_MS)
    assert exchange_info(Market.UM, again, 5, WEIGHT) == exchange_info(Market.UM, instruments, 5, WEIGHT)
    assert msgspec.json.decode(exchange_info(Market.UM, [], 3, WEIGHT))["symbols"] == []


def test_spot_stub() -> None:
    assert exchange_info_spot_stub(1_499_827_319_559) == (
        b'{"timezone":"UTC","serverTime":1499827319559,"rateLimits":[],"exchangeFilters":[],"symbols":[]}'
    )


def test_max_price_does_not_move_with_the_price_an_instrument_starts_at() -> None:
    """The simulator starts each instrument at the price its past reached (``initial_price``):
    a plant restarted later listed another ``maxPrice`` than the gateways it had fed before
    (``--workers``), and its venue checked orders against it. ``maxPrice`` is a multiple of
    the catalogue's listed price: the same whatever the start."""
    for market in Market:
        for inst in catalogue(market, NOW_MS):
            moved = dataclasses.replace(inst, initial_price=inst.initial_price * 3 // 2)
            assert order_filters(moved).max_price == order_filters(inst).max_price, inst.symbol
            first = _filters(msgspec.json.decode(exchange_info(market, [inst], SERVER_TIME, WEIGHT))["symbols"][0])
            again = _filters(msgspec.json.decode(exchange_info(market, [moved], SERVER_TIME, WEIGHT))["symbols"][0])
            assert first["PRICE_FILTER"]["maxPrice"] == again["PRICE_FILTER"]["maxPrice"], inst.symbol
    btc = next(i for i in catalogue(Market.UM, NOW_MS) if i.symbol == "BTCUSDT")
    assert order_filters(btc).max_price == 50 * int(listed_price(Market.UM, "BTC") * 10**btc.price_decimals)  # type: ignore[operator]
