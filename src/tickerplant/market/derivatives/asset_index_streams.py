"""The Multi-Assets mode's asset index streams (USDⓈ-M, spec §3.5): `!assetIndex@arr`, every
margin asset's entry in one array, and `<assetSymbol>@assetIndex` (`btcusd@assetIndex`),
one asset's, pushed each whole second ("Update Speed: 1s", Binance's stream page), made of
the same figures ``GET /fapi/v1/assetIndex`` answers (``market/payloads/asset_index.py``,
their one home) at the marks the plant pushes: 1 for the stablecoins, ``<ASSET>USDT``'s mark
for BTC, ETH and BNB (an asset whose symbol has no mark yet is left out until it has one).

A plant that makes no marks of its own (a relay, a recording's replay: they re-serve the
upstream's pushes) makes none of these either: the upstream's are relayed. Each entry is a
``derived_events.AssetIndexUpdate``.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from tickerplant.market.demand import Demand
from tickerplant.market.messages import StreamKind, StreamMessage
from tickerplant.market.payloads.asset_index import MARGIN_ASSETS, asset_index_row, asset_price, index_symbol
from tickerplant.market.payloads.derived_events import AssetIndexUpdate

__all__ = ["ALL_ASSET_INDEX", "asset_index_name", "push_asset_index"]

ALL_ASSET_INDEX = StreamKind.ALL_ASSET_INDEX.value  # `!assetIndex@arr`
# the payload's fields (``derived_events.AssetIndexUpdate``), each the REST row's figure of the same meaning
_FIELDS = (
    ("index", "index"), ("bid_buffer", "bidBuffer"), ("ask_buffer", "askBuffer"), ("bid_rate", "bidRate"),
    ("ask_rate", "askRate"), ("auto_exchange_bid_buffer", "autoExchangeBidBuffer"),
    ("auto_exchange_ask_buffer", "autoExchangeAskBuffer"), ("auto_exchange_bid_rate", "autoExchangeBidRate"),
    ("auto_exchange_ask_rate", "autoExchangeAskRate"),
)  # fmt: skip


def asset_index_name(asset: str) -> str:
    """`<assetSymbol>@assetIndex` of a margin asset (`btcusd@assetIndex`)."""
    return f"{index_symbol(asset).lower()}@{StreamKind.ASSET_INDEX.value}"


_NAMES = {asset: asset_index_name(asset) for asset in MARGIN_ASSETS}


def push_asset_index(
    second: int, mark: Callable[[str], Fraction | None], wanted: Demand, encode: Callable[[Any], bytes],
    out: list[StreamMessage],
) -> None:  # fmt: skip
    """The pushes of the whole second ``second`` (ms): each asset with an index at ``mark``
    (a symbol's mark, None before its first) whose stream somebody takes (``wanted``, None:
    all), and the array when somebody takes it."""
    want_all = wanted is None or ALL_ASSET_INDEX in wanted
    every: list[AssetIndexUpdate[str]] = []
    for asset in MARGIN_ASSETS:
        name = _NAMES[asset]
        own = wanted is None or name in wanted
        if not (own or want_all):
            continue
        index = asset_price(asset, mark)
        if index is None:
            continue
        row = asset_index_row(asset, index, second)
        figures = {key: row[field] for key, field in _FIELDS}
        event = AssetIndexUpdate(event_time=second, symbol=row["symbol"], **figures)
        if own:
            out.append(StreamMessage(name, encode(event)))
        if want_all:
            every.append(event)
    if every:
        out.append(StreamMessage(ALL_ASSET_INDEX, encode(every)))
