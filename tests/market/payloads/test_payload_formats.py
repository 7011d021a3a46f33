"""The 2026 payload format (spec §4.13) through the plant, both markets: golden bytes of
every stream kind, the spec's real October 2026 bookTicker, and every payload of every
stream (each speed, each array) the classic payload with exactly ``ps`` and ``st`` added
where §4.13 puts them; klines, continuous klines, index prices and the internal streams
unchanged. The classic format's own golden bytes are the other tests' (unchanged)."""

from __future__ import annotations

import msgspec
import pytest
from plant_inputs import book, instrument

from tickerplant.market.instruments import Market
from tickerplant.market.messages import StreamMessage
from tickerplant.market.payloads import builders
from tickerplant.market.payloads.event_frames import EventFrames
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.market.plant.plant import Plant
from tickerplant.market.updates import IndexPrice, Liquidation, MarketUpdate, MarkPrice, Trade

T0 = 1_791_382_980_000  # a whole minute (the spec's October 2026 captures are here)
END_MS = T0 + 6_100  # every cadence has pushed: the 3 s mark prices, the 2 s tickers


def _updates(market: Market) -> list[MarketUpdate]:
    inst = instrument(market)
    s = inst.symbol
    um = market is Market.UM
    price, bid_qty, ask_qty, qty = (8309160, 4215, 3763, 100) if um else (830916, 42, 37, 3)
    liquidated = 14 if um else 1
    mark = MarkPrice(s, T0 + 30, 8_309_165_000_000, 8_309_000_000_000, 8_309_100_000_000, 10_000, 10_000,
                     1_791_388_800_000)  # fmt: skip
    updates: list[MarketUpdate] = [
        book(s, 100, T0 + 10, [(price, bid_qty)], [(price + 10 if um else price + 1, ask_qty)]),
        Trade(s, 7, T0 + 20, price + 10 if um else price + 1, qty, False),
        mark,
        Liquidation(s, T0 + 40, False, liquidated, price, price, liquidated),
    ]
    if not um:
        updates.append(IndexPrice(inst.pair, T0 + 30, 8_309_000_000_000))
    return updates


def _first_payloads(market: Market, payload_format: PayloadFormat) -> dict[str, bytes]:
    """Each stream's first payload, the plant driven every 50 ms as the pump drives it."""
    plant = Plant(market, [instrument(market)], now_ms=T0, payload_format=payload_format)
    pending = _updates(market)
    first: dict[str, bytes] = {}
    for now in range(T0 + 10, END_MS, 50):
        batch: list[StreamMessage] = []
        due = [u for u in pending if u.time_ms <= now]
        for update in due:
            plant.apply(update, now, batch)
            pending.remove(update)
        plant.end_batch(now, batch)
        if now >= plant.next_tick_ms:
            plant.tick(now, batch)
        for message in batch:
            first.setdefault(message.stream, message.payload)
    return first


