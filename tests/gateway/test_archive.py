"""Binance's public archive layout served from the simulated past (protocol/archive.py,
spec §9), over real sockets: a day's 1m klines, a day's mark-price klines
and a month's funding are the REST answers' rows as CSV in a zip with its checksum; a server
of the same seed started a day later serves the same bytes; files not in the past (today,
before the listing, names Binance does not have) are S3's 404; and the round trip holds:
the downloaded files replayed with a replay source answer the klines the simulator did."""

from __future__ import annotations

import asyncio
import hashlib
import io
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import msgspec
import pytest
from conftest import StartServer
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.market.instruments import Market
from tickerplant.market.units import DAY_MS, HOUR_MS
from tickerplant.protocol.later import Later

# what the archive answers, not how the listener moves it:
# on uvloop alone (tests/conftest.py); the listeners' own tests cover both loops
pytestmark = pytest.mark.uvloop_only

T0 = 1_795_000_000_000 + 17_345  # 2026-11-18T08:53:37.345Z
STILL = {"actions_per_s": 1e-9, "seed": 5}  # a market that does not move
DAY = T0 - T0 % DAY_MS - 8 * DAY_MS  # 2026-11-10
KLINES = "/data/futures/um/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2026-11-10.zip"
MARKS = "/data/futures/um/daily/markPriceKlines/ETHUSDT/1h/ETHUSDT-1h-2026-11-10.zip"
FUNDING = "/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2026-10.zip"
OCTOBER = 1_790_812_800_000  # 2026-10-01


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10 * SECONDS) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


async def _file(base: str, path: str) -> tuple[bytes, list[list[str]]]:
    """A zip and its checksum from ``base``: the zip's bytes and its CSV's rows (header
    checked and dropped)."""
    status, kind, body = await asyncio.to_thread(_get, base + path)
    assert (status, kind) == (200, "application/zip")
    status, _, checksum = await asyncio.to_thread(_get, base + path + ".CHECKSUM")
    name = path.rsplit("/", 1)[1]
    assert status == 200 and checksum == f"{hashlib.sha256(body).hexdigest()}  {name}\n".encode()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        (entry,) = archive.namelist()
        assert entry == name.replace(".zip", ".csv")
        lines = archive.read(entry).decode().splitlines()
    return body, [line.split(",") for line in lines[1:]]


# where the replays of a day's file start: its last three hours (a replay as fast as it goes
# still ticks the plant every 250 ms of its time, 15 s of CPU for the 22 hours from 02:00 it
# began at before; three hours hold 180 klines, a start mid-file and the file's end alike)
REPLAYED_FROM = DAY + 21 * HOUR_MS


async def _replayed(root: Path, path: str, body: bytes, query: str) -> object:
    """``body`` saved under ``root`` as the archive lays it out, replayed from
    ``REPLAYED_FROM`` to the end of its day: the replay's answer to ``query``."""
    saved = root / path.removeprefix("/data/")
    saved.parent.mkdir(parents=True)
    saved.write_bytes(body)
    replay = ReplayConfig(paths=(str(root),), speed=None, start_ms=REPLAYED_FROM)
    replayed = Tickerplant(ServerConfig(um_port=0, cm_port=0, admin_port=0, replay=replay))
    await replayed.start()
    try:
        await asyncio.wait_for(replayed.done.wait(), 30 * SECONDS)
        again = f"http://127.0.0.1:{replayed.listeners[Market.UM].port}"
        return msgspec.json.decode((await asyncio.to_thread(_get, again + query))[2])
    finally:
        await replayed.close()


def _texts(rows: object) -> list[list[str]]:
    assert isinstance(rows, list)
    return [[str(x) for x in row] for row in rows]


async def test_the_archive_holds_the_rest_answers_rows(start_server: StartServer) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    base = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    _, klines = await _file(base, KLINES)
    rest = f"{base}/fapi/v1/klines?symbol=BTCUSDT&interval=1m&startTime={DAY}&limit=1440"
    assert klines == _texts(msgspec.json.decode((await asyncio.to_thread(_get, rest))[2]))
    assert len(klines) == 1440 and int(klines[-1][6]) == DAY + DAY_MS - 1
    _, marks = await _file(base, MARKS)
    rest = f"{base}/fapi/v1/markPriceKlines?symbol=ETHUSDT&interval=1h&startTime={DAY}&limit=24"
    assert marks == _texts(msgspec.json.decode((await asyncio.to_thread(_get, rest))[2]))
    _, funding = await _file(base, FUNDING)
    rest = f"{base}/fapi/v1/fundingRate?symbol=BTCUSDT&startTime={OCTOBER}&endTime={DAY - 9 * DAY_MS - 1}&limit=1000"
    events = msgspec.json.decode((await asyncio.to_thread(_get, rest))[2])
    assert [[str(e["fundingTime"]), "8", e["fundingRate"]] for e in events] == funding
    assert len(funding) == 31 * 3  # every funding of October, 8 h apart
    # COIN-M's index by its pair, from either listener
    coin = "/data/futures/cm/daily/indexPriceKlines/BTCUSD/1h/BTCUSD-1h-2026-11-10.zip"
    _, index = await _file(base, coin)
    assert len(index) == 24 and int(index[0][0]) == DAY


