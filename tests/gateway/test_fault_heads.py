"""Which symbols' streams a stream name is, for a market fault narrowed to symbols
(``gateway/fault_names.stream_heads``): a symbol's own, its pair and contract type's
(continuous klines), and on COIN-M its pair's (the index price), every contract's."""

from __future__ import annotations

import dataclasses

from tickerplant.gateway.fault_names import stream_heads
from tickerplant.market.instruments import ContractType, Market, catalogue

NOW = 1_795_000_000_000


def test_a_streams_head_names_the_symbols_whose_stream_it_is() -> None:
    um = {i.symbol: i for i in catalogue(Market.UM, NOW)}
    heads = stream_heads(um)
    assert heads["ethusdt"] == ("ETHUSDT", frozenset({"ETHUSDT"}))
    assert heads["ethusdt_perpetual"] == ("ETHUSDT", frozenset({"ETHUSDT"}))
    cm = {i.symbol: i for i in catalogue(Market.CM, NOW)}
    quarters = {s for s in cm if s.startswith("BTCUSD_") and s != "BTCUSD_PERP"}
    assert quarters  # the catalogue lists the pair's quarterlies
    heads = stream_heads(cm)
    assert heads["btcusd"] == ("BTCUSD_PERP", frozenset({"BTCUSD_PERP", *quarters}))  # decided for the perpetual
    assert heads["btcusd_perp"] == ("BTCUSD_PERP", frozenset({"BTCUSD_PERP"}))
    assert heads["btcusd_current_quarter"][1] <= quarters
    assert "!bookticker" not in heads  # an all-market stream is no symbol's


def test_a_usdm_quarterlys_pair_is_its_perpetuals_name_whose_streams_are_the_perpetuals() -> None:
    """A relay of Binance lists USDⓈ-M quarterlies (``BTCUSDT_261225``, pair ``BTCUSDT``):
    ``btcusdt@aggTrade`` is the perpetual's stream alone, though the pair is named so."""
    perpetual = next(i for i in catalogue(Market.UM, NOW) if i.symbol == "BTCUSDT")
    quarter = dataclasses.replace(perpetual, symbol="BTCUSDT_261225", contract_type=ContractType.CURRENT_QUARTER)
    heads = stream_heads({i.symbol: i for i in (perpetual, quarter)})
    assert heads["btcusdt"] == ("BTCUSDT", frozenset({"BTCUSDT"}))
    assert heads["btcusdt_261225"] == ("BTCUSDT_261225", frozenset({"BTCUSDT_261225"}))
    assert heads["btcusdt_current_quarter"] == ("BTCUSDT_261225", frozenset({"BTCUSDT_261225"}))
