"""The client for Binance's futures market-data protocols, against tickerplant or Binance.

- ``MarketStreams``: market streams as typed events that keep themselves alive
  (reconnect, resubscribe, 24 h rollover, >1024 streams) and report what they could not
  deliver as ``Gap`` items.
- ``RawStreams``: the same connections, handing out each payload byte for byte with its
  receive time (for recording and relaying).
- ``WebSocketAPI``: request/response with id correlation that keeps under the weight limit;
  with a ``Signer`` (an API key and its secret or private key), the private methods too.
- ``OrderBooks``: local order books kept from diff-depth streams and REST snapshots by
  Binance's procedure (spec §4.9), resynced by themselves; ``LocalBook`` is one of them.
"""

from tickerplant.client.books import OrderBooks
from tickerplant.client.connections import SubscribeRefused
from tickerplant.client.events import (
    AggTrade,
    BookTicker,
    ContinuousKline,
    ContinuousKlineData,
    DepthUpdate,
    ForceOrder,
    IndexPriceKline,
    IndexPriceUpdate,
    Kline,
    KlineData,
    LiquidationOrder,
    MarketEvent,
    MarkPriceKline,
    MarkPriceUpdate,
    MiniTicker,
    PriceKlineData,
    Ticker,
    Trade,
    UnknownEvent,
)
from tickerplant.client.orderbook import (
    BookItem,
    BookResync,
    BookUpdate,
    DepthSnapshot,
    LocalBook,
    ResyncReason,
)
from tickerplant.client.sequencing import Gap
from tickerplant.client.streams import (
    BINANCE_COINM_STREAMS,
    BINANCE_USDM_STREAMS,
    Lagged,
    MarketStreams,
    RawItem,
    RawMessage,
    RawStreams,
    StreamItem,
    StreamsLost,
)
from tickerplant.client.ws_api import ApiError, RateLimited, Signer, WebSocketAPI

__all__ = [
    "BINANCE_COINM_STREAMS",
    "BINANCE_USDM_STREAMS",
    "AggTrade",
    "ApiError",
    "BookItem",
    "BookResync",
    "BookTicker",
    "BookUpdate",
    "ContinuousKline",
    "ContinuousKlineData",
    "DepthSnapshot",
    "DepthUpdate",
    "ForceOrder",
    "Gap",
    "IndexPriceKline",
    "IndexPriceUpdate",
    "Kline",
    "KlineData",
    "Lagged",
    "LiquidationOrder",
    "LocalBook",
    "MarkPriceKline",
    "MarkPriceUpdate",
    "MarketEvent",
    "MarketStreams",
    "MiniTicker",
    "OrderBooks",
    "PriceKlineData",
    "RateLimited",
    "RawItem",
    "RawMessage",
    "RawStreams",
    "ResyncReason",
    "Signer",
    "StreamItem",
    "StreamsLost",
    "SubscribeRefused",
    "Ticker",
    "Trade",
    "UnknownEvent",
    "WebSocketAPI",
]