async def test_a_days_four_kinds_of_klines_are_each_its_own_though_their_files_share_a_name(
    start_server: StartServer,
) -> None:
    """A symbol's trade, mark, index and premium index klines of a day are four files of one
    name (``BTCUSDT-1h-2026-11-10.zip``; a USDⓈ-M pair's index is named by its symbol): each is
    its own series, with its own checksum, in whichever order they are asked (the first one
    asked was served, with its checksum, for all four)."""
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    base = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    rest = f"{base}/fapi/v1/{{}}?{{}}=BTCUSDT&interval=1h&startTime={DAY}&limit=24"
    made = {}
    for kind, named in (("premiumIndexKlines", "symbol"), ("klines", "symbol"), ("indexPriceKlines", "pair"),
                        ("markPriceKlines", "symbol")):  # fmt: skip
        body, rows = await _file(base, f"/data/futures/um/daily/{kind}/BTCUSDT/1h/BTCUSDT-1h-2026-11-10.zip")
        assert rows == _texts(msgspec.json.decode((await asyncio.to_thread(_get, rest.format(kind, named)))[2]))
        made[kind] = body
    assert len(set(made.values())) == 4


async def test_what_the_past_does_not_hold_is_s3s_404(start_server: StartServer) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    base = f"http://127.0.0.1:{plant.listeners[Market.CM].port}"
    missing = [
        "/data/futures/um/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2026-11-18.zip",  # today: published tomorrow
        "/data/futures/um/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2026-11.zip",  # this month
        "/data/futures/um/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2015-01-01.zip",  # before the listing
        "/data/futures/um/daily/klines/BTCUSDT/1w/BTCUSDT-1w-2026-11-10.zip",  # no daily weeks
        "/data/futures/um/daily/klines/BTCUSDT/1m/ETHUSDT-1m-2026-11-10.zip",  # the name is not the folder's
        "/data/futures/um/daily/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2026-11-10.zip",  # monthly only
        "/data/futures/um/daily/klines/NOPEUSDT/1m/NOPEUSDT-1m-2026-11-10.zip",
        "/data/futures/cm/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2026-11-10.zip",  # a USDⓈ-M symbol under cm
        "/data/futures/um/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2026-13-10.zip",
        "/data/futures/um/daily/klines/BTCUSDT/1m/",
    ]
    for path in missing:
        status, kind, body = await asyncio.to_thread(_get, base + path)
        assert (status, kind) == (404, "application/xml"), path
        assert b"<Code>NoSuchKey</Code>" in body


async def test_the_same_seed_a_day_later_serves_the_same_bytes(start_server: StartServer) -> None:
    today = await start_server(clock=ManualClock(T0), simulator=STILL)
    tomorrow = await start_server(clock=ManualClock(T0 + DAY_MS + 5 * HOUR_MS), simulator=STILL)
    first, _ = await _file(f"http://127.0.0.1:{today.listeners[Market.UM].port}", MARKS)
    again, _ = await _file(f"http://127.0.0.1:{tomorrow.listeners[Market.UM].port}", MARKS)
    assert first == again
    archive = tomorrow.listeners[Market.UM].archive
    assert archive is not None and archive is tomorrow.listeners[Market.CM].archive  # one a process
    cold = archive.begin("/data/futures/um/monthly/klines/SOLUSDT/1h/SOLUSDT-1h-2026-10.zip")
    assert isinstance(cold, Later)  # made in pieces, a piece a REST turn
    steps = 1
    while not cold.step():
        steps += 1
    assert steps > 31 and cold.result.status == 200
    # a client that leaves mid-file leaves no build behind (its pieces are dropped)
    left = archive.begin("/data/futures/um/monthly/klines/SOLUSDT/1h/SOLUSDT-1h-2026-09.zip")
    assert isinstance(left, Later) and not left.step() and archive.building == 1
    del left
    assert archive.building == 0


async def test_downloaded_files_replayed_answer_the_simulators_klines(start_server: StartServer, tmp_path: Path) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    base = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    body, _ = await _file(base, KLINES)
    query = f"/fapi/v1/klines?symbol=BTCUSDT&interval=1m&startTime={DAY}&limit=1440"
    simulated = msgspec.json.decode((await asyncio.to_thread(_get, base + query))[2])
    assert await _replayed(tmp_path, KLINES, body, query) == simulated


async def test_a_days_trades_are_the_rest_answers_and_replay_to_the_same_klines(
    start_server: StartServer, tmp_path: Path
) -> None:
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    base = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    path = "/data/futures/um/daily/aggTrades/XRPUSDT/XRPUSDT-aggTrades-2026-11-10.zip"
    body, aggregates = await _file(base, path)
    assert int(aggregates[0][5]) >= DAY and int(aggregates[-1][5]) < DAY + DAY_MS
    rest = f"{base}/fapi/v1/aggTrades?symbol=XRPUSDT&fromId={aggregates[0][0]}&limit=1000"
    rows = msgspec.json.decode((await asyncio.to_thread(_get, rest))[2])
    expected = [[str(r["a"]), r["p"], r["q"], str(r["f"]), str(r["l"]), str(r["T"]), str(r["m"]).lower()] for r in rows]
    assert aggregates[:1000] == expected
    _, trades = await _file(base, "/data/futures/um/daily/trades/XRPUSDT/XRPUSDT-trades-2026-11-10.zip")
    # each aggregate's trades, one row each: the trade ids from the first's `f` to the last's `l`
    assert [int(t[0]) for t in trades] == list(range(int(aggregates[0][3]), int(aggregates[-1][4]) + 1))
    assert all(float(t[3]) == round(float(t[1]) * float(t[2]), 8) for t in trades[:100])  # the quote quantity
    query = f"/fapi/v1/klines?symbol=XRPUSDT&interval=1m&startTime={REPLAYED_FROM}&limit=180"
    simulated = msgspec.json.decode((await asyncio.to_thread(_get, base + query))[2])
    assert int(simulated[-1][6]) == DAY + DAY_MS - 1  # the replayed hours' minutes, to the day's end
    assert await _replayed(tmp_path, path, body, query) == simulated  # each kline its trades' aggregate
