"""The plant's mark-price streams (market/derivatives/mark_streams.py): golden bytes on both markets,
the 1 s and 3 s cadences on a driven clock, and the internal streams the views read."""

from __future__ import annotations

from collections import Counter

import msgspec

from tickerplant.market.derivatives.mark_streams import FundingEvent, MarkState, internal_names
from tickerplant.market.instruments import ContractType, Instrument, Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.payloads import derived_events
from tickerplant.market.plant.plant import Plant
from tickerplant.market.updates import FundingRate, IndexPrice, MarkPrice

T0 = 1_771_263_507_400  # 2026-02-16T17:38:27.4Z: the spec's capture is at …510000
CAPTURE = (
    b'{"e":"markPriceUpdate","E":1771263510000,"s":"BTCUSDT","p":"68005.80802899",'
    b'"P":"67836.82194783","i":"68035.14043478","r":"-0.00004435","T":1771286400000}'
)  # spec §4.6, a real frame of btcusdt@markPrice@1s [CAP 2026-02]


def _um_mark(time_ms: int = T0) -> MarkPrice:
    return MarkPrice("BTCUSDT", time_ms, 6_800_580_802_899, 6_803_514_043_478, 6_783_682_194_783, -4_435,
                     10_000, 1_771_286_400_000)  # fmt: skip


def _drive(plant: Plant, start: int, end: int, step: int = 100) -> list[tuple[int, StreamMessage]]:
    """Tick the plant every ``step`` ms as a shell would, collecting what it pushes."""
    pushed: list[tuple[int, StreamMessage]] = []
    for now in range(start, end, step):
        if now >= plant.next_tick_ms:
            out: list[StreamMessage] = []
            plant.tick(now, out)
            pushed += [(now, message) for message in out]
    return pushed


def _instruments(market: Market, *symbols: str) -> list[Instrument]:
    return [inst for inst in catalogue(market, T0) if inst.symbol in symbols]


