"""What a replay serves its symbols as: digits sampled from recordings through the payloads'
one definition (market/payloads/events.py), and instruments widened to them."""

from __future__ import annotations

from tickerplant.feeds.replay.instruments import FinestDigits
from tickerplant.market.instruments import Market, catalogue
from tickerplant.recording.format import Recorded, RecordedLoss, RecordedSnapshot

NOW_MS = 1_767_225_600_000


def recorded(stream: str, data: bytes) -> Recorded:
    return Recorded(0, stream, data)


def test_a_recordings_digits_come_from_the_prices_and_quantities_its_payloads_write() -> None:
    items = iter([
        recorded("btcusdt@bookTicker", b'{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"89000.10","B":"1.2345",'
                 b'"a":"89000.20","A":"0.001","T":1,"E":1}'),
        RecordedLoss(1, ("btcusdt@bookTicker",)),
        recorded("btcusdt@trade", b'{"e":"trade","E":2,"T":2,"s":"BTCUSDT","t":7,"p":"89000.125","q":"0.010",'
                 b'"X":"MARKET","m":true}'),
        # the ticker's volumes are not at the step; its last quantity is
        recorded("!ticker@arr", b'[{"e":"24hrTicker","E":3,"s":"ETHUSDT","p":"1.0","P":"0.1","w":"3000.123456",'
                 b'"c":"3000.5","Q":"0.25","o":"2999.5","h":"3001.0","l":"2990.0","v":"12.345678","q":"3.14159",'
                 b'"O":0,"C":3,"F":1,"L":9,"n":9}]'),
        recorded("btcusdt@kline_1m", b'{"e":"kline","E":4,"s":"BTCUSDT","k":{}}'),  # not typed: passed over
        recorded("btcusdt@trade", b"not json"),
    ])
    digits = FinestDigits()
    digits.add_recording(Market.UM, ["btcusdt@bookTicker", "btcusdt@trade", "!ticker@arr"], items)
    assert digits.digits == {"BTCUSDT": (3, 4), "ETHUSDT": (1, 2)}
    known = {i.symbol: i for i in catalogue(Market.UM, NOW_MS)}
    served = {i.symbol: i for i in digits.instruments(known)[Market.UM]}
    # the catalogue's digits, widened where the recording wrote finer ones
    assert served["BTCUSDT"].price_decimals == max(3, known["BTCUSDT"].price_decimals)
    assert served["BTCUSDT"].qty_decimals == max(4, known["BTCUSDT"].qty_decimals)


def test_depth_events_and_recorded_snapshots_widen_the_digits_too() -> None:
    items = iter([
        recorded("solusdt@depth@100ms", b'{"e":"depthUpdate","E":1,"T":1,"s":"SOLUSDT","U":1,"u":2,"pu":0,'
                 b'"b":[["150.125","1.5"]],"a":[["150.2","0.00"]]}'),
        RecordedSnapshot(1, "SOLUSDT", b'{"lastUpdateId":2,"bids":[["150.1","2.25"]],"asks":[["150.3","1.123"]]}'),
    ])
    digits = FinestDigits()
    digits.add_recording(Market.UM, ["solusdt@depth@100ms"], items)
    assert digits.digits == {"SOLUSDT": (3, 3)}