GOLDEN_2026_UM = {
    "btcusdt@bookTicker": (
        b'{"e":"bookTicker","u":100,"s":"BTCUSDT","ps":"BTCUSDT","b":"83091.60","B":"4.215","a":"8'
        b'3091.70","A":"3.763","T":1791382980010,"E":1791382980010,"st":1}'
    ),
    "!bookTicker": (
        b'{"e":"bookTicker","u":100,"s":"BTCUSDT","ps":"BTCUSDT","b":"83091.60","B":"4.215","a":"8'
        b'3091.70","A":"3.763","T":1791382980010,"E":1791382980010,"st":1}'
    ),
    "btcusdt@miniTicker": (
        b'{"e":"24hrMiniTicker","E":1791382982010,"s":"BTCUSDT","ps":"BTCUSDT","c":"83091.70","o":'
        b'"83091.70","h":"83091.70","l":"83091.70","v":"0.100","q":"8309.17000","st":1}'
    ),
    "!miniTicker@arr": (
        b'[{"e":"24hrMiniTicker","E":1791382981010,"s":"BTCUSDT","ps":"BTCUSDT","c":"83091.70","o"'
        b':"83091.70","h":"83091.70","l":"83091.70","v":"0.100","q":"8309.17000","st":1}]'
    ),
    "btcusdt@ticker": (
        b'{"e":"24hrTicker","E":1791382982010,"s":"BTCUSDT","ps":"BTCUSDT","p":"0.00","P":"0.000",'
        b'"w":"83091.70","c":"83091.70","Q":"0.100","o":"83091.70","h":"83091.70","l":"83091.70","'
        b'v":"0.100","q":"8309.17000","O":1791296580000,"C":1791382982010,"F":7,"L":7,"n":1,"st":1'
        b'}'
    ),
    "!ticker@arr": (
        b'[{"e":"24hrTicker","E":1791382981010,"s":"BTCUSDT","ps":"BTCUSDT","p":"0.00","P":"0.000"'
        b',"w":"83091.70","c":"83091.70","Q":"0.100","o":"83091.70","h":"83091.70","l":"83091.70",'
        b'"v":"0.100","q":"8309.17000","O":1791296580000,"C":1791382981010,"F":7,"L":7,"n":1,"st":'
        b'1}]'
    ),
    "btcusdt@trade": (
        b'{"e":"trade","E":1791382980060,"T":1791382980020,"s":"BTCUSDT","t":7,"p":"83091.70","q":'
        b'"0.100","X":"MARKET","m":false,"st":1}'
    ),
    "btcusdt@aggTrade": (
        b'{"e":"aggTrade","E":1791382980060,"a":7,"s":"BTCUSDT","p":"83091.70","q":"0.100","nq":"0'
        b'.100","f":7,"l":7,"T":1791382980020,"m":false,"st":1}'
    ),
    "btcusdt@depth@100ms": (
        b'{"e":"depthUpdate","E":1791382980110,"T":1791382980010,"s":"BTCUSDT","ps":"BTCUSDT","U":'
        b'1,"u":100,"pu":0,"b":[["83091.60","4.215"]],"a":[["83091.70","3.763"]],"st":1}'
    ),
    "btcusdt@depth5": (
        b'{"e":"depthUpdate","E":1791382980260,"T":1791382980010,"s":"BTCUSDT","ps":"BTCUSDT","U":'
        b'1,"u":100,"pu":0,"b":[["83091.60","4.215"]],"a":[["83091.70","3.763"]],"st":1}'
    ),
    "btcusdt@rpiDepth@500ms": (
        b'{"e":"depthUpdate","E":1791382980510,"T":1791382980010,"s":"BTCUSDT","ps":"BTCUSDT","U":'
        b'1,"u":100,"pu":0,"b":[["83091.60","4.215"]],"a":[["83091.70","3.763"]],"st":1}'
    ),
    "btcusdt@markPrice@1s": (
        b'{"e":"markPriceUpdate","E":1791382981000,"s":"BTCUSDT","p":"83091.65000000","P":"83091.0'
        b'0000000","i":"83090.00000000","r":"0.00010000","T":1791388800000,"st":1}'
    ),
    "!markPrice@arr@1s": (
        b'[{"e":"markPriceUpdate","E":1791382981000,"s":"BTCUSDT","p":"83091.65000000","P":"83091.'
        b'00000000","i":"83090.00000000","r":"0.00010000","T":1791388800000,"st":1}]'
    ),
    "btcusdt@forceOrder": (
        b'{"e":"forceOrder","E":1791382981010,"o":{"s":"BTCUSDT","ps":"BTCUSDT","S":"SELL","o":"LI'
        b'MIT","f":"IOC","q":"0.014","p":"83091.60","ap":"83091.60","X":"FILLED","l":"0.014","z":"'
        b'0.014","T":1791382980040},"st":1}'
    ),
    "!forceOrder@arr": (
        b'{"e":"forceOrder","E":1791382981010,"o":{"s":"BTCUSDT","ps":"BTCUSDT","S":"SELL","o":"LI'
        b'MIT","f":"IOC","q":"0.014","p":"83091.60","ap":"83091.60","X":"FILLED","l":"0.014","z":"'
        b'0.014","T":1791382980040},"st":1}'
    ),
    "btcusdt@kline_1m": (
        b'{"e":"kline","E":1791382980260,"s":"BTCUSDT","k":{"t":1791382980000,"T":1791383039999,"s'
        b'":"BTCUSDT","i":"1m","f":7,"L":7,"o":"83091.70","c":"83091.70","h":"83091.70","l":"83091'
        b'.70","v":"0.100","n":1,"x":false,"q":"8309.17000","V":"0.100","Q":"8309.17000","B":"0"}}'
    ),
    "btcusdt_perpetual@continuousKline_1m": (
        b'{"e":"continuous_kline","E":1791382980260,"ps":"BTCUSDT","ct":"PERPETUAL","k":{"t":17913'
        b'82980000,"T":1791383039999,"i":"1m","f":7,"L":7,"o":"83091.70","c":"83091.70","h":"83091'
        b'.70","l":"83091.70","v":"0.100","n":1,"x":false,"q":"8309.17000","V":"0.100","Q":"8309.1'
        b'7000","B":"0"}}'
    ),
}
GOLDEN_2026_CM = {
    "btcusd_perp@bookTicker": (
        b'{"e":"bookTicker","u":100,"s":"BTCUSD_PERP","ps":"BTCUSD","b":"83091.6","B":"42","a":"83'
        b'091.7","A":"37","T":1791382980010,"E":1791382980010,"st":2}'
    ),
    "!bookTicker": (
        b'{"e":"bookTicker","u":100,"s":"BTCUSD_PERP","ps":"BTCUSD","b":"83091.6","B":"42","a":"83'
        b'091.7","A":"37","T":1791382980010,"E":1791382980010,"st":2}'
    ),
    "btcusd_perp@miniTicker": (
        b'{"e":"24hrMiniTicker","E":1791382980510,"s":"BTCUSD_PERP","ps":"BTCUSD","c":"83091.7","o'
        b'":"83091.7","h":"83091.7","l":"83091.7","v":"3","q":"0.00361047","st":2}'
    ),
    "!miniTicker@arr": (
        b'[{"e":"24hrMiniTicker","E":1791382981010,"s":"BTCUSD_PERP","ps":"BTCUSD","c":"83091.7","'
        b'o":"83091.7","h":"83091.7","l":"83091.7","v":"3","q":"0.00361047","st":2}]'
    ),
    "btcusd_perp@ticker": (
        b'{"e":"24hrTicker","E":1791382980510,"s":"BTCUSD_PERP","ps":"BTCUSD","p":"0.0","P":"0.000'
        b'","w":"83091.7","c":"83091.7","Q":"3","o":"83091.7","h":"83091.7","l":"83091.7","v":"3",'
        b'"q":"0.00361047","O":1791296580000,"C":1791382980510,"F":7,"L":7,"n":1,"st":2}'
    ),
    "!ticker@arr": (
        b'[{"e":"24hrTicker","E":1791382981010,"s":"BTCUSD_PERP","ps":"BTCUSD","p":"0.0","P":"0.00'
        b'0","w":"83091.7","c":"83091.7","Q":"3","o":"83091.7","h":"83091.7","l":"83091.7","v":"3"'
        b',"q":"0.00361047","O":1791296580000,"C":1791382981010,"F":7,"L":7,"n":1,"st":2}]'
    ),
    "btcusd_perp@trade": (
        b'{"e":"trade","E":1791382980060,"T":1791382980020,"s":"BTCUSD_PERP","t":7,"p":"83091.7","'
        b'q":"3","X":"MARKET","m":false,"st":2}'
    ),
    "btcusd_perp@aggTrade": (
        b'{"e":"aggTrade","E":1791382980060,"a":7,"s":"BTCUSD_PERP","p":"83091.7","q":"3","f":7,"l'
        b'":7,"T":1791382980020,"m":false,"st":2}'
    ),
    "btcusd_perp@depth@100ms": (
        b'{"e":"depthUpdate","E":1791382980110,"T":1791382980010,"s":"BTCUSD_PERP","ps":"BTCUSD","'
        b'U":1,"u":100,"pu":0,"b":[["83091.6","42"]],"a":[["83091.7","37"]],"st":2}'
    ),
    "btcusd_perp@depth5": (
        b'{"e":"depthUpdate","E":1791382980260,"T":1791382980010,"s":"BTCUSD_PERP","ps":"BTCUSD","'
        b'U":1,"u":100,"pu":0,"b":[["83091.6","42"]],"a":[["83091.7","37"]],"st":2}'
    ),
    "btcusd_perp@markPrice@1s": (
        b'{"e":"markPriceUpdate","E":1791382981000,"s":"BTCUSD_PERP","p":"83091.65000000","P":"830'
        b'91.00000000","i":"83090.00000000","r":"0.00010000","T":1791388800000,"st":2}'
    ),
    "btcusd@markPrice@1s": (
        b'[{"e":"markPriceUpdate","E":1791382981000,"s":"BTCUSD_PERP","p":"83091.65000000","P":"83'
        b'091.00000000","i":"83090.00000000","r":"0.00010000","T":1791388800000,"st":2}]'
    ),
    "btcusd@indexPrice@1s": (
        b'{"e":"indexPriceUpdate","E":1791382981000,"i":"BTCUSD","p":"83090.00000000"}'
    ),
    "btcusd_perp@forceOrder": (
        b'{"e":"forceOrder","E":1791382981010,"o":{"s":"BTCUSD_PERP","ps":"BTCUSD","S":"SELL","o":'
        b'"LIMIT","f":"IOC","q":"1","p":"83091.6","ap":"83091.6","X":"FILLED","l":"1","z":"1","T":'
        b'1791382980040},"st":2}'
    ),
    "!forceOrder@arr": (
        b'{"e":"forceOrder","E":1791382981010,"o":{"s":"BTCUSD_PERP","ps":"BTCUSD","S":"SELL","o":'
        b'"LIMIT","f":"IOC","q":"1","p":"83091.6","ap":"83091.6","X":"FILLED","l":"1","z":"1","T":'
        b'1791382980040},"st":2}'
    ),
    "btcusd_perp@kline_1m": (
        b'{"e":"kline","E":1791382980260,"s":"BTCUSD_PERP","k":{"t":1791382980000,"T":179138303999'
        b'9,"s":"BTCUSD_PERP","i":"1m","f":7,"L":7,"o":"83091.7","c":"83091.7","h":"83091.7","l":"'
        b'83091.7","v":"3","n":1,"x":false,"q":"0.00361047","V":"3","Q":"0.00361047","B":"0"}}'
    ),
    "btcusd_perp@markPriceKline_1m": (  # no st (§4.13): the classic bytes
        b'{"e":"markPrice_kline","E":1791382980260,"ps":"BTCUSD","k":{"t":1791382980000,"T":17913830'
        b'39999,"s":"BTCUSD_PERP","i":"1m","f":1791382980030,"L":1791382980030,"o":"83091.65000000",'
        b'"c":"83091.65000000","h":"83091.65000000","l":"83091.65000000","v":"0","n":1,"x":false,"q"'
        b':"0","V":"0","Q":"0","B":"0"}}'
    ),
    "btcusd@indexPriceKline_1m": (
        b'{"e":"indexPrice_kline","E":1791382980260,"ps":"BTCUSD","k":{"t":1791382980000,"T":1791383'
        b'039999,"s":"0","i":"1m","f":1791382980030,"L":1791382980030,"o":"83090.00000000","c":"83090'
        b'.00000000","h":"83090.00000000","l":"83090.00000000","v":"0","n":1,"x":false,"q":"0","V":"0'
        b'","Q":"0","B":"0"}}'
    ),
    "btcusd_perpetual@continuousKline_1m": (
        b'{"e":"continuous_kline","E":1791382980260,"ps":"BTCUSD","ct":"PERPETUAL","k":{"t":179138'
        b'2980000,"T":1791383039999,"i":"1m","f":7,"L":7,"o":"83091.7","c":"83091.7","h":"83091.7"'
        b',"l":"83091.7","v":"3","n":1,"x":false,"q":"0.00361047","V":"3","Q":"0.00361047","B":"0"'
        b'}}'
    ),
}


