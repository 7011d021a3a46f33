"""The plant's depth streams (spec §4.8, §4.9, §4.11, §4.14): golden bytes per market, the
per-speed U/u/pu chains, partial depth as the book's top N, and the local-book procedure
(§4.9 steps 1–6) ending equal to the plant's book from any snapshot at any speed."""

from __future__ import annotations

import itertools
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from plant_inputs import book, instrument

from tickerplant.clock import ManualClock
from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.market.units import to_units
from tickerplant.market.updates import BookUpdate, Level

T0 = 1_767_225_600_000  # a multiple of 500 ms: the speeds push on their multiples
SPEEDS = {"btcusdt@depth": 250, "btcusdt@depth@500ms": 500, "btcusdt@depth@100ms": 100}
DIFF = list(SPEEDS)


def step(plant: Plant, updates: list[BookUpdate], now_ms: int) -> list[StreamMessage]:
    """One batch as the simulator's pump runs it: apply, end the batch, tick if due."""
    out: list[StreamMessage] = []
    for update in updates:
        plant.apply(update, now_ms, out)
    plant.end_batch(now_ms, out)
    while now_ms >= plant.next_tick_ms:
        plant.tick(now_ms, out)
    return out


def payloads(out: list[StreamMessage], stream: str) -> list[bytes]:
    return [m.payload for m in out if m.stream == stream]


# -- golden bytes (§4.8, §4.9: key order, formatting) ---------------------------------------


def test_um_diff_and_partial_bytes() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    step(plant, [book("BTCUSDT", 157, T0 + 3, [(6800500, 2214), (6800490, 42)], [(6800510, 838)])], T0 + 3)
    step(plant, [book("BTCUSDT", 158, T0 + 40, [(6800490, 0)], [(6800520, 218)])], T0 + 40)
    out = step(plant, [], T0 + 100)
    assert payloads(out, "btcusdt@depth@100ms") == [
        b'{"e":"depthUpdate","E":1767225600100,"T":1767225600040,"s":"BTCUSDT","U":0,"u":158,"pu":0,'
        b'"b":[["68005.00","2.214"],["68004.90","0.000"]],"a":[["68005.10","0.838"],["68005.20","0.218"]]}'
    ]
    assert payloads(out, "btcusdt@depth5@100ms") == [
        b'{"e":"depthUpdate","E":1767225600100,"T":1767225600040,"s":"BTCUSDT","U":0,"u":158,"pu":0,'
        b'"b":[["68005.00","2.214"]],"a":[["68005.10","0.838"],["68005.20","0.218"]]}'
    ]
    step(plant, [book("BTCUSDT", 159, T0 + 150, [(6800500, 1000)], [])], T0 + 150)
    out = step(plant, [], T0 + 200)
    assert payloads(out, "btcusdt@depth@100ms") == [
        b'{"e":"depthUpdate","E":1767225600200,"T":1767225600150,"s":"BTCUSDT","U":158,"u":159,"pu":158,'
        b'"b":[["68005.00","1.000"]],"a":[]}'
    ]
    out = step(plant, [], T0 + 250)  # the unsuffixed speed: 250 ms, both updates in one event
    assert payloads(out, "btcusdt@depth") == [
        b'{"e":"depthUpdate","E":1767225600250,"T":1767225600150,"s":"BTCUSDT","U":0,"u":159,"pu":0,'
        b'"b":[["68005.00","1.000"],["68004.90","0.000"]],"a":[["68005.10","0.838"],["68005.20","0.218"]]}'
    ]
    out = step(plant, [], T0 + 500)
    diff_500 = payloads(out, "btcusdt@depth@500ms")
    assert len(diff_500) == 1
    assert payloads(out, "btcusdt@rpiDepth@500ms") == diff_500, "no RPI orders: the plain book (§4.11)"
    assert payloads(out, "btcusdt@depth") == [], "pushed only when something changed"


