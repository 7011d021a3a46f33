"""python-binance pointed at tickerplant and made as its README shows a user,
``await AsyncClient.create(key, secret)``: that pings spot and reads spot's time for its
clock offset (trading part 5 §2.2), before any other call. Its base URLs are class
attributes formatted at construction, so they are set on a subclass first: the only change."""

from __future__ import annotations

from typing import Any

from binance import AsyncClient

__all__ = ["python_binance_at"]


async def python_binance_at(um: str, cm: str | None = None, *args: Any, **kwargs: Any) -> AsyncClient:
    """``AsyncClient.create(*args, **kwargs)`` with spot's and USDⓈ-M's REST (and its
    ``futures/data``) at ``um`` (``http://host:port``), COIN-M's at ``cm`` (else Binance's)."""

    class Local(AsyncClient):
        API_URL = f"{um}/api"
        FUTURES_URL = f"{um}/fapi"
        FUTURES_COIN_URL = f"{cm}/dapi" if cm is not None else AsyncClient.FUTURES_COIN_URL
        FUTURES_DATA_URL = f"{um}/futures/data"  # openInterestHist, the long/short ratios
        FUTURES_COIN_DATA_URL = f"{cm}/futures/data" if cm is not None else AsyncClient.FUTURES_COIN_DATA_URL

    return await Local.create(*args, **kwargs)
