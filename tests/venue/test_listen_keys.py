"""Listen keys and the user data streams without sockets (trading part 4 §1, decision 10):
one key per account, POST idempotent and sliding, -1125 without a live key, expiry named
once, events under the bare key and the event's name, ``listenKeyExpired`` as documented."""

from __future__ import annotations

import itertools

import msgspec

from tickerplant.market.messages import StreamMessage
from tickerplant.protocol.user_streams import LISTEN_KEY, listen_key_item, names_from_query, withheld
from tickerplant.venue.userstream.listen_keys import VALIDITY_MS, ListenKeys, new_listen_key
from tickerplant.venue.userstream.user_streams import UserStreams

T0 = 1_767_225_600_000


def counting_keys() -> ListenKeys:
    numbers = itertools.count(1)
    return ListenKeys(lambda: f"{next(numbers):064d}")


def test_a_key_is_64_letters_and_digits_and_never_the_same() -> None:
    made = {new_listen_key() for _ in range(200)}
    assert len(made) == 200 and all(LISTEN_KEY.fullmatch(key) for key in made)


def test_start_returns_the_live_key_and_slides_it() -> None:
    keys = counting_keys()
    first = keys.start(1, T0)
    assert keys.start(1, T0 + 5 * 60_000) == first  # python-binance's POST every 5 minutes
    second = keys.start(2, T0)
    assert second != first  # one key per account
    assert keys.next_expiry_ms() == T0 + VALIDITY_MS  # account 2's
    assert keys.expire(T0 + VALIDITY_MS) == [second]
    assert keys.key_of(1, T0 + VALIDITY_MS) == first  # slid to T0 + 5 min + 60 min
    assert keys.account_of(first, T0 + 65 * 60_000 - 1) == 1
    assert keys.account_of(first, T0 + 65 * 60_000) is None  # not live, though not yet named
    assert keys.expire(T0 + 65 * 60_000) == [first]
    assert keys.expire(T0 + 999 * 60_000) == [] and len(keys) == 0


def test_keep_alive_needs_a_live_key_and_close_ends_it_at_once() -> None:
    keys = counting_keys()
    assert keys.keep_alive(1, T0) is None  # never started: -1125
    key = keys.start(1, T0)
    assert keys.keep_alive(1, T0 + 59 * 60_000) == key
    assert keys.key_of(1, T0 + 118 * 60_000) == key
    assert keys.close(1) == key
    assert keys.keep_alive(1, T0 + 1) is None and keys.account_of(key, T0 + 1) is None
    assert keys.expire(T0 + 999 * 60_000) == []  # closed: never named as expired
    assert keys.close(1) is None


def test_a_start_after_expiry_makes_a_new_key_and_the_old_one_is_still_named() -> None:
    keys = counting_keys()
    old = keys.start(1, T0)
    new = keys.start(1, T0 + VALIDITY_MS)
    assert new != old
    assert keys.expire(T0 + VALIDITY_MS) == [old]
    assert keys.key_of(1, T0 + VALIDITY_MS) == new  # the new one is untouched


def test_keep_alives_never_grow_the_deadlines_without_bound() -> None:
    keys = counting_keys()
    keys.start(1, T0)
    for minute in range(1, 10_000):
        keys.keep_alive(1, T0 + minute * 60_000)
    assert len(keys._deadlines) <= 4 * 1 + 64 + 1
    assert keys.next_expiry_ms() == T0 + 9_999 * 60_000 + VALIDITY_MS


def test_events_go_to_the_bare_key_and_the_event_and_expiry_is_announced_then_ended() -> None:
    delivered: list[StreamMessage] = []
    ended: list[str] = []
    streams = UserStreams(counting_keys(), delivered.extend, ended.append)
    assert not streams.push(1, "ACCOUNT_UPDATE", b"{}", T0)  # no key: nothing
    key = streams.keys.start(1, T0)
    assert streams.push(1, "ACCOUNT_UPDATE", b'{"e":"ACCOUNT_UPDATE"}', T0 + 1)
    assert delivered == [
        StreamMessage(key, b'{"e":"ACCOUNT_UPDATE"}'),
        StreamMessage(f"{key}@ACCOUNT_UPDATE", b'{"e":"ACCOUNT_UPDATE"}'),
    ]
    delivered.clear()
    assert streams.expire(T0 + VALIDITY_MS - 1) == [] and not delivered
    assert streams.expire(T0 + VALIDITY_MS) == [key]
    expired = b'{"e":"listenKeyExpired","E":%d,"listenKey":"%s"}' % (T0 + VALIDITY_MS, key.encode())
    # under the expiry's name alone, which every connection holding one of the key's names takes
    assert delivered == [StreamMessage(f"{key}@listenKeyExpired", expired)]
    assert msgspec.json.decode(expired)["E"] == T0 + VALIDITY_MS  # a number (part 4 §1.3)
    assert ended == [key]
    assert not streams.push(1, "ACCOUNT_UPDATE", b"{}", T0 + VALIDITY_MS)


def test_the_names_a_url_asks_for() -> None:
    k1, k2 = "a" * 64, "B" * 64
    assert names_from_query([("listenKey", k1)]) == [k1]
    assert names_from_query([("listenKey", k1), ("events", "ORDER_TRADE_UPDATE/ACCOUNT_UPDATE")]) == [
        f"{k1}@ACCOUNT_UPDATE", f"{k1}@ORDER_TRADE_UPDATE",
    ]  # fmt: skip  (sorted: part 4 §2.2)
    assert names_from_query(
        [("listenKey", k1), ("events", "ORDER_TRADE_UPDATE"), ("listenKey", k2), ("timeUnit", "MICROSECOND")]
    ) == [k2, f"{k1}@ORDER_TRADE_UPDATE"]
    assert names_from_query([("events", "ACCOUNT_UPDATE%2FMARGIN_CALL"), ("listenKey", k1)]) == [k1]
    assert names_from_query([("listenKey", k1), ("events", "ACCOUNT_UPDATE%2FMARGIN_CALL")]) == [
        f"{k1}@ACCOUNT_UPDATE", f"{k1}@MARGIN_CALL",
    ]  # fmt: skip
    assert listen_key_item(k1) == (k1, None)
    assert listen_key_item(f"{k1}@ALGO_ORDER_UPDATE") == (k1, "ALGO_ORDER_UPDATE")  # unknown: accepted, silent
    for other in ("btcusdt@aggTrade", "a" * 63, "a" * 65, f"{k1}@", "!bookTicker", "a" * 63 + "-"):
        assert listen_key_item(other) is None


def test_a_logged_stream_name_withholds_any_run_a_listen_key_may_be() -> None:
    """A key sent with a stray character names no stream and is logged: withheld there."""
    key = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
    assert withheld(f"{key}\n") == "<withheld>\n"
    assert withheld(f"{key}@") == "<withheld>@" and withheld(f"x{key}Z@depth") == "<withheld>@depth"
    assert withheld("btcusdt@depth@100ms") == "btcusdt@depth@100ms"  # a market stream's name, whole
    assert withheld(f"{key[:-1]}-@aggTrade") == "<withheld>-@aggTrade"  # most of a key is nearly one
    assert withheld("1000000mogusdt_perpetual@continuousKline_1m") == "1000000mogusdt_perpetual@continuousKline_1m"
