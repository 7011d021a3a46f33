"""The relay: its decisions as plain functions, then a simulated tickerplant upstream
relayed by another tickerplant, over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from collecting import collect_until
from conftest import StartServer
from driven_clock import driven
from quiet_upstream import QuietUpstream
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.client import BookUpdate, OrderBooks
from tickerplant.client.endpoints import fetch
from tickerplant.client.events import AggTrade, BookTicker, Trade
from tickerplant.client.orderbook import DepthSnapshot
from tickerplant.client.sequencing import Gap
from tickerplant.client.streams import Lagged, MarketStreams, RawMessage, RawStreams, StreamsLost
from tickerplant.client.ws_api import ApiError, WebSocketAPI
from tickerplant.clock import ManualClock
from tickerplant.feeds.relay.narrowed import narrowed
from tickerplant.feeds.relay.relay import (
    DEFAULT_KINDS,
    UPSTREAM_LOST,
    RelayError,
    RelaySource,
    canonical_names,
    choose,
    exchange_info_url,
    relayable_kinds,
    stream_names,
)
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.payloads.events import DepthUpdate
from tickerplant.market.payloads.exchange_info import exchange_info
from tickerplant.protocol.endpoints import rest_base
from tickerplant.protocol.streams import SERVED_KINDS, parse

NOW_MS = 1_767_225_600_000


def fast() -> Iterator[float]:
    return iter([0.05] * 10_000)


FAST = {"delays": fast}
NO_DEPTH = [kind for kind in DEFAULT_KINDS if not kind.startswith(("depth", "rpiDepth"))]

StartRelay = Callable[..., Awaitable[Tickerplant]]


@pytest.fixture
def start_relay(start_server: StartServer) -> StartRelay:
    """Start a relaying tickerplant on loopback; arguments go to ``RelaySource``."""

    async def start(upstreams: dict[Market, str], **options: Any) -> Tickerplant:
        options.setdefault("stream_options", FAST)
        return await start_server(source=RelaySource(upstreams, **options))

    return start


def published(plant: Tickerplant, market: Market) -> dict[str, list[bytes]]:
    """Every payload ``plant`` publishes from now on, per canonical stream: the ground truth."""
    seen: dict[str, list[bytes]] = {}

    def record(messages: Any) -> None:
        for stream, payload in messages:
            seen.setdefault(stream, []).append(payload)

    plant.bus.subscribe(market, record)
    return seen


async def get_json(url: str) -> Any:
    return msgspec.json.decode(await fetch(url))


def ids(items: list[Any], kind: type, symbol: str) -> list[int]:
    key = {BookTicker: "update_id", Trade: "trade_id", AggTrade: "agg_id"}[kind]
    return [getattr(i, key) for i in items if isinstance(i, kind) and i.symbol == symbol]


# --- decisions, no sockets ---------------------------------------------------------------------


def test_default_kinds_are_everything_tickerplant_serves() -> None:
    kinds = {s.kind for s in (_parse(k) for k in DEFAULT_KINDS)}
    assert kinds == SERVED_KINDS
    assert relayable_kinds(["trade", "trade", "!bookTicker"]) == ("trade", "!bookTicker")
    assert relayable_kinds(["depth@100ms", "depth5", "rpiDepth@500ms"]) == ("depth@100ms", "depth5", "rpiDepth@500ms")
    assert relayable_kinds(["kline_1h", "markPrice@1s", "indexPrice", "!markPrice@arr", "continuousKline_1s"])
    assert relayable_kinds(["markPriceKline_1m", "indexPriceKline_1M"]) == ("markPriceKline_1m", "indexPriceKline_1M")
    assert relayable_kinds(["assetIndex", "!assetIndex@arr"]) == ("assetIndex", "!assetIndex@arr")
    with pytest.raises(ValueError, match=r"compositeIndex, !contractInfo, nonsense: a kind is a stream name"):
        relayable_kinds(["trade", "depth@100ms", "compositeIndex", "!contractInfo", "nonsense"])
    with pytest.raises(ValueError):
        relayable_kinds([])


def _parse(kind: str) -> Any:
    return parse(kind) if kind.startswith("!") else parse(f"x@{kind}")


def _um(*symbols: str) -> list[Instrument]:
    listed = catalogue(Market.UM, NOW_MS)
    return [i for i in listed if i.symbol in symbols] if symbols else listed


def test_stream_names_per_symbol_then_the_whole_market() -> None:
    insts = _um("BTCUSDT", "ETHUSDT")
    # each symbol's aggTrade first, whatever the kinds: the venue fills and triggers from it
    assert stream_names(insts, ("bookTicker", "!bookTicker", "trade")) == [
        "btcusdt@aggTrade", "btcusdt@bookTicker", "btcusdt@trade",
        "ethusdt@aggTrade", "ethusdt@bookTicker", "ethusdt@trade", "!bookTicker",
    ]  # fmt: skip
    assert stream_names(insts[:1], ("trade", "aggTrade")) == ["btcusdt@trade", "btcusdt@aggTrade"]  # once
    assert stream_names([], DEFAULT_KINDS) == [], "a market with nothing chosen relays nothing"
    # depth: each symbol's book stream is added; rpiDepth is USDⓈ-M's alone (§4.11)
    assert stream_names(_um("BTCUSDT"), ("depth5", "rpiDepth@500ms")) == [
        "btcusdt@aggTrade", "btcusdt@depth5", "btcusdt@rpiDepth@500ms", "btcusdt@depth@100ms",
    ]  # fmt: skip
    cm = [i for i in catalogue(Market.CM, NOW_MS) if i.symbol == "BTCUSD_PERP"]
    assert stream_names(cm, ("depth@100ms", "rpiDepth@500ms")) == ["btcusd_perp@aggTrade", "btcusd_perp@depth@100ms"]
    # the asset index: USDⓈ-M's, named by each margin asset once, whatever the symbols (§3.5)
    assets = ["usdtusd", "usdcusd", "bnbusd", "btcusd", "ethusd", "fdusdusd", "bfusdusd"]
    assert stream_names(insts, ("assetIndex", "!assetIndex@arr")) == [
        "btcusdt@aggTrade", "ethusdt@aggTrade", *(f"{a}@assetIndex" for a in assets), "!assetIndex@arr",
    ]  # fmt: skip
    assert stream_names(cm, ("assetIndex", "!assetIndex@arr")) == ["btcusd_perp@aggTrade"]


def test_pair_streams_are_named_once_per_pair_as_binance_names_them() -> None:
    kinds = ("markPrice@1s", "indexPrice", "continuousKline_1m", "continuousKline_1s", "kline_1h", "!markPrice@arr")
    assert stream_names(_um("BTCUSDT", "ETHUSDT"), kinds) == [
        "btcusdt@aggTrade", "btcusdt@markPrice@1s", "btcusdt_perpetual@continuousKline_1m",
        "btcusdt_perpetual@continuousKline_1s", "btcusdt@kline_1h",
        "ethusdt@aggTrade", "ethusdt@markPrice@1s", "ethusdt_perpetual@continuousKline_1m",
        "ethusdt_perpetual@continuousKline_1s", "ethusdt@kline_1h", "!markPrice@arr",
    ], "indexPrice is COIN-M's"  # fmt: skip
    cm = [i for i in catalogue(Market.CM, NOW_MS) if i.pair == "BTCUSD"]
    assert len(cm) > 1, "the perpetual and its quarterlies"
    names = stream_names(cm, kinds)
    assert [n for n in names if not n.startswith("btcusd_")] == ["btcusd@markPrice@1s", "btcusd@indexPrice"]
    assert "btcusd_perpetual@continuousKline_1m" in names and "!markPrice@arr" not in names
    assert not [n for n in names if n.endswith("continuousKline_1s")], "1s continuous klines: USDⓈ-M's"
    assert len(names) == len(set(names))
    # the price klines: a contract's mark price, the pair's index, COIN-M's alone (§3.5)
    assert stream_names(cm[:1], ("markPriceKline_1m", "indexPriceKline_1h")) == [
        f"{cm[0].symbol.lower()}@aggTrade", f"{cm[0].symbol.lower()}@markPriceKline_1m", "btcusd@indexPriceKline_1h",
    ]  # fmt: skip
    assert stream_names(_um("BTCUSDT"), ("markPriceKline_1m", "indexPriceKline_1h")) == ["btcusdt@aggTrade"]
    contract_types = {i.contract_type.value.lower() for i in cm}
    assert {n.partition("@")[0] for n in names if "continuousKline" in n} == {f"btcusd_{t}" for t in contract_types}


def test_canonical_names_are_what_the_gateway_routes_by() -> None:
    insts = _um("BTCUSDT")
    names = stream_names(insts, DEFAULT_KINDS)
    mapping = canonical_names(names, insts)
    # Binance's lowercase names are their own canonical names; protocol.streams agrees.
    assert mapping == {name: name for name in names}
    assert canonical_names(["BTCUSDT@trade", "solusdt@trade", "btcusdt@compositeIndex"], insts) == {
        "BTCUSDT@trade": "btcusdt@trade"
    }


def test_choose_everything_or_the_named_symbols_in_any_case() -> None:
    listed = {Market.UM: _um(), Market.CM: catalogue(Market.CM, NOW_MS)}
    assert choose(listed, None) == listed
    chosen = choose(listed, ["btcusdt", "BTCUSD_PERP", "EthUsdt"])
    assert [i.symbol for i in chosen[Market.UM]] == ["BTCUSDT", "ETHUSDT"]  # the upstream's order
    assert [i.symbol for i in chosen[Market.CM]] == ["BTCUSD_PERP"]
    with pytest.raises(RelayError, match=r"NOPEUSDT, OLDUSDT \(status SETTLING\)$"):
        choose(listed, ["BTCUSDT", "oldusdt", "NOPEUSDT"], {"OLDUSDT": "status SETTLING"})


def test_exchange_info_lives_on_the_rest_twin() -> None:
    assert (
        exchange_info_url("wss://fstream.binance.com", Market.UM)
        == "https://fapi.binance.com/fapi/v1/exchangeInfo"
    )
    assert (
        exchange_info_url("wss://dstream.binance.com/", Market.CM)
        == "https://dapi.binance.com/dapi/v1/exchangeInfo"
    )
    assert exchange_info_url("ws://127.0.0.1:8766", Market.CM) == "http://127.0.0.1:8766/dapi/v1/exchangeInfo"


class FakeSink:
    def __init__(self) -> None:
        self.log: list[Any] = []
        self.batches: list[int] = []
        self.bus = self
        self.plants: dict[Market, Any] = {}

    def publish(self, market: Market, messages: Any) -> None:
        self.batches.append(len(messages))
        self.log.extend(("publish", m.stream) for m in messages)

    def interrupt(self, market: Market, streams: Any, reason: str) -> None:
        self.log.append(("interrupt", sorted(streams), reason))

    def finished(self, reason: str, *, failed: bool = False) -> None:
        self.log.append(("finished", reason))


class FakeUpstream(QuietUpstream):
    """``RawStreams``' surface over a script of reads: the items of one read are handed
    out without a pause (as buffered frames are), and the loop gets a turn between reads."""

    def __init__(self, reads: list[list[Any]]) -> None:
        super().__init__()
        self.reads = reads

    async def __aiter__(self) -> Any:
        for read in self.reads:
            await asyncio.sleep(0)
            for item in read:
                yield item


def scripted_relay(reads: list[list[Any]], symbols: list[str]) -> tuple[RelaySource, FakeUpstream]:
    """A relay of the catalogue's ``symbols`` whose upstream hands out ``reads``."""
    upstream = FakeUpstream(reads)
    listed = exchange_info(Market.UM, _um(*symbols), NOW_MS, 2400)

    async def fetch(url: str) -> bytes:
        return listed

    relay = RelaySource(
        {Market.UM: "ws://unused"}, symbols=symbols, kinds=["trade", "!bookTicker"],
        connect=lambda url, **options: upstream, fetch=fetch,
    )  # fmt: skip
    return relay, upstream


