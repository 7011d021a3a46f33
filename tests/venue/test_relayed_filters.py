"""A relayed symbol's filters as its upstream published them (``Instrument.published``) are
what the venue on the relay enforces, on both markets (docs/relay.md)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import msgspec
import pytest
from test_engine import ALICE, NOW, Deposits, Kept
from test_funding_liquidation import CoinBook

from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.payloads.exchange_info import exchange_info
from tickerplant.market.payloads.listing import instruments_from_exchange_info
from tickerplant.protocol.errors import RequestRefused
from tickerplant.venue.auth.accounts import Balance
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.domain.money import parse_amount
from tickerplant.venue.wire.order_entry import new_order


def _relayed(market: Market, symbol: str, **filters: dict[str, str]) -> Instrument:
    """``symbol`` as a relay reads it from an upstream whose filters say ``filters``."""
    body: dict[str, Any] = msgspec.json.decode(exchange_info(market, catalogue(market, NOW), NOW, 2400))
    (entry,) = [s for s in body["symbols"] if s["symbol"] == symbol]
    for f in entry["filters"]:
        f.update(filters.get(f["filterType"], {}))
    body["symbols"] = [entry]
    (inst,) = instruments_from_exchange_info(market, msgspec.json.encode(body))
    return inst


def test_a_coin_m_relayed_symbol_trades_within_its_published_filters() -> None:
    inst = _relayed(Market.CM, "BTCUSD_PERP", PRICE_FILTER={"minPrice": "1000"}, MARKET_LOT_SIZE={"maxQty": "60"})
    deposits = Deposits()
    deposits.rows[ALICE] = [Balance(ALICE, Market.CM, "BTC", parse_amount("10"), 1)]
    engine = Engine(Market.CM, [inst], CoinBook(), deposits, Kept())
    limit = {"symbol": "BTCUSD_PERP", "side": "BUY", "type": "LIMIT", "timeinforce": "GTC", "quantity": "1"}
    placed = new_order(engine, ALICE, limit | {"price": "49000.0"}, NOW).order  # no MIN_NOTIONAL on COIN-M
    assert placed is not None and placed.status.is_open
    engine.data.marks["BTCUSD_PERP"] = Fraction(950)  # type: ignore[attr-defined]  # a band around 950
    with pytest.raises(RequestRefused) as caught:
        new_order(engine, ALICE, limit | {"price": "999.9"}, NOW)
    assert caught.value.code == -4013  # under the published minPrice, not the tick
    market = {"symbol": "BTCUSD_PERP", "side": "SELL", "type": "MARKET", "quantity": "61"}
    with pytest.raises(RequestRefused) as caught:
        new_order(engine, ALICE, market, NOW)
    assert caught.value.code == -4005  # over the published MARKET_LOT_SIZE


def test_a_usdm_relayed_symbols_published_min_notional_is_enforced() -> None:
    inst = _relayed(Market.UM, "BTCUSDT", MIN_NOTIONAL={"notional": "100"})
    deposits = Deposits()
    engine = Engine(Market.UM, [inst], CoinBook(), deposits, Kept())
    engine.data.marks["BTCUSDT"] = Fraction(60000)  # type: ignore[attr-defined]
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeinforce": "GTC", "price": "59000.00"}
    with pytest.raises(RequestRefused) as caught:  # 59 USDT: over the catalogue's 50, under Binance's 100
        new_order(engine, ALICE, limit | {"quantity": "0.001"}, NOW)
    assert caught.value.code == -4164
    assert new_order(engine, ALICE, limit | {"quantity": "0.002"}, NOW).order is not None
