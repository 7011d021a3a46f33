"""The contract between the plant and the client: every payload the plant emits decodes,
with the client's ``StreamDecoder``, into its typed struct, and encodes back to the same
bytes (keys, order and values), for every stream kind on both markets, in both payload
formats (classic, and 2026's with ``st`` and USDⓈ-M's ``ps``, §4.13). The structs have no
``st`` (the client skips it): a 2026 payload is checked to end with its market's ``st``
exactly where §4.13 puts it, and the rest to round-trip.

Both sides derive from ``tickerplant.market.payloads.events`` and ``market/payloads/derived_events.py``;
this test runs the real plant over
the real simulator so that what is checked is what the plant actually writes, not what the
definitions say it should.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
import pytest

from tickerplant.client.events import StreamDecoder, UnknownEvent
from tickerplant.feeds.simulator.derivatives import SimulatedDerivatives
from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.payloads.derived_events import (
    AssetIndexUpdate,
    ContinuousKline,
    ForceOrder,
    IndexPriceKline,
    IndexPriceUpdate,
    Kline,
    MarkPriceKline,
    MarkPriceUpdate,
)
from tickerplant.market.payloads.events import (
    DECIMAL_ROLES,
    PAYLOADS,
    SENT,
    SENT_2026,
    SYMBOL_TYPE,
    SYMBOL_TYPED,
    AggTrade,
    BookTicker,
    DepthUpdate,
    MiniTicker,
    PayloadFormat,
    Ticker,
    Trade,
)
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.view import MarketView
from tickerplant.market.units import places_written

T0 = 1_767_225_600_000
STEP_MS = 50
MAX_MS = 30_000  # simulated; USDⓈ-M's !bookTicker batch comes every 5 s

# stream kind -> the struct its payload decodes to, and the markets on which it is an array
ARRAY: frozenset[Market] = frozenset(Market)
OBJECT: frozenset[Market] = frozenset()
KINDS: dict[str, tuple[type[msgspec.Struct], frozenset[Market]]] = {
    "bookTicker": (BookTicker, OBJECT),
    "!bookTicker": (BookTicker, OBJECT),
    "miniTicker": (MiniTicker, OBJECT),
    "!miniTicker@arr": (MiniTicker, ARRAY),
    "ticker": (Ticker, OBJECT),
    "!ticker@arr": (Ticker, ARRAY),
    "trade": (Trade, OBJECT),
    "aggTrade": (AggTrade, OBJECT),
    "depth": (DepthUpdate, OBJECT),  # every diff, partial and rpi depth stream, every speed
    "kline": (Kline, OBJECT),  # every interval
    "continuousKline": (ContinuousKline, OBJECT),  # every contract type and interval
    # a symbol's is one object; COIN-M's <pair>@markPrice an array (§4.6, PAIR_ARRAYS)
    "markPrice": (MarkPriceUpdate, OBJECT),  # both speeds
    "!markPrice@arr": (MarkPriceUpdate, ARRAY),  # USDⓈ-M only, both speeds
    "indexPrice": (IndexPriceUpdate, OBJECT),  # COIN-M only, both speeds
    "forceOrder": (ForceOrder, OBJECT),
    "!forceOrder@arr": (ForceOrder, OBJECT),  # one object, despite its name (§4.10)
    "markPriceKline": (MarkPriceKline, OBJECT),  # COIN-M only, every interval (§3.5)
    "indexPriceKline": (IndexPriceKline, OBJECT),  # COIN-M only, every interval
    "assetIndex": (AssetIndexUpdate, OBJECT),  # USDⓈ-M only, each margin asset's (§3.5)
    "!assetIndex@arr": (AssetIndexUpdate, ARRAY),  # USDⓈ-M only
}
# COIN-M's pair streams of these kinds are arrays of the pair's contracts.
PAIR_ARRAYS = {"markPrice"}
CM_PAIRS = {inst.pair.lower() for inst in catalogue(Market.CM, T0)}
# Each market's kinds: the others exist on the other market only.
ONLY_ON: dict[str, Market] = {
    "!markPrice@arr": Market.UM, "indexPrice": Market.CM, "markPriceKline": Market.CM, "indexPriceKline": Market.CM,
    "assetIndex": Market.UM, "!assetIndex@arr": Market.UM,
}  # fmt: skip
# Read by the market view alone (their levels and figures are integer units): no client
# contract. `openInterest` has no payload struct at all.
INTERNAL = {"depthDiff", "openInterest", "markState", "fundingEvent"}
# Keys the client reads (from Binance) that the plant deliberately never writes: none.
READ_ONLY: dict[type[msgspec.Struct], set[str]] = {}


as_str = StreamDecoder(numbers=str)
as_decimal = StreamDecoder()


def kind_of(stream: str) -> str:
    stream = stream.removesuffix("@1s")  # the mark and index prices' speed
    if stream.startswith("!"):
        return stream
    kind = stream.partition("@")[2]
    if kind.startswith(("kline_", "continuousKline_", "markPriceKline_", "indexPriceKline_")):
        return kind.partition("_")[0]
    return "depth" if kind.startswith(("depth", "rpiDepth")) and kind not in INTERNAL else kind


def kinds_of(market: Market) -> set[str]:
    return {kind for kind in KINDS if ONLY_ON.get(kind, market) is market}


@functools.cache
@functools.cache  # a pure function of its arguments, asked for three times each by the tests below
def plant_output(market: Market, payload_format: PayloadFormat = PayloadFormat.CLASSIC) -> tuple[StreamMessage, ...]:
    """What the plant emits over the simulator and its derivatives data (mark and index
    prices, as the pump feeds them) until every stream kind has appeared."""
    instruments = catalogue(market, T0)
    sim = Simulator(instruments, seed=5, actions_per_s=2000.0, start_ms=T0, book_levels=20)  # shapes, not depth
    derivatives = SimulatedDerivatives(instruments, seed=5, start_ms=T0)
    plant = Plant(market, instruments, now_ms=T0, payload_format=payload_format)
    history = sim.warm_history(T0, window_ms=10 * 60_000)
    plant.warm(history)
    out = plant.history(history[-50:])
    plant.snapshot(T0, out)
    for update in sim.initial_updates(T0):
        plant.apply(update, T0, out)
    now = T0
    seen: set[str] = set()
    expected = kinds_of(market)
    while now < T0 + MAX_MS and not seen >= expected:
        now += STEP_MS
        batch: list[StreamMessage] = []
        updates = [*sim.advance(now), *derivatives.advance(now, sim.books, sim.fair_price, lambda _: None)]
        for update in updates:
            plant.apply(update, now, batch)
        plant.end_batch(now, batch)
        if now >= plant.next_tick_ms:
            plant.tick(now, batch)
        seen.update(kind_of(m.stream) for m in batch)
        out += batch
    assert expected <= seen, f"never emitted: {expected - seen}"
    return tuple(out)


FORMATS = [(market, payload_format) for payload_format in PayloadFormat for market in Market]


@pytest.fixture(scope="module", params=list(Market), ids=lambda m: m.value)
def emitted(request: pytest.FixtureRequest) -> tuple[Market, tuple[StreamMessage, ...]]:
    market: Market = request.param
    return market, plant_output(market)


@pytest.mark.parametrize("market", list(Market), ids=lambda m: m.value)
def test_every_2026_payload_ends_with_st_where_it_belongs_and_round_trips(market: Market) -> None:
    checked: set[str] = set()
    for stream, payload in plant_output(market, PayloadFormat.Y2026):
        if kind_of(stream) in INTERNAL:
            continue
        check(stream, payload, market, PayloadFormat.Y2026)
        checked.add(kind_of(stream))
    assert checked == kinds_of(market) - INTERNAL


def same_json(expected: Any, got: Any, where: str = "") -> None:
    """Equal JSON trees, objects with their keys in the same order; decimal strings equal
    as numbers (a Decimal re-encodes "0.00000000" as "0E-8")."""
    if isinstance(expected, dict):
        assert isinstance(got, dict), where
        assert list(got) == list(expected), f"{where}: keys {list(got)} != {list(expected)}"
        for key, value in expected.items():
            same_json(value, got[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for index, (e, g) in enumerate(zip(expected, got, strict=True)):
            same_json(e, g, f"{where}[{index}]")
    elif isinstance(expected, str) and isinstance(got, str) and expected != got:
        try:
            assert Decimal(expected) == Decimal(got), f"{where}: {got!r} != {expected!r}"
        except InvalidOperation:
            raise AssertionError(f"{where}: {got!r} != {expected!r}") from None
    else:
        assert got == expected and type(got) is type(expected), f"{where}: {got!r} != {expected!r}"


def without_st(stream: str, payload: bytes, market: Market) -> bytes:
    """A 2026 payload without its ``st``, which must end each object of the kinds that
    carry it (§4.13), and no other."""
    struct, _ = KINDS[kind_of(stream)]
    st = b',"st":%d}' % SYMBOL_TYPE[market]
    decoded = msgspec.json.decode(payload)
    for item in decoded if isinstance(decoded, list) else [decoded]:
        if struct in SYMBOL_TYPED:
            assert list(item)[-1] == "st" and item["st"] == SYMBOL_TYPE[market], stream
        else:
            assert "st" not in item, stream
    return payload.replace(st, b"}")


def check(stream: str, payload: bytes, market: Market, payload_format: PayloadFormat = PayloadFormat.CLASSIC) -> None:
    """The contract for one payload; raises AssertionError where it is broken."""
    if payload_format is PayloadFormat.Y2026:
        payload = without_st(stream, payload, market)
    struct, array_on = KINDS[kind_of(stream)]
    is_array = market in array_on or (
        market is Market.CM and kind_of(stream) in PAIR_ARRAYS and stream.partition("@")[0] in CM_PAIRS
    )
    for decoder in (as_str, as_decimal):
        decoded = decoder.decode(payload)
        assert isinstance(decoded, tuple), decoded
        _, event = decoded
        assert not isinstance(event, UnknownEvent), f"{stream}: {event.reason}"
        events = event if isinstance(event, list) else [event]
        assert isinstance(event, list) is is_array, stream
        assert all(type(e) is struct for e in events), (stream, events)
        reencoded = msgspec.json.encode(event)
        if decoder is as_str:
            assert reencoded == payload, f"{stream}:\n  sent {payload!r}\n  read {reencoded!r}"
        elif reencoded != payload:  # the same bytes are the same tree: compared as trees only when not
            same_json(msgspec.json.decode(payload), msgspec.json.decode(reencoded), stream)


def test_every_payload_decodes_to_its_struct_and_back_to_the_same_bytes(
    emitted: tuple[Market, tuple[StreamMessage, ...]],
) -> None:
    market, messages = emitted
    checked: dict[str, int] = {}
    for stream, payload in messages:
        if kind_of(stream) in INTERNAL:
            continue
        check(stream, payload, market)
        checked[kind_of(stream)] = checked.get(kind_of(stream), 0) + 1
    assert checked.keys() == kinds_of(market) - INTERNAL


def wire_keys(struct: type[msgspec.Struct]) -> Iterator[tuple[str, bool]]:
    for field in msgspec.structs.fields(struct):
        yield field.encode_name, field.required


@pytest.mark.parametrize(("market", "payload_format"), FORMATS, ids=lambda p: str(p))
def test_the_plant_writes_every_key_of_each_payload_its_market_carries(
    market: Market, payload_format: PayloadFormat
) -> None:
    # A key written on the wrong market, or a required one not written, fails here; a key
    # the plant writes that the definitions lack fails the byte comparison above.
    messages = plant_output(market, payload_format)
    y2026 = payload_format is PayloadFormat.Y2026
    sent = (SENT_2026 if y2026 else SENT)[market]
    written = written_keys(messages)
    carried = {KINDS[kind][0] for kind in kinds_of(market)}
    assert written.keys() == carried
    for struct in carried:
        tag = struct.__struct_config__.tag_field
        expected = {tag} | {
            key for key, required in wire_keys(struct) if required or key in sent
        } - READ_ONLY.get(struct, set())
        if y2026 and struct in SYMBOL_TYPED:
            expected.add("st")  # not a field: see without_st
        assert written[struct] == expected, struct.__name__


def written_keys(messages: tuple[StreamMessage, ...]) -> dict[type[msgspec.Struct], set[str]]:
    written: dict[type[msgspec.Struct], set[str]] = {}
    for stream, payload in messages:
        if kind_of(stream) in INTERNAL - KINDS.keys():
            continue
        struct, _ = KINDS[kind_of(stream)]
        decoded = msgspec.json.decode(payload)
        for item in decoded if isinstance(decoded, list) else [decoded]:
            written.setdefault(struct, set()).update(item)
    return written


def test_every_key_the_client_reads_is_one_the_plant_writes_on_some_market() -> None:
    # A key added to a definition for the client alone fails here, unless it is listed as
    # one the plant deliberately never writes.
    written: dict[type[msgspec.Struct], set[str]] = {}
    for market, payload_format in FORMATS:
        for struct, keys in written_keys(plant_output(market, payload_format)).items():
            written.setdefault(struct, set()).update(keys)
    for struct in PAYLOADS:
        read = {key for key, _ in wire_keys(struct)} - READ_ONLY.get(struct, set())
        assert read <= written.get(struct, set()), struct.__name__
    assert {struct for struct, keys in written.items() if "st" in keys} == SYMBOL_TYPED


def test_prices_and_quantities_are_written_at_the_instruments_tick_and_step(
    emitted: tuple[Market, tuple[StreamMessage, ...]],
) -> None:
    market, messages = emitted
    instruments = {inst.symbol: inst for inst in catalogue(market, T0)}
    for stream, payload in messages:
        if kind_of(stream) in INTERNAL:
            continue
        decoded = as_str.decode(payload)
        assert isinstance(decoded, tuple)
        _, event = decoded
        for item in event if isinstance(event, list) else [event]:
            roles = DECIMAL_ROLES.get(type(item))
            if roles is None:
                continue
            inst = instruments[item.symbol]
            assert {places_written(getattr(item, name)) for name in roles.prices} == {inst.price_decimals}
            for name in roles.quantities:
                assert places_written(getattr(item, name)) == inst.qty_decimals, (name, item)


def test_the_market_view_reads_every_payload(emitted: tuple[Market, tuple[StreamMessage, ...]]) -> None:
    market, messages = emitted
    view = MarketView(market, catalogue(market, T0))
    view.receive(messages)
    for symbol in view.symbols.values():
        assert view.book_ticker(symbol) is not None
        assert view.ticker(symbol) is not None
        assert view.book(symbol).last_update_id
        assert view.last_price(symbol) is not None
    assert view.unreadable == 0


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: {**d, "zz": "1"}, id="a key added by the plant alone"),
        pytest.param(lambda d: {k: v for k, v in d.items() if k != "T"}, id="a required key missing"),
        pytest.param(lambda d: dict(reversed(list(d.items()))), id="the key order changed"),
        pytest.param(lambda d: {**d, "u": str(d["u"])}, id="a key's type changed"),
    ],
)
def test_the_contract_check_fails_when_one_side_changes(
    emitted: tuple[Market, tuple[StreamMessage, ...]], tamper: Any
) -> None:
    market, messages = emitted
    stream, payload = next(m for m in messages if kind_of(m.stream) == "bookTicker")
    check(stream, payload, market)
    tampered = msgspec.json.encode(tamper(msgspec.json.decode(payload)))
    with pytest.raises(AssertionError):
        check(stream, tampered, market)
