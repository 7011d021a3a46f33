"""The plant: book updates and trades in, encoded stream payloads out, on a manual clock."""

from __future__ import annotations

import msgspec
from plant_inputs import book, instrument

from tickerplant.market.instruments import Market
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.updates import Trade

T0 = 1_767_225_600_000


def test_um_book_ticker_bytes_in_the_live_key_order() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(book("BTCUSDT", 9924360161244, T0, [(6800500, 2394)], [(6800510, 857)]), T0 + 1, out)
    assert out == [
        StreamMessage(
            "btcusdt@bookTicker",
            b'{"e":"bookTicker","u":9924360161244,"s":"BTCUSDT","b":"68005.00","B":"2.394",'
            b'"a":"68005.10","A":"0.857","T":1767225600000,"E":1767225600001}',
        )
    ]


def test_cm_book_ticker_carries_ps_and_feeds_all_book_ticker_in_real_time() -> None:
    plant = Plant(Market.CM, [instrument(Market.CM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(book("BTCUSD_PERP", 17242169, T0, [(95481, 52)], [(95485, 11)]), T0 + 11, out)
    payload = (
        b'{"e":"bookTicker","u":17242169,"s":"BTCUSD_PERP","ps":"BTCUSD","b":"9548.1","B":"52",'
        b'"a":"9548.5","A":"11","T":1767225600000,"E":1767225600011}'
    )
    assert out == [StreamMessage("btcusd_perp@bookTicker", payload), StreamMessage("!bookTicker", payload)]


def test_book_ticker_only_on_a_change_of_the_top() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(book("BTCUSDT", 1, T0, [(100, 5), (90, 5)], [(110, 5)]), T0, out)
    plant.apply(book("BTCUSDT", 2, T0, [(90, 7)], []), T0, out)  # below the top: silent
    plant.apply(book("BTCUSDT", 3, T0, [(100, 6)], []), T0, out)  # best bid quantity
    plant.apply(book("BTCUSDT", 4, T0, [], [(105, 1)]), T0, out)  # best ask price
    assert [msgspec.json.decode(m.payload)["u"] for m in out] == [1, 3, 4]


def test_um_all_book_ticker_is_a_5s_batch_of_changed_symbols() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(book("BTCUSDT", 1, T0, [(100, 5)], [(110, 5)]), T0, out)
    plant.apply(book("BTCUSDT", 2, T0, [(100, 6)], []), T0, out)
    out.clear()
    plant.tick(T0 + 4999, out)
    assert not [m for m in out if m.stream == "!bookTicker"]
    plant.tick(T0 + 5000, out)
    batch = [m for m in out if m.stream == "!bookTicker"]
    assert len(batch) == 1 and msgspec.json.decode(batch[0].payload)["u"] == 2
    out.clear()
    plant.tick(T0 + 10_000, out)  # nothing changed since
    assert not [m for m in out if m.stream == "!bookTicker"]


def test_mini_ticker_is_a_true_rolling_24h_window() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    day = 86_400_000
    plant.warm([Trade("BTCUSDT", 1, T0 - day + 1000, 9_000_000, 1000, False)])  # 10.000 @ 90000.00
    plant.warm([Trade("BTCUSDT", 2, T0 - 1000, 9_100_000, 500, True)])
    out: list[StreamMessage] = []
    plant.apply(Trade("BTCUSDT", 3, T0 + 100, 8_900_000, 250, False), T0 + 100, out)
    assert [m.stream for m in out] == ["btcusdt@trade", "btcusdt@aggTrade"]
    assert out[0].payload == (
        b'{"e":"trade","E":1767225600100,"T":1767225600100,"s":"BTCUSDT","t":3,"p":"89000.00",'
        b'"q":"0.250","X":"MARKET","m":false}'
    )
    assert out[1].payload == (
        b'{"e":"aggTrade","E":1767225600100,"a":3,"s":"BTCUSDT","p":"89000.00","q":"0.250","nq":"0.250",'
        b'"f":3,"l":3,"T":1767225600100,"m":false}'
    )
    plant.tick(T0 + 2000, out)
    mini = [msgspec.json.decode(m.payload) for m in out if m.stream == "btcusdt@miniTicker"]
    assert [m["o"] for m in mini] == ["90000.00"]  # its minute, 24 h ago, still opens the window
    out.clear()
    plant.tick(T0 + 60_000, out)
    mini = [msgspec.json.decode(m.payload) for m in out if m.stream == "btcusdt@miniTicker"]
    assert mini == [{
        "e": "24hrMiniTicker", "E": T0 + 60_000, "s": "BTCUSDT", "c": "89000.00", "o": "91000.00",
        "h": "91000.00", "l": "89000.00", "v": "0.750", "q": "67750.00000",
    }]  # fmt: skip — the window opens on the minute 24 h ago (spec §4.3): the first trade's has passed


def test_all_mini_ticker_every_second_with_changed_symbols_only() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(Trade("BTCUSDT", 1, T0, 9_000_000, 1, False), T0, out)
    plant.tick(T0 + 1000, out)
    arrays = [msgspec.json.decode(m.payload) for m in out if m.stream == "!miniTicker@arr"]
    assert len(arrays) == 1 and arrays[0][0]["s"] == "BTCUSDT"
    out.clear()
    plant.tick(T0 + 2000, out)
    assert not [m for m in out if m.stream == "!miniTicker@arr"]


def test_cm_mini_ticker_volume_in_contracts_and_base_asset() -> None:
    plant = Plant(Market.CM, [instrument(Market.CM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(Trade("BTCUSD_PERP", 1, T0, 1_000_000, 3, False), T0, out)  # 3 contracts at 100000.0
    plant.tick(T0 + 500, out)
    mini = [msgspec.json.decode(m.payload) for m in out if m.stream == "btcusd_perp@miniTicker"]
    assert mini[0]["ps"] == "BTCUSD"
    assert (mini[0]["v"], mini[0]["q"]) == ("3", "0.00300000")  # 3 × 100 USD / 100000 = 0.003 BTC
    assert list(mini[0]) == ["e", "E", "s", "ps", "c", "o", "h", "l", "v", "q"]


def test_ticker_24h_fields() -> None:
    plant = Plant(Market.UM, [instrument(Market.UM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(Trade("BTCUSDT", 7, T0, 9_000_000, 1000, False), T0, out)  # 10 @ 90000.00
    plant.apply(Trade("BTCUSDT", 8, T0 + 1, 9_900_000, 1000, True), T0 + 1, out)  # 10 @ 99000.00
    out.clear()
    plant.tick(T0 + 2000, out)
    (ticker,) = [msgspec.json.decode(m.payload) for m in out if m.stream == "btcusdt@ticker"]
    assert ticker == {
        "e": "24hrTicker", "E": T0 + 2000, "s": "BTCUSDT", "p": "9000.00", "P": "10.000",
        "w": "94500.00", "c": "99000.00", "Q": "1.000", "o": "90000.00", "h": "99000.00",
        "l": "90000.00", "v": "2.000", "q": "189000.00000", "O": T0 + 2000 - 86_400_000 - 2000 % 60_000,
        "C": T0 + 2000, "F": 7, "L": 8, "n": 2,
    }  # fmt: skip
    arrays = [msgspec.json.decode(m.payload) for m in out if m.stream == "!ticker@arr"]
    assert arrays and arrays[0][0]["s"] == "BTCUSDT"


def test_internal_depth_diff_is_each_batch_in_integer_units_with_the_id_reserved_next() -> None:
    plant = Plant(Market.CM, [instrument(Market.CM)], now_ms=T0)
    out: list[StreamMessage] = []
    plant.apply(book("BTCUSD_PERP", 10, T0, [(95481, 52)], [(95485, 11)], next_id=14), T0, out)
    plant.apply(book("BTCUSD_PERP", 14, T0, [(95481, 50), (95480, 3)], [], next_id=20), T0, out)
    out.clear()
    plant.end_batch(T0 + 1, out)
    plant.apply(book("BTCUSD_PERP", 20, T0 + 5, [(95480, 0)], [], next_id=21), T0 + 5, out)
    plant.end_batch(T0 + 6, out)
    plant.end_batch(T0 + 7, out)  # nothing changed: nothing published
    diffs = [msgspec.json.decode(m.payload) for m in out if m.stream == "btcusd_perp@depthDiff"]
    # n: the id the source reserved for the next update, what the views' snapshots report (§4.9)
    assert diffs == [
        {"T": T0, "u": 14, "b": [[95481, 50], [95480, 3]], "a": [[95485, 11]], "n": 20},
        {"T": T0 + 5, "u": 20, "b": [[95480, 0]], "a": [], "n": 21},
    ]  # fmt: skip


def test_next_tick_is_never_the_real_time_all_book_ticker_even_days_later() -> None:
    from tickerplant.market.instruments import Market, catalogue
    from tickerplant.market.plant.plant import Plant

    now = 1_767_225_600_000
    plant = Plant(Market.CM, catalogue(Market.CM, now), now_ms=now)
    later = now + 3 * 86_400_000
    ticks = 0
    while plant.next_tick_ms <= later:  # a replay's clock loop must end
        plant.tick(plant.next_tick_ms if later - plant.next_tick_ms < 10_000 else later, [])
        ticks += 1
    assert ticks < 100