@pytest.mark.parametrize(
    ("market", "golden"), [(Market.UM, GOLDEN_2026_UM), (Market.CM, GOLDEN_2026_CM)], ids=["um", "cm"]
)
def test_golden_2026_payload_of_every_stream_kind(market: Market, golden: dict[str, bytes]) -> None:
    pushed = _first_payloads(market, PayloadFormat.Y2026)
    for stream, payload in golden.items():
        assert pushed[stream] == payload, stream


def test_the_spec_s_real_october_2026_usds_m_book_ticker() -> None:
    # spec §4.13, a real fstream frame [CAP 2026-10]
    frames = EventFrames(instrument(Market.UM), builders.encoders(Market.UM, PayloadFormat.Y2026))
    top = (8309160, 4215, 8309170, 3763)
    assert frames.book_ticker(11757092630476, *top, 1791382994657, 1791382994658) == (
        b'{"e":"bookTicker","u":11757092630476,"s":"BTCUSDT","ps":"BTCUSDT","b":"83091.60","B":"4.215",'
        b'"a":"83091.70","A":"3.763","T":1791382994657,"E":1791382994658,"st":1}'
    )


# §4.13: the kinds that get `st` last; on USDⓈ-M those that also get `ps` after `s`
ST_KINDS = ("bookTicker", "depth", "rpiDepth", "miniTicker", "ticker", "trade", "aggTrade", "markPrice", "forceOrder")
PS_KINDS = ("bookTicker", "depth", "rpiDepth", "miniTicker", "ticker", "forceOrder")
UNCHANGED_KINDS = ("kline_", "continuousKline_", "markPriceKline_", "indexPrice", "depthDiff", "markState",
                   "assetIndex")  # fmt: skip


