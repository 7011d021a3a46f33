"""The plant's depth streams (spec §4.8, §4.9, §4.11, §4.14): golden bytes per market, the
per-speed U/u/pu chains as Binance's are (``U`` > ``pu``, the hidden ids between events),
partial depth as the book's top N, and the local-book procedure (§4.9 steps 1–6) ending
equal to the plant's book from any snapshot at any speed, quiet moments included."""

from __future__ import annotations

from bisect import bisect_right
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
from tickerplant.protocol.market_data import MarketData

T0 = 1_767_225_600_000  # a multiple of 500 ms: the speeds push on their multiples
# every speed's diff-depth stream (§4.9, §4.14), real time included
CHAINS = ["btcusdt@depth", "btcusdt@depth@500ms", "btcusdt@depth@100ms", "btcusdt@depth@0ms"]


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
    bids, asks = [(6800500, 2214), (6800490, 42)], [(6800510, 838)]
    step(plant, [book("BTCUSDT", 157, T0 + 3, bids, asks, next_id=158)], T0 + 3)
    # ids 159 to 163 hidden (§4.9: live chains skip ids): 158 reserves 164 for the next update
    step(plant, [book("BTCUSDT", 158, T0 + 40, [(6800490, 0)], [(6800520, 218)], next_id=164)], T0 + 40)
    out = step(plant, [], T0 + 100)
    # the first event of a book that started empty (id 0): from 1 on
    assert payloads(out, "btcusdt@depth@100ms") == [
        b'{"e":"depthUpdate","E":1767225600100,"T":1767225600040,"s":"BTCUSDT","U":1,"u":158,"pu":0,'
        b'"b":[["68005.00","2.214"],["68004.90","0.000"]],"a":[["68005.10","0.838"],["68005.20","0.218"]]}'
    ]
    assert payloads(out, "btcusdt@depth5@100ms") == [
        b'{"e":"depthUpdate","E":1767225600100,"T":1767225600040,"s":"BTCUSDT","U":1,"u":158,"pu":0,'
        b'"b":[["68005.00","2.214"]],"a":[["68005.10","0.838"],["68005.20","0.218"]]}'
    ]
    step(plant, [book("BTCUSDT", 164, T0 + 150, [(6800500, 1000)], [], next_id=170)], T0 + 150)
    out = step(plant, [], T0 + 200)
    assert payloads(out, "btcusdt@depth@100ms") == [
        b'{"e":"depthUpdate","E":1767225600200,"T":1767225600150,"s":"BTCUSDT","U":164,"u":164,"pu":158,'
        b'"b":[["68005.00","1.000"]],"a":[]}'
    ], "U > pu + 1: the hidden ids lie between the events"
    out = step(plant, [], T0 + 250)  # the unsuffixed speed: 250 ms, both updates in one event
    assert payloads(out, "btcusdt@depth") == [
        b'{"e":"depthUpdate","E":1767225600250,"T":1767225600150,"s":"BTCUSDT","U":1,"u":164,"pu":0,'
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
        b'"U":1,"u":18,"pu":0,"b":[["9548.1","52"],["9548.0","0"]],"a":[["9548.5","11"]]}'
    ]
    assert payloads(out, "btcusd_perp@depth10@100ms") == [
        b'{"e":"depthUpdate","E":1767225600100,"T":1767225600099,"s":"BTCUSD_PERP","ps":"BTCUSD",'
        b'"U":1,"u":18,"pu":0,"b":[["9548.1","52"]],"a":[["9548.5","11"]]}'
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
    ``U <= lastUpdateId <= u`` (not ccxt's "or pu == lastUpdateId"), each later one
    ``pu`` = the previous ``u``."""
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


def rest_snapshot(answers: MarketData, now_ms: int, inst: Instrument) -> OrderBook:
    """`GET /fapi/v1/depth?limit=1000` (§7.4) as the REST listener answers it, loaded as a
    client loads it (step 2)."""
    answer = answers.depth({"symbol": inst.symbol, "limit": 1000}, now_ms)
    body = msgspec.json.decode(answer.head + answer.tail)
    snapshot = OrderBook()
    snapshot.load(
        [Level(*level) for level in parse_levels(body["bids"], inst)],
        [Level(*level) for level in parse_levels(body["asks"], inst)],
        body["lastUpdateId"],
    )  # fmt: skip
    return snapshot


def check_chain(name: str, events: list[dict[str, Any]], start_id: int, applied: list[int]) -> None:
    """One speed's chain (§4.9) over the ids ``applied`` in order, from ``start_id``: ``pu`` is
    the previous ``u``, ``U`` > ``pu`` always (Binance never sends ``U <= pu``), and ``U`` is the
    first id applied after ``pu``: the ids the source hid before that update lie between
    the events (``U`` > ``pu`` + 1 where it hid any), as in Binance's live chains."""
    previous_u = start_id
    for event in events:
        assert event["pu"] == previous_u, (name, event)
        assert event["U"] > event["pu"], (name, event)
        assert event["U"] == applied[bisect_right(applied, event["pu"])], (name, event)
        assert event["U"] <= event["u"] and event["u"] in applied, (name, event)
        previous_u = event["u"]


batches = st.lists(
    st.tuples(
        st.integers(0, 120),  # ms to the next batch
        st.lists(  # updates in it: (is bid, price offset, qty, ids hidden before the next update)
            st.tuples(st.booleans(), st.integers(0, 12), st.integers(0, 4), st.integers(0, 3)), max_size=4
        ),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    batches=batches,
    subscribe_at=st.integers(0, 40),
    snapshot_after=st.integers(0, 40),
    first_id=st.integers(1, 10**13),
)
def test_every_speed_is_a_binance_chain_that_syncs_a_local_book_from_any_snapshot(
    batches: list[tuple[int, list[tuple[bool, int, int, int]]]],
    subscribe_at: int,
    snapshot_after: int,
    first_id: int,
) -> None:
    """Random books, ids with hidden gaps, and any moment to subscribe and to take the REST
    snapshot, quiet ones included (nothing moved since a speed's last push, or since every
    speed's): every speed's chain is Binance-shaped and the procedure as written syncs."""
    inst = instrument(Market.UM)
    plant = Plant(Market.UM, [inst], now_ms=T0)
    view = MarketView(Market.UM, [inst])
    answers = MarketData(view, cm_arrays=True)
    clock = ManualClock(T0)
    # The initial book, where every chain starts, as the simulator's pump starts them.
    next_id = first_id + 1
    out: list[StreamMessage] = []
    plant.apply(book("BTCUSDT", first_id, T0, [(1000, 1)], [(1001, 1)], next_id=next_id), T0, out)
    plant.end_batch(T0, out)
    view.receive(out)
    plant.start_depth_chains()
    applied = [first_id]  # every id applied, in order
    published: dict[str, list[dict[str, Any]]] = {name: [] for name in CHAINS}
    received: dict[str, list[dict[str, Any]]] = {name: [] for name in CHAINS}
    snapshot: OrderBook | None = None
    snapshot_at = min(subscribe_at + snapshot_after, len(batches))  # at the latest before the last
    subscribe_at = min(subscribe_at, snapshot_at)  # subscribe first (step 1), then the snapshot
    for index, (delay_ms, levels) in enumerate([*batches, (600, [])]):  # the last lets every speed push
        if index == snapshot_at:
            snapshot = rest_snapshot(answers, clock.now_ms(), inst)
            assert snapshot.last_update_id == next_id, "the id reserved for the next update"
        clock.advance(delay_ms)
        now = clock.now_ms()
        updates = []
        for is_bid, offset, qty, hidden in levels:  # bids below 1000, asks above: never crossed
            price = 1000 - offset if is_bid else 1001 + offset
            bids, asks = ([(price, qty)], []) if is_bid else ([], [(price, qty)])
            reserved = next_id + 1 + hidden
            updates.append(book("BTCUSDT", next_id, now, bids, asks, next_id=reserved))
            applied.append(next_id)
            next_id = reserved
        out = step(plant, updates, now)
        view.receive(out)
        truth = plant.symbols["BTCUSDT"].book
        for message in out:
            event = msgspec.json.decode(message.payload)
            if message.stream in published:
                published[message.stream].append(event)
                if index >= subscribe_at:
                    received[message.stream].append(event)
            if message.stream.startswith("btcusdt@depth") and message.stream[13:14].isdigit():
                n = int(message.stream[13:].partition("@")[0])  # partial depth: the book's top N now
                assert parse_levels(event["b"], inst) == truth.top_bids(n)
                assert parse_levels(event["a"], inst) == truth.top_asks(n)
                assert event["u"] == truth.last_update_id and event["U"] > event["pu"]
    truth = plant.symbols["BTCUSDT"].book
    assert snapshot is not None
    # No update since the snapshot: a client holds it, waiting for the update reserved.
    reached = truth.last_update_id if snapshot.last_update_id < next_id else snapshot.last_update_id
    for name in CHAINS:
        check_chain(name, published[name], first_id, applied)
        local = sync(snapshot, received[name], inst)
        assert local.last_update_id == reached, name
        assert sides(local) == sides(truth), name


def test_a_snapshot_taken_while_nothing_moved_is_in_every_speeds_next_event() -> None:
    # Every speed has pushed the last change: the snapshot's id is none of theirs but the one
    # reserved for the next update, which each speed's next event starts at (§4.9 step 4
    # as Binance writes it; ccxt's pu == lastUpdateId would not hold).
    inst = instrument(Market.UM)
    plant = Plant(Market.UM, [inst], now_ms=T0)
    view = MarketView(Market.UM, [inst])
    out = step(plant, [book("BTCUSDT", 500, T0 + 10, [(990, 3)], [(1010, 4)], next_id=507)], T0 + 10)
    out += step(plant, [], T0 + 500)
    view.receive(out)
    assert {msgspec.json.decode(p)["u"] for name in CHAINS for p in payloads(out, name)} == {500}
    snapshot = rest_snapshot(MarketData(view, cm_arrays=True), T0 + 500, inst)
    assert snapshot.last_update_id == 507
    out = step(plant, [book("BTCUSDT", 507, T0 + 510, [(990, 0)], [], next_id=509)], T0 + 510)
    out += step(plant, [], T0 + 1000)
    for name in CHAINS:
        (event,) = [msgspec.json.decode(p) for p in payloads(out, name)]
        assert (event["pu"], event["U"], event["u"]) == (500, 507, 507), name
        assert sides(sync(snapshot, [event], inst)) == sides(plant.symbols["BTCUSDT"].book), name


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
        (1, 1, 0, [["1.00", "0.005"]], [["1.10", "0.002"]]),
        (2, 2, 1, [["1.00", "0.000"]], [["1.10", "0.002"]]),
    ]