async def test_what_one_read_brings_is_one_bus_batch() -> None:
    trade = RawMessage("btcusdt@trade", b"{}", 0)
    relay, upstream = scripted_relay([[trade] * 3, [trade] * 5000, [trade]], ["BTCUSDT"])
    sink = FakeSink()
    await relay.prepare()
    await relay.run(sink)  # type: ignore[arg-type]
    # a read past the bound on what is held back goes out in parts
    assert sink.batches == [3, 4096, 904, 1]
    assert upstream.subscribed == ["btcusdt@aggTrade", "btcusdt@trade", "!bookTicker"] and upstream.closed


async def test_a_loss_follows_what_came_before_it_and_closes_only_its_streams() -> None:
    names = ["btcusdt@aggTrade", "btcusdt@trade", "ethusdt@aggTrade", "ethusdt@trade", "!bookTicker"]
    relay, _ = scripted_relay(
        [
            [
                RawMessage("btcusdt@trade", b"{}", 0),
                RawMessage("btcusdt@trade", b"{}", 0),
                RawMessage("somebody@else", b"{}", 0),  # never subscribed: nothing local routes it
                StreamsLost(("btcusdt@trade", "!bookTicker"), 5),
                RawMessage("ethusdt@trade", b"{}", 0),
            ],
            [Lagged(3)],
        ],
        ["BTCUSDT", "ETHUSDT"],
    )
    sink = FakeSink()
    await relay.prepare()
    await relay.run(sink)  # type: ignore[arg-type]
    assert sink.log == [
        ("publish", "btcusdt@trade"),
        ("publish", "btcusdt@trade"),
        ("interrupt", ["!bookTicker", "btcusdt@trade"], UPSTREAM_LOST),
        ("publish", "ethusdt@trade"),
        ("interrupt", sorted(names), "Relay fell behind its upstream; messages were dropped"),
    ]
    assert relay.relayed[Market.UM] == 3 and relay.losses[Market.UM] == 2