def _kind(stream: str) -> str:
    name = stream.removeprefix("!").partition("@")
    return (name[0] if stream.startswith("!") else name[2]).partition("@")[0].rstrip("0123456789")


def _as_2026(stream: str, classic: bytes, market: Market) -> bytes:
    """The classic payload with §4.13's additions, done by hand on the decoded JSON."""
    kind = _kind(stream)
    if kind.startswith(UNCHANGED_KINDS):
        return classic
    decoded = msgspec.json.decode(classic)
    items = decoded if isinstance(decoded, list) else [decoded]
    out = []
    for item in items:
        if market is Market.UM and kind in PS_KINDS:
            holder = item["o"] if kind == "forceOrder" else item
            pairs = list(holder.items())
            at = [key for key, _ in pairs].index("s") + 1
            rebuilt = dict([*pairs[:at], ("ps", holder["s"]), *pairs[at:]])
            item = {**item, "o": rebuilt} if kind == "forceOrder" else rebuilt
        assert kind in ST_KINDS, stream
        out.append({**item, "st": 1 if market is Market.UM else 2})
    return msgspec.json.encode(out if isinstance(decoded, list) else out[0])


@pytest.mark.parametrize("market", list(Market), ids=lambda m: m.value)
def test_every_2026_payload_is_the_classic_one_with_ps_and_st_where_the_spec_puts_them(market: Market) -> None:
    classic = _first_payloads(market, PayloadFormat.CLASSIC)
    y2026 = _first_payloads(market, PayloadFormat.Y2026)
    assert classic.keys() == y2026.keys()
    assert len(classic) > 30  # every speed of every depth stream, every array, every kline interval
    for stream, payload in classic.items():
        assert y2026[stream] == _as_2026(stream, payload, market), stream


def test_the_classic_format_is_the_default() -> None:
    for market in Market:
        assert _first_payloads(market, PayloadFormat.CLASSIC) == _first_payloads_default(market)


def _first_payloads_default(market: Market) -> dict[str, bytes]:
    plant = Plant(market, [instrument(market)], now_ms=T0)
    assert plant.payload_format is PayloadFormat.CLASSIC
    return _first_payloads(market, plant.payload_format)
