"""A relay's venue charges the fundings its upstream tells by the upstream's clock, however
far that clock is from the relay's own (a machine with a wrong clock, a replaying
upstream): a funding told within a minute of its time is charged, one told later is
history (``venue/clearing/funding.py``). Over real sockets: the relay is a real server on
the system clock, its upstream a script (``quiet_upstream.py``) whose times are minutes
ahead of it or behind, an account's market order and its income read through the relay's
REST."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import StartServer
from quiet_upstream import QuietUpstream
from served_venue import account, signed
from timing import SECONDS, eventually

from tickerplant.client.streams import RawMessage
from tickerplant.clock import SystemClock
from tickerplant.feeds.relay.relay import RelaySource
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.payloads.exchange_info import exchange_info

MINUTE_MS = 60_000
H8 = 8 * 60 * MINUTE_MS
SNAPSHOT = b'{"lastUpdateId":105,"E":1,"T":1,"bids":[["59999.00","1.000"]],"asks":[["60001.00","1.000"]]}'
DIFF = b'{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":101,"u":110,"pu":100,"b":[["59998.00","1.000"]],"a":[]}'


def mark(told_ms: int, price: str, next_funding_ms: int) -> RawMessage:
    """A `btcusdt@markPrice@1s` push at ``told_ms`` (E), the next funding at ``next_funding_ms`` (T)."""
    payload = b'{"e":"markPriceUpdate","E":%d,"s":"BTCUSDT","p":"%b","P":"%b","i":"%b","r":"0.00010000","T":%d}'
    return RawMessage("btcusdt@markPrice@1s", payload % (told_ms, *[price.encode()] * 3, next_funding_ms), 0)


class HeldUpstream(QuietUpstream):
    """Hands out what the test puts, its socket open until the relay closes it."""

    def __init__(self) -> None:
        super().__init__()
        self.items: asyncio.Queue[RawMessage | None] = asyncio.Queue()

    async def close(self) -> None:
        await super().close()
        self.items.put_nowait(None)

    async def __aiter__(self) -> Any:
        while (item := await self.items.get()) is not None:
            yield item


@pytest.mark.parametrize("apart_ms", [5 * MINUTE_MS, -5 * MINUTE_MS], ids=["upstream-ahead", "upstream-behind"])
async def test_a_relay_charges_the_funding_its_upstream_tells_on_time_whatever_its_clock(
    start_server: StartServer, tmp_path: Path, apart_ms: int
) -> None:
    now = SystemClock().now_ms()
    funding_ms = now + apart_ms  # a funding time now, on the upstream's clock
    early_ms = funding_ms - 4 * MINUTE_MS  # the one before it, told three minutes late

    listed = exchange_info(Market.UM, [i for i in catalogue(Market.UM, now) if i.symbol == "BTCUSDT"], now, 2400)

    async def fetch(url: str) -> bytes:
        return SNAPSHOT if "/depth?" in url else listed

    upstream = HeldUpstream()
    relay = RelaySource(
        {Market.UM: "ws://unused"}, symbols=["BTCUSDT"], kinds=["depth@100ms", "markPrice@1s"],
        connect=lambda url, **options: upstream, fetch=fetch,
    )  # fmt: skip
    db = tmp_path / "accounts.db"
    alice, key = account(db, "alice", Market.UM, "USDT", "10000")
    server = await start_server(source=relay, venue_db=str(db))
    engine = server.engines[Market.UM]
    upstream.items.put_nowait(RawMessage("btcusdt@depth@100ms", DIFF, 0))
    upstream.items.put_nowait(mark(early_ms - 1000, "60000.00000000", early_ms))

    def ready() -> bool:  # the relay's book in sync with the snapshot, and a mark
        return any(engine.data.levels("BTCUSDT", False)) and engine.mark("BTCUSDT") is not None

    await eventually(ready, 10 * SECONDS)
    fapi = f"http://127.0.0.1:{server.listeners[Market.UM].port}/fapi/v1"

    async with aiohttp.ClientSession() as session:
        status, order = await signed(session, "POST", f"{fapi}/order", key,
                                     "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&newOrderRespType=RESULT")  # fmt: skip
        assert (status, order["status"], order["executedQty"]) == (200, "FILLED", "0.010"), order
        # the funding at early_ms told three minutes after it: history; the next one, a
        # second after it: charged, at the mark pushed before it (0.010 × 62 000 × 0.0001)
        upstream.items.put_nowait(mark(early_ms + 3 * MINUTE_MS, "62000.00000000", funding_ms))
        upstream.items.put_nowait(mark(funding_ms + 1000, "62000.00000000", funding_ms + H8))
        ledger = engine.ledger(alice)
        await eventually(lambda: any(i.kind == "FUNDING_FEE" for i in ledger.income), 10 * SECONDS)
        status, rows = await signed(session, "GET", f"{fapi}/income", key, "incomeType=FUNDING_FEE")
        async with session.get(f"{fapi}/fundingRate?symbol=BTCUSDT") as answer:
            history = await answer.json()
    assert status == 200, rows
    assert [(r["symbol"], r["income"], r["asset"], r["time"]) for r in rows] == [
        ("BTCUSDT", "-0.06200000", "USDT", funding_ms)
    ]
    # both fundings in the history, as Binance's rows: when each was told is the venue's alone
    assert history == [
        {"symbol": "BTCUSDT", "fundingTime": early_ms, "fundingRate": "0.00010000", "markPrice": "60000.00000000"},
        {"symbol": "BTCUSDT", "fundingTime": funding_ms, "fundingRate": "0.00010000", "markPrice": "62000.00000000"},
    ]