# --- over sockets -------------------------------------------------------------------------------


async def test_the_relay_re_serves_its_upstream_streams_rest_and_ws_api(
    start_server: StartServer, start_relay: StartRelay
) -> None:
    upstream = await start_server()
    truth = published(upstream, Market.UM)
    relay = await start_relay({Market.UM: upstream.url(Market.UM)}, symbols=["ethusdt", "BTCUSDT"], kinds=NO_DEPTH)
    names = ["btcusdt@bookTicker", "btcusdt@trade", "ethusdt@bookTicker", "ethusdt@aggTrade"]
    direct = MarketStreams(upstream.url(Market.UM))
    relayed = MarketStreams(relay.url(Market.UM))
    raw = RawStreams(relay.url(Market.UM))
    async with direct, relayed, raw:
        await asyncio.gather(
            direct.subscribe(*names),
            relayed.subscribe(*names),
            raw.subscribe("btcusdt@bookTicker", "!ticker@arr"),
        )
        def enough(got: list[Any]) -> bool:
            books = [len(ids(got, BookTicker, s)) for s in ("BTCUSDT", "ETHUSDT")]
            return min(books) > 30 and len(ids(got, Trade, "BTCUSDT")) > 10 and len(ids(got, AggTrade, "ETHUSDT")) > 5

        def both_streams(got: list[Any]) -> bool:
            return {m.stream for m in got if isinstance(m, RawMessage)} == {"btcusdt@bookTicker", "!ticker@arr"}

        got_relayed, got_raw = await asyncio.gather(
            collect_until(relayed, enough, 10 * SECONDS), collect_until(raw, both_streams, 10 * SECONDS)
        )
        last_relayed = {s: ids(got_relayed, BookTicker, s)[-1] for s in ("BTCUSDT", "ETHUSDT")}

        def caught_up(got: list[Any]) -> bool:  # the direct client has seen all the relayed ones
            return all(ids(got, BookTicker, s)[-1:] >= [last] for s, last in last_relayed.items())

        got_direct = await collect_until(direct, caught_up, 10 * SECONDS)
    assert not [i for i in got_relayed if isinstance(i, Gap)]
    for symbol in ("BTCUSDT", "ETHUSDT"):
        theirs, ours = ids(got_direct, BookTicker, symbol), ids(got_relayed, BookTicker, symbol)
        low, high = max(theirs[0], ours[0]), min(theirs[-1], ours[-1])
        window = [u for u in theirs if low <= u <= high]
        assert len(window) > 20
        assert [u for u in ours if low <= u <= high] == window, "every update the direct client saw, in order"
    trades = ids(got_relayed, Trade, "BTCUSDT")
    aggs = ids(got_relayed, AggTrade, "ETHUSDT")
    assert len(trades) > 10 and trades == list(range(trades[0], trades[0] + len(trades)))
    assert len(aggs) > 5 and aggs == list(range(aggs[0], aggs[0] + len(aggs)))

    # Byte for byte: a contiguous run of what the upstream's plant encoded (an all-market
    # array with the relayed symbols' entries alone: test_a_payload_narrowed)
    listed = {"BTCUSDT", "ETHUSDT"}
    for stream in ("btcusdt@bookTicker", "!ticker@arr"):
        payloads = [m.data for m in got_raw if isinstance(m, RawMessage) and m.stream == stream]
        assert payloads, stream
        sent = [n for p in truth[stream] if (n := narrowed(p, listed) if stream[0] == "!" else p) is not None]
        start = sent.index(payloads[0])
        assert sent[start : start + len(payloads)] == payloads

    # Requests are answered from the relayed payloads (looked up after each answer: the
    # upstream keeps publishing meanwhile).
    def book(update_id: int) -> tuple[str, str, str, str]:
        (payload,) = (p for p in truth["btcusdt@bookTicker"] if msgspec.json.decode(p)["u"] == update_id)
        book = msgspec.json.decode(payload)
        return book["b"], book["B"], book["a"], book["A"]

    rest = rest_base(relay.url(Market.UM)) + "/fapi/v1"
    row = await get_json(f"{rest}/ticker/bookTicker?symbol=BTCUSDT")
    assert (row["bidPrice"], row["bidQty"], row["askPrice"], row["askQty"]) == book(row["lastUpdateId"])
    price = (await get_json(f"{rest}/ticker/price?symbol=BTCUSDT"))["price"]
    assert price in {msgspec.json.decode(p)["p"] for p in truth["btcusdt@aggTrade"]}
    # No diff depth is relayed: depth is the top of book the last bookTicker gave.
    depth = await get_json(f"{rest}/depth?symbol=BTCUSDT&limit=5")
    (bid,), (ask,) = depth["bids"], depth["asks"]
    assert (bid[0], bid[1], ask[0], ask[1]) == book(depth["lastUpdateId"])
    async with WebSocketAPI(relay.url(Market.UM) + "/ws-fapi/v1") as api:
        row = await api.ticker_book("BTCUSDT")
        assert (row["bidPrice"], row["bidQty"], row["askPrice"], row["askQty"]) == book(row["lastUpdateId"])
        assert {r["symbol"] for r in await api.ticker_book()} == {"BTCUSDT", "ETHUSDT"}
        with pytest.raises(ApiError) as not_relayed:
            await api.ticker_book("SOLUSDT")
        assert not_relayed.value.code == -1121

    # exchangeInfo lists the chosen symbols as the upstream does.
    info = await get_json(f"{rest}/exchangeInfo")
    theirs_info = await get_json(rest_base(upstream.url(Market.UM)) + "/fapi/v1/exchangeInfo")
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    by_symbol = {s["symbol"]: s for s in theirs_info["symbols"]}
    for entry in info["symbols"]:
        upstream_entry = by_symbol[entry["symbol"]]
        for key in (
            "pair",
            "contractType",
            "onboardDate",
            "pricePrecision",
            "quantityPrecision",
            "marginAsset",
        ):
            assert entry[key] == upstream_entry[key]
        assert entry["filters"][1:] == upstream_entry["filters"][1:]  # all but PRICE_FILTER's maxPrice
        assert entry["filters"][0]["tickSize"] == upstream_entry["filters"][0]["tickSize"]
    assert (await get_json(rest_base(relay.url(Market.CM)) + "/dapi/v1/exchangeInfo"))["symbols"] == []