def test_cm_diff_and_partial_bytes_carry_ps_after_s() -> None:
    plant = Plant(Market.CM, [instrument(Market.CM)], now_ms=T0)
    step(plant, [book("BTCUSD_PERP", 17, T0 + 9, [(95481, 52), (95480, 3)], [(95485, 11)])], T0 + 9)
    out = step(plant, [book("BTCUSD_PERP", 18, T0 + 99, [(95480, 0)], [])], T0 + 100)
    assert payloads(out, "btcusd_perp@depth@100ms") == [
        b'{"e":"depthUpdate","E":1767225600100,"T":1767225600099,"s":"BTCUSD_PERP","ps":"BTCUSD",'
        b'"U":0,"u":18,"pu":0,"b":[["9548.1","52"],["9548.0","0"]],"a":[["9548.5","11"]]}'
    ]
    assert payloads(out, "btcusd_perp@depth10@100ms") == [
        b'{"e":"depthUpdate","E":1767225600100,"T":1767225600099,"s":"BTCUSD_PERP","ps":"BTCUSD",'
        b'"U":0,"u":18,"pu":0,"b":[["9548.1","52"]],"a":[["9548.5","11"]]}'
    ]
    out = step(plant, [], T0 + 500)
    assert not [m for m in out if "rpiDepth" in m.stream], "rpiDepth is USDⓈ-M only (§4.11)"


def test_every_depth_stream_name_at_its_cadence() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    clock = ManualClock(T0)
    names: dict[str, list[int]] = {}
    for _ in range(20):  # 1 s, a book change every 50 ms
        clock.advance(50)
        now = clock.now_ms()
        out = step(plant, [book("BTCUSDT", now - T0, now, [(100 + now % 7, now % 5 + 1)], [(200, 1)])], now)
        for m in out:
            if "epth" in m.stream and not m.stream.endswith("depthDiff"):
                names.setdefault(m.stream, []).append(msgspec.json.decode(m.payload)["E"] - T0)
    cadences = {100: [100 * k for k in range(1, 11)], 250: [250, 500, 750, 1000], 500: [500, 1000]}
    cadences[0] = [50 * k for k in range(1, 21)]  # real time: at every batch that moved the book
    for suffix, speed in (("", 250), ("@500ms", 500), ("@100ms", 100), ("@0ms", 0)):
        for kind in ("depth", "depth5", "depth10", "depth20"):
            assert names.pop(f"btcusdt@{kind}{suffix}") == cadences[speed]
    assert names.pop("btcusdt@rpiDepth@500ms") == cadences[500]
    assert names == {}


# -- chains, partial depth and the local book, over random books -----------------------------


def parse_levels(levels: list[list[str]], inst: Instrument) -> list[tuple[int, int]]:
    return [(to_units(p, inst.price_decimals), to_units(q, inst.qty_decimals)) for p, q in levels]


def apply_event(local: OrderBook, event: dict[str, Any], inst: Instrument) -> None:
    for price, qty in parse_levels(event["b"], inst):
        local.set_level(True, price, qty)
    for price, qty in parse_levels(event["a"], inst):
        local.set_level(False, price, qty)
    local.last_update_id = event["u"]


def sync(snapshot: OrderBook, events: list[dict[str, Any]], inst: Instrument) -> OrderBook:
    """Spec §4.9 steps 3–6 on the events buffered since subscribing (step 1), from a
    snapshot (step 2), exactly as Binance writes them: the first event applied must have
    ``U <= lastUpdateId <= u`` (no "or pu == lastUpdateId" needed: the chains overlap)."""
    local = OrderBook()
    local.load(
        [Level(p, q) for p, q in snapshot.bids.items()], [Level(p, q) for p, q in snapshot.asks.items()],
        snapshot.last_update_id,
    )  # fmt: skip
    last = snapshot.last_update_id
    previous_u: int | None = None
    for event in events:
        if event["u"] < last:
            continue  # step 3
        if previous_u is None:
            assert event["U"] <= last <= event["u"], (event, last)  # step 4, as Binance writes it
        else:
            assert event["pu"] == previous_u, (event, previous_u)  # step 5
        apply_event(local, event, inst)  # step 6
        previous_u = event["u"]
    return local


def sides(b: OrderBook) -> tuple[dict[int, int], dict[int, int]]:
    return dict(b.bids), dict(b.asks)


