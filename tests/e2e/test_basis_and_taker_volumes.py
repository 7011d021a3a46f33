"""COIN-M's takers' volumes (`GET /futures/data/takerBuySellVol`) and the basis (`GET
/futures/data/basis`, both markets) over a real socket (protocol/taker_volumes.py,
protocol/basis.py): each figure recomputed from the klines the same server answers, to the
unit; a cold month's answer made in pieces; Binance's modular SDKs read both into their
models, every key a field of the model."""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from binance_common.configuration import ConfigurationRestAPI
from binance_sdk_derivatives_trading_coin_futures.derivatives_trading_coin_futures import (
    DerivativesTradingCoinFutures,
)
from binance_sdk_derivatives_trading_coin_futures.rest_api.models import enums as cm_enums
from binance_sdk_derivatives_trading_usds_futures.rest_api.models import (
    BasisContractTypeEnum,
    BasisPeriodEnum,
)
from conftest import StartServer
from test_binance_sdk import sdk
from test_long_short_clients import _get

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.market.history.long_short import ratio_units
from tickerplant.market.instruments import Market
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS

T0 = 1_795_000_000_000 + 17_345  # 2026-11-18T08:53:37.345Z
STILL = {"actions_per_s": 1e-9, "seed": 5}


async def _read(port: int, path: str) -> tuple[int, Any]:
    return await asyncio.to_thread(_get, f"http://127.0.0.1:{port}{path}")


def _quarterly(plant: Tickerplant, kind: str) -> Any:
    listed = plant.engines[Market.CM].instruments.values()
    return next(i for i in listed if i.pair == "BTCUSD" and i.contract_type.value == kind)


async def test_coin_m_takers_volumes_are_the_klines_of_each_closed_period(start_server: StartServer) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    cm = plant.listeners[Market.CM].port
    last = T0 - T0 % HOUR_MS - HOUR_MS  # the last closed hour
    by_type: dict[str, list[dict[str, Any]]] = {}
    for kind in ("PERPETUAL", "CURRENT_QUARTER", "NEXT_QUARTER", "ALL"):
        status, rows = await _read(cm, f"/futures/data/takerBuySellVol?pair=BTCUSD&contractType={kind}&period=1h&limit=6")
        assert status == 200, rows
        assert [r["timestamp"] for r in rows] == list(range(last - 5 * HOUR_MS, last + 1, HOUR_MS))
        assert list(rows[0]) == ["pair", "contractType", "takerBuyVol", "takerSellVol", "takerBuyVolValue",
                                 "takerSellVolValue", "timestamp"]  # fmt: skip
        assert {(r["pair"], r["contractType"]) for r in rows} == {("BTCUSD", kind)}
        by_type[kind] = rows
        if kind == "ALL":
            continue
        symbol = "BTCUSD_PERP" if kind == "PERPETUAL" else _quarterly(plant, kind).symbol
        # (COIN-M's klines answer the latest `limit` up to endTime, 200 days after a startTime alone)
        window = f"startTime={rows[0]['timestamp']}&endTime={rows[-1]['timestamp']}"
        status, klines = await _read(cm, f"/dapi/v1/klines?symbol={symbol}&interval=1h&{window}")
        for row, k in zip(rows, klines, strict=True):
            assert (row["takerBuyVol"], row["takerSellVol"]) == (k[9], str(int(k[5]) - int(k[9])))
            cut = Decimal("0.0001")
            base, buys = Decimal(k[7]), Decimal(k[10])
            assert Decimal(row["takerBuyVolValue"]) == buys.quantize(cut, rounding="ROUND_DOWN")
            assert Decimal(row["takerSellVolValue"]) == (base - buys).quantize(cut, rounding="ROUND_DOWN")
    for at, total in enumerate(by_type["ALL"]):  # ALL: the three contracts summed
        parts = [by_type[kind][at] for kind in ("PERPETUAL", "CURRENT_QUARTER", "NEXT_QUARTER")]
        assert int(total["takerBuyVol"]) == sum(int(p["takerBuyVol"]) for p in parts)
        assert int(total["takerSellVol"]) == sum(int(p["takerSellVol"]) for p in parts)
    refused = await _read(cm, "/futures/data/takerBuySellVol?pair=BTCUSD&contractType=WEEKLY&period=1h")
    assert refused == (400, {"code": -1102, "msg": "Mandatory parameter 'contractType' was not sent, was empty/null, or malformed."})
    assert (await _read(cm, "/futures/data/takerBuySellVol?pair=XYZUSD&contractType=ALL&period=1h"))[1]["code"] == -1121
    um = plant.listeners[Market.UM].port
    assert (await _read(um, "/futures/data/takerBuySellVol?pair=BTCUSDT&contractType=ALL&period=1h"))[1]["code"] == -5000