async def test_an_upstream_restart_is_a_gap_for_the_relays_clients_and_delivery_resumes(
    start_server: StartServer, start_relay: StartRelay
) -> None:
    upstream = await start_server()
    port = upstream.listeners[Market.UM].port
    relay = await start_relay(
        {Market.UM: upstream.url(Market.UM)}, symbols=["BTCUSDT"], kinds=["bookTicker", "trade"]
    )
    source = relay.source
    assert isinstance(source, RelaySource)
    async with MarketStreams(relay.url(Market.UM), delays=fast) as client:
        await client.subscribe("btcusdt@bookTicker", "btcusdt@trade")
        items = await collect_until(
            client, lambda got: len(ids(got, BookTicker, "BTCUSDT")) > 5 and len(ids(got, Trade, "BTCUSDT")) > 3,
            10 * SECONDS,
        )  # fmt: skip
        await upstream.close()
        await eventually(lambda: source.losses[Market.UM] >= 1, 10 * SECONDS)  # the relay saw it go
        restarted = await start_server(
            um_port=port, simulator={"seed": 7, "actions_per_s": 400.0}
        )
        after = await collect_until(
            client,
            lambda got: len(ids(got, BookTicker, "BTCUSDT")) > 5 and len(ids(got, Trade, "BTCUSDT")) > 5,
            10 * SECONDS,
        )
        assert client.reconnects >= 1, "the relay closed its client's connection"
    assert source.losses[Market.UM] >= 1
    assert ids(after, BookTicker, "BTCUSDT") and ids(after, Trade, "BTCUSDT"), "delivery resumed"
    items += after
    gaps = [i for i in items if isinstance(i, Gap)]
    assert any(g.kind == "bookTicker" for g in gaps), "the outage is reported on the book stream"
    # Every trade is either the next one, or a Gap on the trade stream says why not.
    previous: int | None = None
    gap_seen = False
    for item in items:
        if isinstance(item, Gap) and item.kind == "trade":
            gap_seen = True
        elif isinstance(item, Trade):
            assert previous is None or item.trade_id == previous + 1 or gap_seen, (previous, item.trade_id)
            previous, gap_seen = item.trade_id, False
    # And what arrives after the restart is the new upstream's, byte for byte in its order.
    truth = published(restarted, Market.UM)
    async with RawStreams(relay.url(Market.UM)) as raw:
        await raw.subscribe("btcusdt@bookTicker")
        got = await collect_until(raw, lambda got: len(got) >= 5, 10 * SECONDS)
        payloads = [m.data for m in got if isinstance(m, RawMessage)]
    start = truth["btcusdt@bookTicker"].index(payloads[0])
    assert truth["btcusdt@bookTicker"][start : start + len(payloads)] == payloads


