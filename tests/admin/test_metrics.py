"""``/metrics`` over a real socket, parsed by ``prometheus_client``'s own parser: the
counters move as this test's clients act (connect, subscribe, get cut off as a slow
consumer, get 429), on a server whose market publishes only what the test puts on the bus
and whose time is a ManualClock."""

from __future__ import annotations

import asyncio
import errno
import os
import resource

import aiohttp
import msgspec
import pytest
from conftest import StartServer
from ports import free_port
from prometheus_client.parser import text_string_to_metric_families
from quiet_market import QuietMarket
from quiet_upstream import QuietUpstream, relay_over
from rawws import RawWebSocket
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.client.streams import RawMessage
from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_SLOW_CONSUMER
from tickerplant.protocol.subscription_budget import NAME_COST

pytestmark = pytest.mark.loopback

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
STREAM = "btcusdt@bookTicker"


async def scrape(server: Tickerplant) -> Samples:
    async with aiohttp.ClientSession() as session, session.get(f"{server.admin_url()}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_counters_move_as_clients_connect_subscribe_are_cut_off_and_refused(
    start_server: StartServer,
) -> None:
    clock = ManualClock()
    server = await start_server(
        admin_port=free_port(), clock=clock, source=QuietMarket(clock), request_weight_per_min=10,
        limits={"send_buffer_bytes": 64 * 1024},
    )  # fmt: skip
    um = server.listeners[Market.UM]
    before = await scrape(server)
    assert value(before, "tickerplant_connections_accepted_total", market="um", surface="streams") == 0
    assert value(before, "process_resident_memory_bytes") > 0 and value(before, "process_open_fds") > 0

    # connect and subscribe: a healthy reader and one with a tiny receive buffer that never reads
    healthy = await RawWebSocket.connect(um.port, f"/ws/{STREAM}")
    slow = await RawWebSocket.connect(um.port, f"/ws/{STREAM}", rcvbuf=4096)
    assert healthy.status == slow.status == 101
    subscribed = await scrape(server)
    assert value(subscribed, "tickerplant_connections", market="um", surface="streams") == 2
    assert value(subscribed, "tickerplant_connections_accepted_total", market="um", surface="streams") == 2
    assert value(subscribed, "tickerplant_subscriptions", market="um", kind="bookTicker") == 2

    # publish until the slow one is cut off
    published = 0
    async with asyncio.timeout(10 * SECONDS):
        while not um.limit_counters.slow_consumer:
            published += 1
            payload = b'{"e":"bookTicker","u":%d,"s":"BTCUSDT","pad":"%s"}' % (published, b"x" * 16384)
            server.bus.publish(Market.UM, [StreamMessage(STREAM, payload)])
            await healthy.recv()
    cut = await scrape(server)
    code, reason = str(CLOSE_SLOW_CONSUMER.code), CLOSE_SLOW_CONSUMER.reason
    assert value(cut, "tickerplant_slow_consumer_cuts_total", market="um") == 1
    assert value(cut, "tickerplant_limit_hits_total", market="um", limit="slow_consumer") == 1
    assert (
        value(cut, "tickerplant_closes_total", market="um", surface="streams", code=code, reason=reason) == 1
    )
    assert value(cut, "tickerplant_published_messages_total", market="um") >= published
    # each published message went to both while both held the stream, then to the healthy one
    sent = value(cut, "tickerplant_messages_sent_total", market="um", kind="bookTicker")
    assert published + 1 <= sent <= 2 * published
    assert value(cut, "tickerplant_sent_bytes_total", market="um", kind="bookTicker") > 16384 * sent
    assert value(cut, "tickerplant_subscriptions", market="um", kind="bookTicker") == 1

    # REST: ten pings a minute, then 429
    ping = f"http://127.0.0.1:{um.port}/fapi/v1/ping"
    statuses = []
    async with aiohttp.ClientSession() as session:
        for _ in range(11):
            async with session.get(ping) as response:
                statuses.append(response.status)
    assert statuses == [200] * 10 + [429]
    refused = await scrape(server)
    rest = {"market": "um", "surface": "rest", "endpoint": "/fapi/v1/ping"}
    assert value(refused, "tickerplant_request_duration_seconds_count", **rest, status="200") == 10
    assert value(refused, "tickerplant_request_duration_seconds_count", **rest, status="429") == 1
    assert (
        value(refused, "tickerplant_request_duration_seconds_bucket", **rest, status="200", le="+Inf") == 10
    )
    assert value(refused, "tickerplant_limit_hits_total", market="um", limit="weight_refused") == 1
    await healthy.close()
    await slow.close()
    await eventually(lambda: not um.streams or not um.streams.connections)
    closed = await scrape(server)
    assert value(closed, "tickerplant_connections", market="um", surface="streams") == 0