batches = st.lists(
    st.tuples(
        st.integers(0, 120),  # ms to the next batch
        st.lists(  # updates in it: (is bid, price offset, qty)
            st.tuples(st.booleans(), st.integers(0, 12), st.integers(0, 4)), max_size=4
        ),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(batches=batches, subscribe_at=st.integers(0, 40), snapshot_after=st.integers(0, 40))
def test_every_speed_syncs_a_local_book_from_any_snapshot(
    batches: list[tuple[int, list[tuple[bool, int, int]]]], subscribe_at: int, snapshot_after: int
) -> None:
    inst = instrument(Market.UM)
    plant = Plant(Market.UM, [inst], now_ms=T0)
    view = MarketView(Market.UM, [inst])
    clock = ManualClock(T0)
    next_id = 1
    received: dict[str, list[dict[str, Any]]] = {name: [] for name in DIFF}
    snapshot: OrderBook | None = None
    snapshot_at = min(subscribe_at + snapshot_after, len(batches))  # at the latest before the last
    subscribe_at = min(subscribe_at, snapshot_at)  # subscribe first (step 1), then the snapshot
    for index, (delay_ms, levels) in enumerate([*batches, (600, [])]):  # the last lets every speed push
        if index == snapshot_at:
            taken = view.book(view.symbols["BTCUSDT"])  # what REST and the WebSocket API answer from
            snapshot = OrderBook()
            snapshot.load(taken.top_bids(1000), taken.top_asks(1000), taken.last_update_id)
        clock.advance(delay_ms)
        now = clock.now_ms()
        updates = []
        for is_bid, offset, qty in levels:  # bids below 1000, asks above: never crossed
            price = 1000 - offset if is_bid else 1001 + offset
            updates.append(
                book(
                    "BTCUSDT",
                    next_id,
                    now,
                    [(price, qty)] if is_bid else [],
                    [] if is_bid else [(price, qty)],
                )
            )
            next_id += 1
        out = step(plant, updates, now)
        view.receive(out)
        truth = plant.symbols["BTCUSDT"].book
        for message in out:
            event = msgspec.json.decode(message.payload)
            if message.stream in received and index >= subscribe_at:
                received[message.stream].append(event)
            if message.stream.startswith("btcusdt@depth") and message.stream[13:14].isdigit():
                n = int(message.stream[13:].partition("@")[0])  # partial depth: the book's top N now
                assert parse_levels(event["b"], inst) == truth.top_bids(n)
                assert parse_levels(event["a"], inst) == truth.top_asks(n)
                assert event["u"] == truth.last_update_id
    truth = plant.symbols["BTCUSDT"].book
    for name, events in received.items():
        ids = [(e["U"], e["u"], e["pu"]) for e in events]
        for (_, u, _), (first, _, previous) in itertools.pairwise(ids):
            assert (previous, first) == (u, u), f"{name}: a chain overlapping by one id (U = pu)"
        assert snapshot is not None
        local = sync(snapshot, events, inst)
        assert local.last_update_id == truth.last_update_id, name
        assert sides(local) == sides(truth), name


def test_a_tick_inside_a_batch_counts_what_was_applied_so_far() -> None:
    # A replay ticks between the updates of one batch (feeds/replay/replayer.py): the push covers
    # the updates applied before it, levels included; the next event repeats a level the
    # batch touched before the tick, at its unchanged absolute quantity (harmless, §4.9 step 6).
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(book("BTCUSDT", 1, T0 + 60, [(100, 5)], [(110, 2)]), T0 + 60, out)
    plant.tick(T0 + 100, out)
    plant.apply(book("BTCUSDT", 2, T0 + 120, [(100, 0)], []), T0 + 120, out)
    plant.end_batch(T0 + 120, out)
    out += step(plant, [], T0 + 200)
    events = [msgspec.json.decode(p) for p in payloads(out, "btcusdt@depth@100ms")]
    assert [(e["U"], e["u"], e["pu"], e["b"], e["a"]) for e in events] == [
        (0, 1, 0, [["1.00", "0.005"]], [["1.10", "0.002"]]),
        (1, 2, 1, [["1.00", "0.000"]], [["1.10", "0.002"]]),
    ]