async def test_a_coin_m_relay(start_server: StartServer, start_relay: StartRelay) -> None:
    upstream = await start_server()
    relay = await start_relay({Market.CM: upstream.url(Market.CM)})  # every symbol, every kind
    assert [i.symbol for i in relay.instruments[Market.CM]] == [
        i.symbol for i in upstream.instruments[Market.CM]
    ]
    assert relay.instruments[Market.UM] == []
    async with MarketStreams(relay.url(Market.CM)) as client:
        await client.subscribe("btcusd_perp@bookTicker", "btcusd_perp@trade", "!bookTicker")
        items = await collect_until(
            client,
            lambda got: (
                bool(ids(got, Trade, "BTCUSD_PERP"))
                and bool(ids(got, BookTicker, "BTCUSD_PERP"))
                and len({i.symbol for i in got if isinstance(i, BookTicker)}) > 5
            ),
            10 * SECONDS,
        )
    assert not [i for i in items if isinstance(i, Gap)]
    assert ids(items, BookTicker, "BTCUSD_PERP") and ids(items, Trade, "BTCUSD_PERP")
    assert len({i.symbol for i in items if isinstance(i, BookTicker)}) > 5, "!bookTicker carries the market"
    rest = rest_base(relay.url(Market.CM)) + "/dapi/v1"
    (row,) = await get_json(f"{rest}/ticker/bookTicker?symbol=BTCUSD_PERP")  # COIN-M answers arrays (§7.5)
    assert (row["symbol"], row["pair"]) == ("BTCUSD_PERP", "BTCUSD")
    info = await get_json(f"{rest}/exchangeInfo")
    assert {s["symbol"]: s["contractSize"] for s in info["symbols"]}["BTCUSD_PERP"] == 100
    # the upstream's filters listed again as they came (maxPrice, MARKET_LOT_SIZE…): its venue's too
    theirs = await get_json(rest_base(upstream.url(Market.CM)) + "/dapi/v1/exchangeInfo")
    assert [s["filters"] for s in info["symbols"]] == [s["filters"] for s in theirs["symbols"]]


_FUTURES = {
    Market.UM: ["btcusdt@markPrice@1s", "!markPrice@arr@1s", "btcusdt@kline_1m", "btcusdt_perpetual@continuousKline_1m"],
    Market.CM: ["btcusd@indexPrice@1s", "btcusd@markPrice@1s", "btcusd_perp@markPrice@1s", "btcusd_perp@kline_1m"],
}


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_the_relay_carries_mark_index_and_kline_streams_and_premium_index(
    start_server: StartServer, start_relay: StartRelay, market: Market
) -> None:
    clock = ManualClock()  # the upstream's: its seconds' pushes come at once (driven_clock)
    upstream = await start_server(clock=clock)
    truth = published(upstream, market)
    symbol = "BTCUSDT" if market is Market.UM else "BTCUSD_PERP"
    kinds = ["markPrice@1s", "indexPrice@1s", "kline_1m", "continuousKline_1m", "!markPrice@arr@1s"]
    relay = await start_relay({market: upstream.url(market)}, symbols=[symbol], kinds=kinds)
    names = _FUTURES[market]
    async with RawStreams(relay.url(market)) as raw, driven(upstream, clock):
        await raw.subscribe(*names)
        got = await collect_until(
            raw,
            lambda got: {m.stream for m in got if isinstance(m, RawMessage)} == set(names),
            10 * SECONDS,
        )
    for message in got:
        assert isinstance(message, RawMessage)
        if message.stream.startswith("!"):  # the listed symbol's entry alone (feeds/relay/narrowed.py)
            entries = [e for p in truth[message.stream] for e in msgspec.json.decode(p) if e["s"] == symbol]
            assert msgspec.json.decode(message.data) in [[e] for e in entries]
            continue
        assert message.data in truth[message.stream], "byte for byte what the upstream published"
    # premiumIndex answers from the relayed mark prices (interestRate: Binance's usual 0.01 %)
    prefix = "/fapi/v1" if market is Market.UM else "/dapi/v1"
    answer = await get_json(f"{rest_base(relay.url(market))}{prefix}/premiumIndex?symbol={symbol}")
    row = answer if market is Market.UM else answer[0]
    pushes = [msgspec.json.decode(p) for p in truth[f"{symbol.lower()}@markPrice@1s"]]
    assert {(p["E"], p["p"], p["i"], p["P"], p["r"], p["T"]) for p in pushes} >= {
        (row["time"], row["markPrice"], row["indexPrice"], row["estimatedSettlePrice"], row["lastFundingRate"],
         row["nextFundingTime"])
    }  # fmt: skip
    assert row["interestRate"] == "0.00010000"


async def test_prepare_names_what_it_cannot_find(start_server: StartServer) -> None:
    upstream = await start_server()
    with pytest.raises(RelayError, match=r"NOPEUSDT$"):
        await RelaySource({Market.UM: upstream.url(Market.UM)}, symbols=["btcusdt", "nopeusdt"]).prepare()
    prepared = await RelaySource({Market.UM: upstream.url(Market.UM)}, symbols=["SOLUSDT"]).prepare()
    assert list(prepared.instruments) == list(Market)
    assert [i.symbol for i in prepared.instruments[Market.UM]] == ["SOLUSDT"] and prepared.instruments[
        Market.CM
    ] == []


async def test_prepare_retries_then_says_what_failed() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tries: list[float] = []

    def delays() -> Iterator[float]:
        while True:
            tries.append(0.01)
            yield 0.01

    source = RelaySource({Market.UM: f"ws://127.0.0.1:{port}"}, fetch_attempts=3, fetch_delays=delays)
    with pytest.raises(RelayError, match=rf"GET http://127.0.0.1:{port}/fapi/v1/exchangeInfo failed 3 times"):
        await source.prepare()
    assert len(tries) == 2, "a pause between attempts, none after the last"