async def test_the_basis_is_the_futures_price_less_the_index_at_each_boundary(start_server: StartServer) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    for market, pair, kind, prefix in (
        (Market.UM, "BTCUSDT", "PERPETUAL", "/fapi"),
        (Market.CM, "BTCUSD", "PERPETUAL", "/dapi"),
        (Market.CM, "BTCUSD", "CURRENT_QUARTER", "/dapi"),
    ):
        port = plant.listeners[market].port
        status, rows = await _read(port, f"/futures/data/basis?pair={pair}&contractType={kind}&period=4h&limit=5")
        assert status == 200, rows
        now_boundary = T0 - T0 % (4 * HOUR_MS)  # the boundaries up to now, the last one's included
        assert [r["timestamp"] for r in rows] == list(range(now_boundary - 16 * HOUR_MS, now_boundary + 1, 4 * HOUR_MS))
        assert list(rows[0]) == ["indexPrice", "contractType", "basisRate", "futuresPrice", "annualizedBasisRate",
                                 "basis", "pair", "timestamp"]  # fmt: skip
        inst = (plant.engines[market].instruments[pair] if market is Market.UM and kind == "PERPETUAL"
                else plant.engines[market].instruments[f"{pair}_PERP"] if kind == "PERPETUAL"
                else _quarterly(plant, kind))  # fmt: skip
        window = f"interval=4h&startTime={rows[0]['timestamp']}&endTime={rows[-1]['timestamp']}"
        _, klines = await _read(port, f"{prefix}/v1/klines?symbol={inst.symbol}&{window}")
        _, index = await _read(port, f"{prefix}/v1/indexPriceKlines?pair={pair}&{window}")
        for row, k, i in zip(rows, klines, index, strict=True):
            assert (row["futuresPrice"], row["indexPrice"], row["pair"], row["contractType"]) == (k[1], i[1], pair, kind)
            basis = Decimal(k[1]) - Decimal(i[1])
            assert Decimal(row["basis"]) == basis and len(row["basis"].split(".")[1]) == 8
            rate = (basis / Decimal(i[1])).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            assert Decimal(row["basisRate"]) == rate
            if kind == "PERPETUAL":
                assert row["annualizedBasisRate"] == ""
            else:  # the rate as written, over the days left to the delivery
                days = Decimal(inst.delivery_ms - row["timestamp"]) / DAY_MS
                expected = (rate * 365 / days).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
                assert Decimal(row["annualizedBasisRate"]) == expected
    um = plant.listeners[Market.UM].port
    status, quarter = await _read(um, "/futures/data/basis?pair=BTCUSDT&contractType=CURRENT_QUARTER&period=1h")
    assert (status, quarter["code"]) == (400, -1121)  # no USDⓈ-M quarterly is listed
    status, every = await _read(um, "/futures/data/basis?pair=BTCUSDT&contractType=ALL&period=1h")
    assert (status, every["code"]) == (400, -1102)  # ALL is openInterestHist's and the takers', not the basis'


def test_the_rate_rounds_half_away_from_zero() -> None:
    assert [ratio_units(n, 100_000) for n in (4, 5, 6, -4, -5, -6, 0)] == [0, 1, 1, 0, -1, -1, 0]  # n / 10 units
    assert ratio_units(24 * 365 * DAY_MS, 31 * DAY_MS * 10**4) == 283  # Binance's example: 0.0024 → 0.0283


async def test_a_cold_month_is_answered_in_pieces_and_the_sdks_read_both(start_server: StartServer) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator=STILL | {"seed": 31})
    um, cm = plant.listeners[Market.UM].port, plant.listeners[Market.CM].port
    month = T0 - 30 * DAY_MS + HOUR_MS
    status, rows = await _read(cm, f"/futures/data/basis?pair=ETHUSD&contractType=PERPETUAL&period=5m&startTime={month}&limit=500")
    assert status == 200 and len(rows) == 500  # 500 five-minute boundaries of a past nobody read yet
    assert rows[0]["timestamp"] == month + -month % (5 * MINUTE_MS)
    status, takers = await _read(cm, f"/futures/data/takerBuySellVol?pair=ETHUSD&contractType=ALL&period=5m&startTime={month}&limit=500")
    assert status == 200 and [t["timestamp"] for t in takers] == [r["timestamp"] for r in rows]
    linear = sdk(plant).rest_api
    made = await asyncio.to_thread(lambda: linear.basis(
        pair="BTCUSDT", contract_type=BasisContractTypeEnum.PERPETUAL, period=BasisPeriodEnum.PERIOD_1h, limit=5
    ).data())  # fmt: skip
    _, raw = await _read(um, "/futures/data/basis?pair=BTCUSDT&contractType=PERPETUAL&period=1h&limit=5")
    read = [m.to_dict() for m in made]
    assert all(r.pop("additional_properties") == {} for r in read) and read == raw  # every key the model's
    inverse = DerivativesTradingCoinFutures(
        config_rest_api=ConfigurationRestAPI(base_path=f"http://127.0.0.1:{cm}")
    ).rest_api
    kind = "CURRENT_QUARTER"
    for path, call, periods in (
        ("basis", inverse.basis, cm_enums.BasisPeriodEnum),
        ("takerBuySellVol", inverse.taker_buy_sell_volume, cm_enums.TakerBuySellVolumePeriodEnum),
    ):
        made = await asyncio.to_thread(lambda c=call, p=periods: c(
            pair="BTCUSD", contract_type=kind, period=p["PERIOD_1h"].value, limit=5
        ).data())  # fmt: skip
        _, raw = await _read(cm, f"/futures/data/{path}?pair=BTCUSD&contractType={kind}&period=1h&limit=5")
        read = [m.to_dict() for m in made]
        assert all(r.pop("additional_properties") == {} for r in read) and read == raw and len(raw) == 5
