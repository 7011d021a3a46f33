"""Golden decoding of the spec's example and captured frames (§3, §4), raw and combined."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from tickerplant.client.events import (
    AggTrade,
    BookTicker,
    Decoded,
    DepthUpdate,
    MarketEvent,
    MiniTicker,
    Payload,
    Reply,
    StreamDecoder,
    Ticker,
    Trade,
    UnknownEvent,
    stream_of,
)
from tickerplant.market.instruments import Market
from tickerplant.market.payloads.events import encoder

D = Decimal
decoder = StreamDecoder()

# ---- the frames, verbatim from the spec ---------------------------------------------------

BOOK_TICKER_UM_DOC = b'{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}'
BOOK_TICKER_UM_2026_02 = b'{"e":"bookTicker","u":9924360161244,"s":"BTCUSDT","b":"68005.00","B":"2.394","a":"68005.10","A":"0.857","T":1771263510337,"E":1771263510337}'
BOOK_TICKER_CM = b'{"e":"bookTicker","u":17242169,"s":"BTCUSD_200626","ps":"BTCUSD","b":"9548.1","B":"52","a":"9548.5","A":"11","T":1591268628155,"E":1591268628166}'
BOOK_TICKER_UM_MERGED = b'{"e":"bookTicker","u":11757092630476,"s":"BTCUSDT","ps":"BTCUSDT","b":"83091.60","B":"4.215","a":"83091.70","A":"3.763","T":1791382994657,"E":1791382994658,"st":1}'
MINI_TICKER_UM = b'{"e":"24hrMiniTicker","E":123456789,"s":"BNBUSDT","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18"}'
MINI_TICKER_CM = b'{"e":"24hrMiniTicker","E":123456789,"s":"BTCUSD_PERP","ps":"BTCUSD","c":"9548.1","o":"9500.0","h":"9600.0","l":"9400.0","v":"100000","q":"1052.41","st":2}'
TICKER_UM = b'{"e":"24hrTicker","E":123456789,"s":"BTCUSDT","p":"0.0015","P":"250.00","w":"0.0018","c":"0.0025","Q":"10","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}'
TICKER_CM = b'{"e":"24hrTicker","E":1791382992000,"s":"BTCUSD_PERP","ps":"BTCUSD","p":"-30.5","P":"-0.037","w":"83050.12","c":"83091.6","Q":"3","o":"83122.1","h":"83500.0","l":"82500.0","v":"5200000","q":"6261.43","O":1791296580000,"C":1791382991999,"F":100,"L":200,"n":99,"st":2}'
AGG_TRADE_UM = b'{"e":"aggTrade","E":1771263510195,"a":3141966230,"s":"BTCUSDT","p":"68005.00","q":"2.695","nq":"2.695","f":7297376181,"l":7297376207,"T":1771263510041,"m":true}'
AGG_TRADE_CM = b'{"e":"aggTrade","E":1591261134288,"a":424951,"s":"BTCUSD_200626","p":"9643.5","q":"2","f":606073,"l":606073,"T":1591261134199,"m":false,"st":2}'
TRADE_UM = b'{"e":"trade","E":1771263510064,"T":1771263510064,"s":"BTCUSDT","t":7297376207,"p":"68005.00","q":"0.100","X":"MARKET","m":true}'
DEPTH5_UM = b'{"e":"depthUpdate","E":1771263510140,"T":1771263510139,"s":"BTCUSDT","U":9924360134447,"u":9924360146998,"pu":9924360134267,"b":[["68005.00","2.214"],["68004.90","0.042"]],"a":[["68005.10","0.838"],["68005.20","0.218"]]}'
DEPTH_DIFF_DOC = b'{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}'
DEPTH_DIFF_CM = b'{"e":"depthUpdate","E":1591270260907,"T":1591270260891,"s":"BTCUSD_200626","ps":"BTCUSD","U":17285681,"u":17285702,"pu":17285675,"b":[["9517.6","10"]],"a":[["9518.5","45"],["9518.8","0"]],"st":2}'
# spec §4.12: a stream the client does not type
CONTRACT_INFO = b'{"e":"contractInfo","E":1669356423908,"s":"IOTAUSDT","ps":"IOTAUSDT","ct":"PERPETUAL","dt":4133404800000,"ot":1569398400000,"cs":"TRADING","bks":[]}'


def unpack(decoded: Decoded) -> tuple[str | None, Payload]:
    assert not isinstance(decoded, Reply), decoded
    return decoded


def combined(stream: str, data: bytes) -> bytes:
    return b'{"stream":"' + stream.encode() + b'","data":' + data + b"}"


# ---- golden events --------------------------------------------------------------------------

GOLDEN: list[tuple[bytes, MarketEvent]] = [
    (
        BOOK_TICKER_UM_DOC,
        BookTicker(
            update_id=400900217,
            symbol="BNBUSDT",
            bid_price=D("25.35190000"),
            bid_qty=D("31.21000000"),
            ask_price=D("25.36520000"),
            ask_qty=D("40.66000000"),
            transaction_time=1568014460891,
            event_time=1568014460893,
        ),
    ),
    (
        BOOK_TICKER_UM_2026_02,
        BookTicker(
            update_id=9924360161244,
            symbol="BTCUSDT",
            bid_price=D("68005.00"),
            bid_qty=D("2.394"),
            ask_price=D("68005.10"),
            ask_qty=D("0.857"),
            transaction_time=1771263510337,
            event_time=1771263510337,
        ),
    ),
    (
        BOOK_TICKER_CM,
        BookTicker(
            update_id=17242169,
            symbol="BTCUSD_200626",
            pair="BTCUSD",
            bid_price=D("9548.1"),
            bid_qty=D("52"),
            ask_price=D("9548.5"),
            ask_qty=D("11"),
            transaction_time=1591268628155,
            event_time=1591268628166,
        ),
    ),
    (
        BOOK_TICKER_UM_MERGED,
        BookTicker(
            update_id=11757092630476,
            symbol="BTCUSDT",
            pair="BTCUSDT",
            bid_price=D("83091.60"),
            bid_qty=D("4.215"),
            ask_price=D("83091.70"),
            ask_qty=D("3.763"),
            transaction_time=1791382994657,
            event_time=1791382994658,
        ),
    ),
    (
        MINI_TICKER_UM,
        MiniTicker(
            event_time=123456789,
            symbol="BNBUSDT",
            close=D("0.0025"),
            open=D("0.0010"),
            high=D("0.0025"),
            low=D("0.0010"),
            volume=D("10000"),
            quote_volume=D("18"),
        ),
    ),
    (
        MINI_TICKER_CM,
        MiniTicker(
            event_time=123456789,
            symbol="BTCUSD_PERP",
            pair="BTCUSD",
            close=D("9548.1"),
            open=D("9500.0"),
            high=D("9600.0"),
            low=D("9400.0"),
            volume=D("100000"),
            quote_volume=D("1052.41"),
        ),
    ),
    (
        TICKER_UM,
        Ticker(
            event_time=123456789,
            symbol="BTCUSDT",
            price_change=D("0.0015"),
            price_change_percent=D("250.00"),
            weighted_avg_price=D("0.0018"),
            close=D("0.0025"),
            last_qty=D("10"),
            open=D("0.0010"),
            high=D("0.0025"),
            low=D("0.0010"),
            volume=D("10000"),
            quote_volume=D("18"),
            open_time=0,
            close_time=86400000,
            first_trade_id=0,
            last_trade_id=18150,
            trade_count=18151,
        ),
    ),
    (
        TICKER_CM,
        Ticker(
            event_time=1791382992000,
            symbol="BTCUSD_PERP",
            pair="BTCUSD",
            price_change=D("-30.5"),
            price_change_percent=D("-0.037"),
            weighted_avg_price=D("83050.12"),
            close=D("83091.6"),
            last_qty=D("3"),
            open=D("83122.1"),
            high=D("83500.0"),
            low=D("82500.0"),
            volume=D("5200000"),
            quote_volume=D("6261.43"),
            open_time=1791296580000,
            close_time=1791382991999,
            first_trade_id=100,
            last_trade_id=200,
            trade_count=99,
        ),
    ),
    (
        AGG_TRADE_UM,
        AggTrade(
            event_time=1771263510195,
            agg_id=3141966230,
            symbol="BTCUSDT",
            price=D("68005.00"),
            qty=D("2.695"),
            normal_qty=D("2.695"),
            first_trade_id=7297376181,
            last_trade_id=7297376207,
            trade_time=1771263510041,
            buyer_is_maker=True,
        ),
    ),
    (
        AGG_TRADE_CM,
        AggTrade(
            event_time=1591261134288,
            agg_id=424951,
            symbol="BTCUSD_200626",
            price=D("9643.5"),
            qty=D("2"),
            first_trade_id=606073,
            last_trade_id=606073,
            trade_time=1591261134199,
            buyer_is_maker=False,
        ),
    ),
    (
        TRADE_UM,
        Trade(
            event_time=1771263510064,
            trade_time=1771263510064,
            symbol="BTCUSDT",
            trade_id=7297376207,
            price=D("68005.00"),
            qty=D("0.100"),
            trade_type="MARKET",
            buyer_is_maker=True,
        ),
    ),
    (
        DEPTH5_UM,
        DepthUpdate(
            event_time=1771263510140,
            transaction_time=1771263510139,
            symbol="BTCUSDT",
            first_update_id=9924360134447,
            final_update_id=9924360146998,
            previous_final_update_id=9924360134267,
            bids=[(D("68005.00"), D("2.214")), (D("68004.90"), D("0.042"))],
            asks=[(D("68005.10"), D("0.838")), (D("68005.20"), D("0.218"))],
        ),
    ),
    (
        DEPTH_DIFF_DOC,
        DepthUpdate(
            event_time=123456789,
            transaction_time=123456788,
            symbol="BTCUSDT",
            first_update_id=157,
            final_update_id=160,
            previous_final_update_id=149,
            bids=[(D("0.0024"), D("10"))],
            asks=[(D("0.0026"), D("100"))],
        ),
    ),
    (
        DEPTH_DIFF_CM,
        DepthUpdate(
            event_time=1591270260907,
            transaction_time=1591270260891,
            symbol="BTCUSD_200626",
            pair="BTCUSD",
            first_update_id=17285681,
            final_update_id=17285702,
            previous_final_update_id=17285675,
            bids=[(D("9517.6"), D("10"))],
            asks=[(D("9518.5"), D("45")), (D("9518.8"), D("0"))],
        ),
    ),
]
IDS = [f"{event.__class__.__name__}-{i}" for i, (_, event) in enumerate(GOLDEN)]


@pytest.mark.parametrize(("frame", "expected"), GOLDEN, ids=IDS)
def test_raw_frames_decode_to_golden_events(frame: bytes, expected: MarketEvent) -> None:
    assert decoder.decode_raw(frame) == expected
    assert decoder.decode(frame) == (None, expected)


@pytest.mark.parametrize(("frame", "expected"), GOLDEN, ids=IDS)
def test_combined_frames_decode_to_stream_and_golden_event(frame: bytes, expected: MarketEvent) -> None:
    stream = "btcusdt@depth5@100ms" if isinstance(expected, DepthUpdate) else stream_of(expected)
    assert stream is not None
    wrapped = combined(stream, frame)
    assert decoder.decode_combined(wrapped) == (stream, expected)
    assert decoder.decode(wrapped) == (stream, expected)


@pytest.mark.parametrize(("frame", "expected"), GOLDEN, ids=IDS)
def test_events_encode_back_to_binance_keys(frame: bytes, expected: MarketEvent) -> None:
    # Attribute names are readable; the wire keys stay Binance's, absent optionals stay absent.
    wire = msgspec.json.decode(frame)
    again = msgspec.json.decode(msgspec.json.encode(expected))
    assert set(again) == set(wire) - {"st"}
    assert again == {key: wire[key] for key in again}


def test_decimals_are_exact() -> None:
    event = decoder.decode_raw(BOOK_TICKER_UM_MERGED)
    assert isinstance(event, BookTicker)
    assert event.ask_price - event.bid_price == D("0.10")
    assert str(event.bid_price) == "83091.60"  # the tick precision survives


def test_array_streams_decode_to_lists_both_framings() -> None:
    # !ticker@arr on fstream carries the merged universe: a COIN-M row with st 2 among UM rows (§4.13).
    array = b"[" + TICKER_UM + b"," + TICKER_CM + b"]"
    expected = [GOLDEN[6][1], GOLDEN[7][1]]
    assert decoder.decode(array) == (None, expected)
    assert decoder.decode(combined("!ticker@arr", array)) == ("!ticker@arr", expected)
    minis = b"[" + MINI_TICKER_UM + b"," + MINI_TICKER_CM + b"]"
    assert decoder.decode(combined("!miniTicker@arr", minis)) == (
        "!miniTicker@arr",
        [GOLDEN[4][1], GOLDEN[5][1]],
    )
    assert decoder.decode(b"[]") == (None, [])


def test_tickerplants_own_frames_decode() -> None:
    # The plant's encoders, derived from the same structs for each market, against the decoder.
    um, cm = Market.UM, Market.CM
    frames = [
        encoder(BookTicker, um)(5, "BTCUSDT", "1.0", "2", "1.1", "3", 10, 11),
        encoder(BookTicker, cm)(5, "BTCUSD_PERP", "BTCUSD", "1.0", "2", "1.1", "3", 10, 11),
        encoder(MiniTicker, um)(11, "BTCUSDT", "1", "2", "3", "0.5", "10", "20"),
        encoder(MiniTicker, cm)(11, "BTCUSD_PERP", "BTCUSD", "1", "2", "3", "0.5", "10", "20"),
        encoder(Ticker, um)(11, "BTCUSDT", "0.1", "1", "1.5", "2", "3", "1.9", "2.1", "1.8", "100", "150", 1, 2, 3, 4, 2),
        encoder(Ticker, cm)(
            11, "BTCUSD_PERP", "BTCUSD", "0.1", "1", "1.5", "2", "3", "1.9", "2.1", "1.8", "100", "150", 1, 2, 3, 4, 2
        ),
        encoder(Trade, um)(11, 10, "BTCUSDT", 7, "1.5", "0.1", "MARKET", False),
        encoder(AggTrade, um)(11, 3, "BTCUSDT", "1.5", "0.1", "0.1", 7, 8, 10, True),
        encoder(AggTrade, cm)(11, 3, "BTCUSD_PERP", "1.5", "2", 7, 8, 10, True),
        encoder(DepthUpdate, um)(11, 10, "BTCUSDT", 6, 9, 5, [("1.0", "2")], [("1.1", "0")]),
        encoder(DepthUpdate, cm)(11, 10, "BTCUSD_PERP", "BTCUSD", 6, 9, 5, [], [("1.1", "0")]),
    ]
    for frame in frames:
        wire = msgspec.json.encode(frame)
        _, event = unpack(decoder.decode(wire))
        assert isinstance(event, (BookTicker, MiniTicker, Ticker, Trade, AggTrade, DepthUpdate)), wire
        assert msgspec.json.encode(event) == wire


def test_the_plants_encoders_write_each_markets_keys_in_the_live_order() -> None:
    frame = encoder(BookTicker, Market.UM)(1, "BTCUSDT", "1.0", "2", "1.1", "3", 10, 11)
    assert msgspec.json.encode(frame) == (
        b'{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1.0","B":"2","a":"1.1","A":"3","T":10,"E":11}'
    )
    frame = encoder(AggTrade, Market.CM)(11, 3, "BTCUSD_PERP", "1.5", "2", 7, 8, 10, True)
    assert msgspec.json.encode(frame) == (
        b'{"e":"aggTrade","E":11,"a":3,"s":"BTCUSD_PERP","p":"1.5","q":"2","f":7,"l":8,"T":10,"m":true}'
    )


# ---- replies and errors (§3.1, §3.3) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b'{"result":null,"id":1}', Reply(1, None)),
        (b'{"result":["btcusdt@aggTrade"],"id":3}', Reply(3, ["btcusdt@aggTrade"])),
        (b'{"result":true,"id":2}', Reply(2, True)),
        (
            b'{"result":null,"id":"7f0c1a2b-0000-4000-8000-000000000000"}',
            Reply("7f0c1a2b-0000-4000-8000-000000000000", None),
        ),
        (b'{"result":null,"id":1700000000000}', Reply(1700000000000, None)),
        (b'{"id":5,"result":null}', Reply(5, None)),
        (b'{"error":{"code":0,"msg":"Unknown property"},"id":5}', Reply(5, None, 0, "Unknown property")),
        (
            b'{"error":{"code":4,"msg":"Too many subscriptions"},"id":9}',
            Reply(9, None, 4, "Too many subscriptions"),
        ),
        (
            b'{"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"}}',
            Reply(None, None, 3, "Invalid JSON: expected value at line 1 column 1"),
        ),
        (
            b'{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},"id":null}',
            Reply(None, None, 2, "Invalid request: request ID must be an unsigned integer"),
        ),
    ],
)
def test_replies_and_errors(frame: bytes, expected: Reply) -> None:
    reply = decoder.decode(frame)
    assert reply == expected
    assert isinstance(reply, Reply)
    assert reply.ok is (expected.error_code is None)


# ---- unknown and unusual frames ---------------------------------------------------------------


def test_unknown_event_types_do_not_raise() -> None:
    expected = UnknownEvent(None, CONTRACT_INFO, "Invalid value 'contractInfo' - at `$.e`")
    assert decoder.decode(CONTRACT_INFO) == (None, expected)
    stream, unknown = unpack(decoder.decode(combined("!contractInfo", CONTRACT_INFO)))
    assert stream == "!contractInfo"
    assert isinstance(unknown, UnknownEvent)
    assert (unknown.stream, unknown.raw) == ("!contractInfo", CONTRACT_INFO)
    array = b"[" + CONTRACT_INFO + b"," + CONTRACT_INFO + b"]"
    _, unknown = unpack(decoder.decode(combined("!contractInfo@arr", array)))
    assert isinstance(unknown, UnknownEvent)
    assert unknown.raw == array
    assert stream_of(unknown) == "!contractInfo@arr"


def test_a_known_type_that_does_not_match_its_shape_is_unknown_not_fatal() -> None:
    frame = b'{"e":"bookTicker","u":1,"s":"BTCUSDT"}'
    _, unknown = unpack(decoder.decode(frame))
    assert isinstance(unknown, UnknownEvent)
    assert "missing required field" in unknown.reason


def test_spot_style_shutdown_notice_is_unknown() -> None:
    # §2.6: futures documents none; spot wraps it either way. Neither may break a client.
    wrapped = b'{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}'
    assert unpack(decoder.decode(wrapped))[0] == "!serverShutdown"
    frame = b'{"event":{"e":"serverShutdown","E":1}}'
    assert decoder.decode(frame) == (None, UnknownEvent(None, frame, "not a stream event or a reply"))


def test_frames_in_unusual_shape_take_the_slow_path() -> None:
    # Whitespace and other key orders are valid JSON; the leading-bytes shortcut must not matter.
    assert decoder.decode(b' {"e": "trade"' + TRADE_UM[12:]) == (None, GOLDEN[10][1])
    assert decoder.decode(b'{"data":' + TRADE_UM + b',"stream":"btcusdt@trade"}') == (
        "btcusdt@trade",
        GOLDEN[10][1],
    )
    assert decoder.decode(b'{"s":"BTCUSDT",' + TRADE_UM[1:]) == (None, GOLDEN[10][1])
    assert decoder.decode(b"\n[" + MINI_TICKER_UM + b"]") == (None, [GOLDEN[4][1]])
    assert decoder.decode(b'{ "result": null, "id": 1 }') == Reply(1, None)
    _, unknown = unpack(decoder.decode(b'"just a string"'))
    assert isinstance(unknown, UnknownEvent)


def test_memoryview_payloads_decode_without_a_copy_first() -> None:
    assert decoder.decode(memoryview(BOOK_TICKER_CM)) == (None, GOLDEN[2][1])
    assert unpack(decoder.decode(memoryview(combined("!contractInfo", CONTRACT_INFO))))[0] == "!contractInfo"
    assert decoder.decode(bytearray(b'{"result":null,"id":1}')) == Reply(1, None)


def test_not_json_raises_decode_error() -> None:
    with pytest.raises(msgspec.DecodeError):
        decoder.decode(b"not json")
    with pytest.raises(msgspec.DecodeError):
        decoder.decode(b'{"e":"bookTicker",')


def test_decode_combined_refuses_a_raw_frame() -> None:
    with pytest.raises(msgspec.ValidationError):
        decoder.decode_combined(TRADE_UM)


# ---- stream names for raw frames (§3.5) -------------------------------------------------------


def test_stream_of_names_the_single_symbol_stream() -> None:
    names = [stream_of(event) for _, event in GOLDEN]
    assert names == [
        "bnbusdt@bookTicker",
        "btcusdt@bookTicker",
        "btcusd_200626@bookTicker",
        "btcusdt@bookTicker",
        "bnbusdt@miniTicker",
        "btcusd_perp@miniTicker",
        "btcusdt@ticker",
        "btcusd_perp@ticker",
        "btcusdt@aggTrade",
        "btcusd_200626@aggTrade",
        "btcusdt@trade",
        None,  # depth: the speed suffix is not in the payload
        None,
        None,
    ]
    assert stream_of(UnknownEvent(None, CONTRACT_INFO)) is None