async def test_a_kind_the_relay_does_not_carry_is_silent_with_a_warning(
    start_server: StartServer, start_relay: StartRelay, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = await start_server()
    relay = await start_relay(
        {Market.UM: upstream.url(Market.UM)}, symbols=["BTCUSDT"], kinds=["bookTicker", "kline_1m", "depth5"]
    )
    async with MarketStreams(relay.url(Market.UM)) as client:
        # another interval or speed of a relayed kind is a stream of its own, not relayed either
        await client.subscribe(
            "btcusdt@bookTicker", "btcusdt@trade", "btcusdt@kline_5m", "btcusdt@depth5@100ms", "btcusdt@kline_1m",
            "btcusdt@depth5",
        )  # fmt: skip
        items = await collect_until(client, lambda got: len(got) >= 20, 10 * SECONDS)
    assert any(isinstance(i, BookTicker) for i in items) and not any(isinstance(i, Trade) for i in items)
    assert "'btcusdt@trade', which will never deliver: this server's source does not carry trade" in caplog.text
    assert "'btcusdt@kline_5m', which will never deliver: this server's source does not carry kline_5m" in caplog.text
    assert "'btcusdt@depth5@100ms', which will never deliver" in caplog.text
    assert "btcusdt@kline_1m'" not in caplog.text and "btcusdt@depth5'" not in caplog.text  # carried: no warning


# --- depth: the relay's own books ------------------------------------------------------------------

_depth_update = msgspec.json.Decoder(DepthUpdate[Decimal])
_snapshot = msgspec.json.Decoder(DepthSnapshot)


async def _depth(plant: Tickerplant, symbol: str) -> DepthSnapshot:
    return _snapshot.decode(await fetch(f"{rest_base(plant.url(Market.UM))}/fapi/v1/depth?symbol={symbol}&limit=1000"))


async def test_local_clients_sync_from_the_relays_book_at_no_upstream_weight(
    start_server: StartServer, start_relay: StartRelay
) -> None:
    clock = ManualClock()  # the upstream market moves only when the test says
    upstream = await start_server(clock=clock, simulator={"actions_per_s": 400.0})
    asked: list[str] = []

    async def counted(url: str) -> bytes:
        if "/depth?" in url:
            asked.append(url)
        return await fetch(url)

    relay = await start_relay(
        {Market.UM: upstream.url(Market.UM)}, symbols=["BTCUSDT", "ETHUSDT"],
        kinds=["depth@100ms", "depth5", "bookTicker"], fetch=counted, snapshot_weight_per_minute=1_000_000,
    )  # fmt: skip
    source = relay.source
    assert isinstance(source, RelaySource)
    local = [OrderBooks(relay.url(Market.UM), delays=fast) for _ in range(8)]
    direct = OrderBooks(upstream.url(Market.UM), delays=fast)  # the upstream's own book, §4.9
    clients = [*local, direct]
    updates = [0] * len(clients)

    async def consume(n: int, books: OrderBooks) -> None:
        async for item in books:
            if isinstance(item, BookUpdate) and books["BTCUSDT"].synced:
                updates[n] += 1

    async with contextlib.AsyncExitStack() as stack:
        for books in clients:
            await stack.enter_async_context(books)
            await books.watch("BTCUSDT")
        async with asyncio.TaskGroup() as group:
            consumers = [group.create_task(consume(n, books)) for n, books in enumerate(clients)]
            async with asyncio.timeout(10 * SECONDS):
                while min(updates) < 10:
                    clock.advance(100 - clock.now_ms() % 100)
                    await asyncio.sleep(0)
            # The market holds still at a push (a 100 ms boundary): once the upstream's pump
            # has stepped to the clock (it steps on its own cadence), every book comes to the
            # upstream's id, the relay's first.
            views = [plant.listeners[Market.UM].view for plant in (upstream, relay)]
            symbols = [view.symbol("BTCUSDT") for view in views]
            market = upstream.source
            assert isinstance(market, SimulatedMarket)

            def settled() -> bool:
                if market.stepped_ms < clock.now_ms():
                    return False
                ids = {view.book(s).last_update_id for view, s in zip(views, symbols, strict=True) if s}
                return len(ids) == 1 and ids == {books["BTCUSDT"].update_id for books in clients}

            await eventually(settled, 5 * SECONDS)
            for consumer in consumers:
                consumer.cancel()
        theirs, ours = await _depth(upstream, "BTCUSDT"), await _depth(relay, "BTCUSDT")
        book = direct["BTCUSDT"]
        # The upstream's snapshot reports the id its simulator reserved for the next update
        # (§4.9: the next event holds it); the relay's book, followed from the upstream's
        # stream, knows no reservation and reports the last id applied: the same book.
        assert symbols[0] is not None
        upstream_book = views[0].book(symbols[0])
        assert ours.last_update_id == book.update_id == upstream_book.last_update_id, "at the same id"
        assert theirs.last_update_id == upstream_book.next_update_id > book.update_id
        assert (ours.bids, ours.asks) == (theirs.bids, theirs.asks), "the relay's book is the upstream's"
        for books in local:
            mine = books["BTCUSDT"]
            assert mine.resyncs == 0
            assert (mine.bids(len(ours.bids)), mine.asks(len(ours.asks))) == (ours.bids, ours.asks)
    # One snapshot per symbol from the upstream, however many local clients synced.
    assert sorted(url.split("symbol=")[1] for url in asked) == ["BTCUSDT", "ETHUSDT"]
    assert source.books[Market.UM].fetched == 2


class ScriptedUpstream(FakeUpstream):
    """Reads handed out in turn; a callable in the script is waited on until it holds."""

    async def __aiter__(self) -> Any:
        for read in self.reads:
            await asyncio.sleep(0)
            if callable(read):
                await eventually(read, 5 * SECONDS)
                continue
            for item in read:
                yield item


def depth_event(first: int, last: int, previous: int, bid: str = "100.00") -> RawMessage:
    payload = (
        b'{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":%d,"u":%d,"pu":%d,"b":[["%b","1.000"]],"a":[]}'
        % (first, last, previous, bid.encode())
    )
    return RawMessage("btcusdt@depth@100ms", payload, 0)


async def test_the_relays_book_resyncs_on_a_pu_break_and_on_a_loss() -> None:
    book_ids: list[int] = []  # the u of each whole book the views are sent (0: none)
    snapshots = iter([105, 132, 210])

    class Sink(FakeSink):
        def publish(self, market: Market, messages: Any) -> None:
            for message in messages:
                if message.stream == "btcusdt@depthDiff" and b'"snapshot":true' in message.payload:
                    book_ids.append(msgspec.json.decode(message.payload)["u"])
            super().publish(market, messages)

    listed = exchange_info(Market.UM, _um("BTCUSDT"), NOW_MS, 2400)

    async def fetch_(url: str) -> bytes:
        if "/depth?" not in url:
            return listed
        return b'{"lastUpdateId":%d,"E":1,"T":1,"bids":[["99.00","2.000"]],"asks":[]}' % next(snapshots)

    relay: RelaySource

    def synced_at(u: int) -> Callable[[], bool]:
        return lambda: bool(book_ids) and book_ids[-1] == u

    def held() -> bool:
        books = relay.books[Market.UM]
        return books.fetched == 2 and not books.books["BTCUSDT"].wants_snapshot

    upstream = ScriptedUpstream([
        [depth_event(101, 110, 100)],
        synced_at(105),
        [depth_event(111, 120, 110), depth_event(125, 130, 124)],  # 121-124 never came
        held,  # 132 is ahead of every event since the break: it waits for one
        [depth_event(131, 135, 130), StreamsLost(("btcusdt@depth@100ms",), 5)],
        [depth_event(200, 220, 199)],
        synced_at(210),
    ])  # fmt: skip
    relay = RelaySource(
        {Market.UM: "ws://unused"}, symbols=["BTCUSDT"], kinds=["depth@100ms"],
        connect=lambda url, **options: upstream, fetch=fetch_, snapshot_weight_per_minute=1_000_000,
    )  # fmt: skip
    await relay.prepare()
    await relay.run(Sink())  # type: ignore[arg-type]
    # no book at first, synced at the snapshot's 105 (then at 110 by the buffered event),
    # none on the break, synced at 132, none on the loss, synced again at 210
    assert book_ids == [0, 105, 0, 132, 0, 210]
    assert relay.books[Market.UM].fetched == 3


async def test_a_book_stream_subscribed_for_the_book_alone_is_not_relayed() -> None:
    listed = exchange_info(Market.UM, _um("BTCUSDT"), NOW_MS, 2400)

    async def fetch_(url: str) -> bytes:
        return listed

    upstream = FakeUpstream([[depth_event(101, 110, 100), RawMessage("btcusdt@depth5", b"{}", 0)]])
    relay = RelaySource(
        {Market.UM: "ws://unused"}, symbols=["BTCUSDT"], kinds=["depth5"],
        connect=lambda url, **options: upstream, fetch=fetch_,
    )  # fmt: skip
    sink = FakeSink()
    await relay.prepare()
    await relay.run(sink)  # type: ignore[arg-type]
    assert upstream.subscribed == ["btcusdt@aggTrade", "btcusdt@depth5", "btcusdt@depth@100ms"]
    assert sink.log == [("publish", "btcusdt@depthDiff"), ("publish", "btcusdt@depth5")]
    assert relay.relayed[Market.UM] == 1


async def test_the_all_market_streams_carry_the_listed_symbols_alone(
    start_server: StartServer, start_relay: StartRelay
) -> None:
    """``--relay-symbols``: Binance's all-market streams carry what its exchangeInfo lists, so the
    relay's carry its own symbols alone: a push of another is dropped, an array written again
    with the listed entries (``feeds/relay/narrowed.py``)."""
    # the upstream's clock, driven (driven_clock): USDⓈ-M's !bookTicker is a 5 s batch (§4.1),
    # which the system clock made the test wait out
    clock = ManualClock()
    upstream = await start_server(clock=clock)
    listed = {"BTCUSDT", "ETHUSDT"}
    relay = await start_relay(
        {Market.UM: upstream.url(Market.UM)}, symbols=sorted(listed), kinds=["!bookTicker", "!miniTicker@arr"]
    )
    async with RawStreams(relay.url(Market.UM)) as client, driven(upstream, clock):
        await client.subscribe("!bookTicker", "!miniTicker@arr")

        def both(got: list[Any]) -> bool:  # an array (a second's) and a push of one symbol
            return {i.stream for i in got if isinstance(i, RawMessage)} == {"!bookTicker", "!miniTicker@arr"}

        items = await collect_until(client, both, 20 * SECONDS)
    seen = set()
    for item in items:
        assert isinstance(item, RawMessage)
        decoded = msgspec.json.decode(item.data)
        seen |= {row["s"] for row in (decoded if isinstance(decoded, list) else [decoded])}
    assert seen and seen <= listed, seen


async def test_the_asset_index_is_relayed_whole_whatever_the_symbols(
    start_server: StartServer, start_relay: StartRelay
) -> None:
    """`!assetIndex@arr` and `<assetSymbol>@assetIndex` (USDⓈ-M, named by margin assets, not
    symbols): relayed as the upstream pushes them, the array not narrowed to the relayed
    symbols (its entries name assets: every one would be dropped)."""
    upstream = await start_server()
    relay = await start_relay(
        {Market.UM: upstream.url(Market.UM)}, symbols=["BTCUSDT"], kinds=["assetIndex", "!assetIndex@arr"]
    )
    async with RawStreams(relay.url(Market.UM)) as client:
        await client.subscribe("!assetIndex@arr", "btcusd@assetIndex")

        def both(got: list[Any]) -> bool:
            return {i.stream for i in got if isinstance(i, RawMessage)} == {"!assetIndex@arr", "btcusd@assetIndex"}

        items = await collect_until(client, both, 20 * SECONDS)
    arrays = [msgspec.json.decode(i.data) for i in items if isinstance(i, RawMessage) and i.stream[0] == "!"]
    assert {e["s"] for e in arrays[0]} >= {"USDTUSD", "USDCUSD", "BTCUSD", "ETHUSD"}
    own = [msgspec.json.decode(i.data) for i in items if isinstance(i, RawMessage) and i.stream[0] != "!"]
    assert own[0]["e"] == "assetIndexUpdate" and own[0]["s"] == "BTCUSD"


def test_a_payload_narrowed() -> None:
    one = b'{"e":"bookTicker","s":"SOLUSDT","b":"1"}'
    assert narrowed(one, {"BTCUSDT"}) is None and narrowed(one, {"SOLUSDT"}) is one  # byte for byte
    liquidated = b'{"e":"forceOrder","E":1,"o":{"s":"SOLUSDT","S":"SELL"}}'
    assert narrowed(liquidated, {"BTCUSDT"}) is None and narrowed(liquidated, {"SOLUSDT"}) is liquidated
    array = b'[{"e":"24hrMiniTicker","s":"BTCUSDT","c":"1.0"},{"e":"24hrMiniTicker","s":"SOLUSDT","c":"2"}]'
    assert narrowed(array, {"BTCUSDT", "SOLUSDT"}) is array
    assert narrowed(array, {"BTCUSDT"}) == b'[{"e":"24hrMiniTicker","s":"BTCUSDT","c":"1.0"}]'
    assert narrowed(array, {"ETHUSDT"}) is None and narrowed(b"not json", set()) == b"not json"


async def test_an_upstream_that_refuses_a_snapshot_for_the_ips_weight_is_not_asked_again_meanwhile(
    start_server: StartServer, start_relay: StartRelay, caplog: pytest.LogCaptureFixture
) -> None:
    """An upstream whose request weight is spent answers the relay's depth snapshot 429 with
    Retry-After (spec §7.1): the relay says so once and asks nothing of it until then."""
    upstream = await start_server(request_weight_per_min=10)  # exchangeInfo fits, a snapshot (20) not
    with caplog.at_level(logging.WARNING, "tickerplant.relay"):
        relay = await start_relay({Market.UM: upstream.url(Market.UM)}, symbols=["BTCUSDT"], kinds=["depth@100ms"])
        source = relay.source
        assert isinstance(source, RelaySource)

        def refused() -> bool:
            return any("refused a depth snapshot with 429" in r.getMessage() for r in caplog.records)

        await eventually(refused, 10 * SECONDS)
        books = source.books[Market.UM]
        # Retry-After is what is left of the upstream's minute, so anything from 1 s to 60: the
        # ban is checked against what the warning said, not against a fixed span.
        (warning,) = [r for r in caplog.records if "refused a depth snapshot" in r.getMessage()]
        found = re.search(r"for (\d+) s", warning.getMessage())
        assert found is not None
        told_ms = warning.created * 1000 + int(found.group(1)) * 1000
        assert abs(books.schedule.banned_until_ms - told_ms) < 500, "Retry-After: the window's end"
        assert books.schedule.due(books.schedule.banned_until_ms - 1) is None, "not a symbol before it"
        assert books.fetched == 1
    assert len([r for r in caplog.records if "refused a depth snapshot" in r.getMessage()]) == 1


async def test_a_mark_price_follows_an_upstream_whose_clock_went_back_after_a_loss() -> None:
    """A replaying upstream restarted: the connection drops, and what it pushes next is older
    than the last push relayed. The views' mark (premiumIndex) follows it, not the old one."""

    def mark(e: int, p: str) -> RawMessage:
        payload = b'{"e":"markPriceUpdate","E":%d,"s":"BTCUSDT","p":"%b","P":"1.0","i":"1.0","r":"0.0001","T":%d}'
        return RawMessage("btcusdt@markPrice@1s", payload % (e, p.encode(), NOW_MS + 3_600_000), 0)

    states: list[tuple[int, str]] = []

    class Sink(FakeSink):
        def publish(self, market: Market, messages: Any) -> None:
            for message in messages:
                if message.stream == "btcusdt@markState":
                    decoded = msgspec.json.decode(message.payload)
                    states.append((decoded["t"] - NOW_MS, decoded["p"]))
            super().publish(market, messages)

    listed = exchange_info(Market.UM, _um("BTCUSDT"), NOW_MS, 2400)

    async def fetch_(url: str) -> bytes:
        return listed

    upstream = FakeUpstream([
        [mark(NOW_MS + 5000, "100.0"), mark(NOW_MS + 4000, "99.0")],  # a straggler: passed over
        [StreamsLost(("btcusdt@markPrice@1s",), 5)],
        [mark(NOW_MS + 1000, "90.0"), mark(NOW_MS + 2000, "91.0")],  # restarted, from an earlier time
    ])  # fmt: skip
    relay = RelaySource(
        {Market.UM: "ws://unused"}, symbols=["BTCUSDT"], kinds=["markPrice@1s"],
        connect=lambda url, **options: upstream, fetch=fetch_,
    )  # fmt: skip
    await relay.prepare()
    await relay.run(Sink())  # type: ignore[arg-type]
    assert states == [(5000, "100.0"), (1000, "90.0"), (2000, "91.0")]