async def test_book_gauges_cover_the_first_symbols_and_ws_api_requests_their_method(
    start_server: StartServer,
) -> None:
    server = await start_server(admin_port=free_port())
    um = server.listeners[Market.UM]
    url = f"ws://127.0.0.1:{um.port}/ws-fapi/v1"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str('{"id":1,"method":"ticker.book","params":{"symbol":"BTCUSDT"}}')
        await ws.receive(timeout=5 * SECONDS)
        await ws.send_str('{"id":2,"method":"no.such","params":{}}')
        await ws.receive(timeout=5 * SECONDS)
    samples = await scrape(server)
    api = {"market": "um", "surface": "ws_api"}
    assert value(
        samples, "tickerplant_request_duration_seconds_count", **api, endpoint="ticker.book", status="200"
    )
    assert value(samples, "tickerplant_request_duration_seconds_count", **api, endpoint="other", status="400")
    assert value(samples, "tickerplant_connections_accepted_total", market="um", surface="ws_api") == 1
    symbols = {dict(labels)["symbol"] for name, labels in samples if name == "tickerplant_book_levels"}
    assert "BTCUSDT" in symbols and len(symbols) <= 2 * 5  # the first five of each market
    assert value(samples, "tickerplant_book_levels", market="um", symbol="BTCUSDT", side="bid") >= 20
    assert 0 < value(samples, "tickerplant_book_spread", market="um", symbol="BTCUSDT") < 100
    # the simulator's actions, counted as it makes them
    actions = value(samples, "tickerplant_simulator_actions_total")
    source = server.source
    assert isinstance(source, SimulatedMarket) and source.simulator is not None
    made = source.simulator.action_count
    await eventually(lambda: source.simulator is not None and source.simulator.action_count > made, 5 * SECONDS)
    assert value(await scrape(server), "tickerplant_simulator_actions_total") > actions


async def test_every_suppressed_log_line_is_counted(start_server: StartServer) -> None:
    """Warnings the log budgets hold back, every budget's: the streams', the acceptor's (a
    client refused for want of descriptors is a warning, at most 10 per 10 s) and the
    process' filter of repeated warnings."""
    server = await start_server(admin_port=free_port())
    listener = server.listeners[Market.UM]
    [streams_budget, acceptor_budget] = listener.log_budgets()
    now = server.clock.now_ms()
    for _ in range(25):  # what 25 refused clients in a second would log: 10 let through
        acceptor_budget.allow("out of file descriptors", now)
    for _ in range(12):
        streams_budget.allow("never delivers", now)
    samples = await scrape(server)
    name = "tickerplant_log_suppressed_total"
    assert value(samples, name, market="um", kind="out of file descriptors") == 15
    assert value(samples, name, market="um", kind="never delivers") == 2
    assert (name, frozenset({("market", ""), ("kind", "repeated warning")})) in samples