def test_usds_m_payloads_are_the_captured_bytes() -> None:
    plant = Plant(Market.UM, _instruments(Market.UM, "BTCUSDT", "ETHUSDT"), now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(_um_mark(), T0, out)
    pushed = dict((m.stream, m.payload) for _, m in _drive(plant, T0, T0 + 2_700) if _ < T0 + 2_700)
    assert pushed["btcusdt@markPrice@1s"] == CAPTURE
    assert pushed["btcusdt@markPrice"] == CAPTURE  # …510000 is a whole 3 s: the same bytes
    assert pushed["!markPrice@arr@1s"] == b"[" + CAPTURE + b"]"
    assert pushed["!markPrice@arr"] == b"[" + CAPTURE + b"]"
    assert not any(name.startswith("ethusdt") for name in pushed), "no mark price yet: not pushed"


def test_the_1s_streams_push_every_second_and_the_others_every_3_s() -> None:
    plant = Plant(Market.UM, _instruments(Market.UM, "BTCUSDT"), now_ms=T0)
    plant.apply(_um_mark(), T0, [])
    pushed = _drive(plant, T0, T0 + 12_000, step=50)
    times: dict[str, list[int]] = {}
    for now, message in pushed:
        if message.stream.startswith("pBTCUSDT@kline_"):
            continue  # the premium index's candles: on the klines' 250 ms cadence (price_streams)
        event = msgspec.json.decode(message.payload)
        event = event[0] if isinstance(event, list) else event
        assert event["E"] % 1000 == 0, "E is the whole second of the push"
        assert now - event["E"] < 50, "pushed within one tick of its second"
        times.setdefault(message.stream, []).append(event["E"])
    fast = times["btcusdt@markPrice@1s"]
    assert fast == list(range(fast[0], fast[0] + 1000 * len(fast), 1000)) and len(fast) == 12
    slow = times["btcusdt@markPrice"]
    assert all(e % 3000 == 0 for e in slow) and len(slow) == 4
    assert times["!markPrice@arr@1s"] == fast and times["!markPrice@arr"] == slow
    marks = {name for name in times if "assetIndex" not in name}  # the asset index: its own test
    assert marks == {"btcusdt@markPrice@1s", "btcusdt@markPrice", "!markPrice@arr@1s", "!markPrice@arr"}
    assert times["!assetIndex@arr"] == times["btcusd@assetIndex"] == fast  # each second too


def test_the_asset_index_is_pushed_each_second_of_the_marks_with_the_rest_answers_figures() -> None:
    """`!assetIndex@arr` and `<assetSymbol>@assetIndex` (USDⓈ-M, §3.5; 1 s): the stablecoins
    at 1, BTC at BTCUSDT's mark with its 5 % bid buffer (``asset_index_row``, what REST
    answers), ETH left out until ETHUSDT has a mark; in the keys Binance's SDK reads; only
    what somebody takes once the plant follows a demand; none on COIN-M."""
    plant = Plant(Market.UM, _instruments(Market.UM, "BTCUSDT", "ETHUSDT"), now_ms=T0)
    plant.apply(_um_mark(), T0, [])
    pushed = {m.stream: m.payload for now, m in _drive(plant, T0, T0 + 1_000)}
    btc = msgspec.json.decode(pushed["btcusd@assetIndex"])
    assert btc == {
        "e": "assetIndexUpdate", "E": 1771263508000, "s": "BTCUSD", "i": "68005.80802899", "b": "0.05000000",
        "a": "0.00000000", "B": "64605.51762754", "A": "68005.80802899", "q": "0.00000000", "g": "0.00000000",
        "Q": "68005.80802899", "G": "68005.80802899",
    }  # fmt: skip
    assert list(btc) == ["e", "E", "s", "i", "b", "a", "B", "A", "q", "g", "Q", "G"]
    every = msgspec.json.decode(pushed["!assetIndex@arr"])
    assert [e["s"] for e in every] == ["USDTUSD", "USDCUSD", "BTCUSD", "FDUSDUSD", "BFUSDUSD"]
    assert every[2] == btc and every[0]["i"] == every[0]["B"] == "1.00000000"
    assert "ethusd@assetIndex" not in pushed, "ETHUSDT has no mark yet: none"
    assert "bnbusd@assetIndex" not in pushed, "BNBUSDT is not listed here: none"
    plant.follow(frozenset({"btcusd@assetIndex"}))
    pushed = {m.stream for now, m in _drive(plant, T0 + 1_000, T0 + 2_000)}
    assert pushed == {"btcusd@assetIndex"}
    coin = Plant(Market.CM, _instruments(Market.CM, "BTCUSD_PERP"), now_ms=T0)
    coin.apply(MarkPrice("BTCUSD_PERP", T0, 6_800_000_000_000, 6_800_000_000_000, 6_800_000_000_000, 100,
                         10_000, 1_771_286_400_000), T0, [])  # fmt: skip
    assert not [m for _, m in _drive(coin, T0, T0 + 2_000) if "assetIndex" in m.stream]


def test_coin_m_pushes_pair_arrays_index_prices_and_delivery_contracts_without_funding() -> None:
    insts = [i for i in catalogue(Market.CM, T0) if i.pair == "BTCUSD"]
    perpetual, current, following = (inst.symbol for inst in insts)
    plant = Plant(Market.CM, insts, now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(MarkPrice(perpetual, T0, 6_800_000_000_000, 6_799_000_000_000, 6_799_500_000_000, 10_000, 10_000,
                          1_771_286_400_000), T0, out)  # fmt: skip
    for symbol in (current, following):
        plant.apply(MarkPrice(symbol, T0, 6_900_000_000_000, 6_799_000_000_000, 6_799_500_000_000, None, None, 0),
                    T0, out)  # fmt: skip
    plant.apply(IndexPrice("BTCUSD", T0, 963_657_860_000), T0, out)
    pushed = {m.stream: m.payload for now, m in _drive(plant, T0, T0 + 2_700)}
    head = b'{"e":"markPriceUpdate","E":1771263510000,"s":'
    perp = head + b'"BTCUSD_PERP","p":"68000.00000000","P":"67995.00000000","i":"67990.00000000","r":"0.00010000","T":1771286400000}'
    quarter = head + b'"%s","p":"69000.00000000","P":"67995.00000000","i":"67990.00000000","r":"","T":0}'
    assert pushed["btcusd_perp@markPrice@1s"] == perp
    assert pushed[f"{current.lower()}@markPrice"] == quarter % current.encode()
    assert pushed["btcusd@markPrice@1s"] == b"[" + b",".join(
        [perp, quarter % current.encode(), quarter % following.encode()]
    ) + b"]"
    index = b'{"e":"indexPriceUpdate","E":1771263510000,"i":"BTCUSD","p":"9636.57860000"}'  # spec §4.12's value
    assert pushed["btcusd@indexPrice@1s"] == pushed["btcusd@indexPrice"] == index
    assert not any(name.startswith("!markPrice") for name in pushed), "COIN-M has no !markPrice@arr (§4.6)"


def test_the_internal_streams_carry_what_the_payloads_do_not() -> None:
    plant = Plant(Market.UM, _instruments(Market.UM, "BTCUSDT"), now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(_um_mark(), T0, out)
    plant.apply(FundingRate("BTCUSDT", 1_771_257_600_000, 12_345, 6_800_000_000_000), T0, out)
    state_name, funding_name = internal_names("BTCUSDT")
    assert [m.stream for m in out] == [state_name, funding_name] == ["btcusdt@markState", "btcusdt@fundingEvent"]
    state = msgspec.json.decode(out[0].payload, type=MarkState)
    assert state == MarkState("BTCUSDT", T0, "68005.80802899", "68035.14043478", "67836.82194783", "-0.00004435",
                              "0.00010000", 1_771_286_400_000)  # fmt: skip
    funding = msgspec.json.decode(out[1].payload, type=FundingEvent)
    assert funding == FundingEvent("BTCUSDT", 1_771_257_600_000, "0.00012345", "68000.00000000", T0)  # told now
    assert Counter(m.stream for _, m in _drive(plant, T0, T0 + 1_500))["btcusdt@markState"] == 0, (
        "the internal state is told per update, not on the cadence"
    )



def test_every_pushed_payload_reads_back_into_its_struct_and_writes_the_same_bytes() -> None:
    """The payload definitions of market/payloads/derived_events.py are the contract the plant writes to."""
    btc = [i for i in catalogue(Market.CM, T0) if i.pair == "BTCUSD"]
    plant = Plant(Market.CM, btc, now_ms=T0)
    for inst in btc:
        funding = (12, 10_000, 1_771_286_400_000) if inst.contract_type is ContractType.PERPETUAL else (None, None, 0)
        plant.apply(MarkPrice(inst.symbol, T0, 6_800_000_000_000, 6_799_000_000_000, 6_799_500_000_000, *funding), T0, [])
    plant.apply(IndexPrice("BTCUSD", T0, 963_657_860_000), T0, [])
    um = Plant(Market.UM, _instruments(Market.UM, "BTCUSDT"), now_ms=T0)
    um.apply(_um_mark(), T0, [])
    pushed = _drive(plant, T0, T0 + 3_000) + _drive(um, T0, T0 + 3_000)
    payloads = [m.payload for _, m in pushed]
    one = (
        derived_events.MarkPriceUpdate[str] | derived_events.IndexPriceUpdate[str]
        | derived_events.MarkPriceKline[str] | derived_events.IndexPriceKline[str] | derived_events.Kline[str]
        | derived_events.AssetIndexUpdate[str]
    )  # fmt: skip
    decoder = msgspec.json.Decoder(one | list[one])  # type: ignore[valid-type]
    # three seconds, the last a whole 3 s: COIN-M 3 symbols, the pair, the index; USDⓈ-M 1 + all
    marks = [m for _, m in pushed if "Kline_" not in m.stream and "@kline_" not in m.stream]
    assets = [m for m in marks if "assetIndex" in m.stream]  # USDⓈ-M's each second: 5 assets + the array
    assert len(assets) == 3 * (5 + 1)
    assert len(marks) - len(assets) == (3 + 1) * (3 + 1 + 1) + (3 + 1) * (1 + 1)
    # and COIN-M's price klines and BTCUSDT's premium index klines, once each (one sample,
    # pushed at the first 250 ms tick)
    assert len(payloads) - len(marks) == (3 + 1) * 15 + 15
    for payload in payloads:
        assert msgspec.json.encode(decoder.decode(payload)) == payload