async def test_the_unsent_bytes_and_their_bound(start_server: StartServer) -> None:
    clock = ManualClock()
    total = 64 * 1024 * 1024
    server = await start_server(
        admin_port=free_port(), clock=clock, source=QuietMarket(clock),
        limits={"send_buffer_bytes": 8 * 1024 * 1024, "send_buffer_total_bytes": total,
                "subscription_bytes_total": total // 2},
    )  # fmt: skip
    um = server.listeners[Market.UM]
    budget = um.send_budget
    assert budget is not None
    idle = await scrape(server)
    assert value(idle, "tickerplant_unsent_bytes") == 0
    assert value(idle, "tickerplant_unsent_bytes_bound") == total
    healthy = await RawWebSocket.connect(um.port, f"/ws/{STREAM}")
    slow = await RawWebSocket.connect(um.port, f"/ws/{STREAM}", rcvbuf=4096)
    published = 0
    async with asyncio.timeout(10 * SECONDS):
        while budget.total < 256 * 1024:  # the slow one lags
            published += 1
            payload = b'{"e":"bookTicker","u":%d,"s":"BTCUSDT","pad":"%s"}' % (published, b"x" * 16384)
            server.bus.publish(Market.UM, [StreamMessage(STREAM, payload)])
            await healthy.recv()
    lagging = await scrape(server)
    assert value(lagging, "tickerplant_unsent_bytes") == budget.total
    # the names the two hold, each with its cost (protocol/subscription_budget.py), and their bound
    assert value(lagging, "tickerplant_subscription_bytes") == 2 * (NAME_COST + len(STREAM))
    assert value(lagging, "tickerplant_subscription_bytes_bound") == total // 2
    await slow.close()
    await eventually(lambda: budget.total == 0)
    assert value(await scrape(server), "tickerplant_unsent_bytes") == 0
    await healthy.close()


async def test_every_connection_refused_for_want_of_descriptors_is_counted_and_logged_or_counted_held(
    start_server: StartServer,
) -> None:
    """Past the descriptor limit, 25 real clients are each answered 503: all 25 counted in
    ``out_of_files``, 10 logged, the other 15 in ``tickerplant_log_suppressed_total``."""
    server = await start_server(admin_port=free_port())
    listener = server.listeners[Market.UM]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held: list[RawWebSocket] = []
    statuses: list[int] = []
    # clients and server share this process's descriptors: with the limit a few above what
    # is open, the clients take the last ones and the server has none to accept with
    limit = len(os.listdir("/proc/self/fd")) + 8
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    try:
        while len(statuses) < 25:
            try:
                ws = await RawWebSocket.connect(listener.port, "/ws")
            except OSError as exc:  # the client had none left: one more, for the clients alone
                assert exc.errno == errno.EMFILE
                limit += 1
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
                continue
            if ws.status == 101:
                held.append(ws)
                continue
            statuses.append(ws.status)
            await ws.close()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    for ws in held:
        await ws.close()
    assert statuses == [503] * 25
    samples = await scrape(server)
    assert value(samples, "tickerplant_limit_hits_total", market="um", limit="out_of_files") == 25
    assert value(samples, "tickerplant_log_suppressed_total", market="um", kind="out of file descriptors") == 15


class _GarbledUpstream(QuietUpstream):
    """A relay's upstream (``RawStreams``' surface) that hands out what the test puts in and
    counts the frames off the combined form the test says came (``passed_over``)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: asyncio.Queue[object] = asyncio.Queue()

    def __aiter__(self) -> _GarbledUpstream:
        return self

    async def __anext__(self) -> object:
        item = await self.items.get()
        if isinstance(item, Exception):
            raise item  # as RawStreams raises a frame it could not take apart
        return item


async def test_a_relays_unreadable_upstream_frames_are_counted_per_market(start_server: StartServer) -> None:
    """Both kinds: a frame the reader could not take apart (at once) and the frames it handed
    out neither as data nor as a reply (looked at once a second of the relay's clock)."""
    clock = ManualClock()
    upstream = _GarbledUpstream()
    relay = relay_over(upstream, ["trade"], clock)
    server = await start_server(admin_port=free_port(), clock=clock, source=relay)
    assert value(await scrape(server), "tickerplant_relay_unreadable_frames_total", market="um") == 0
    upstream.items.put_nowait(msgspec.DecodeError("not the combined form"))
    upstream.items.put_nowait(RawMessage("btcusdt@trade", b'{"e":"trade"}', 0))
    await eventually(lambda: relay.relayed[Market.UM] == 1)
    samples = await scrape(server)
    assert value(samples, "tickerplant_relay_unreadable_frames_total", market="um") == 1
    upstream.passed_over = (2, b'{"e":"trade"}')
    clock.advance(1_000)
    await eventually(lambda: relay.unreadable[Market.UM].total == 3)
    samples = await scrape(server)
    assert value(samples, "tickerplant_relay_unreadable_frames_total", market="um") == 3
    assert ("tickerplant_relay_unreadable_frames_total", frozenset({("market", "cm")})) not in samples, (
        "no sample for a market not relayed"
    )


async def test_no_relay_no_relay_metric(start_server: StartServer) -> None:
    clock = ManualClock()
    server = await start_server(admin_port=free_port(), clock=clock, source=QuietMarket(clock))
    assert not [name for name, _ in await scrape(server) if name.startswith("tickerplant_relay_")]
