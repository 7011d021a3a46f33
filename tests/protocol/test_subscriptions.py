"""The live subscription protocol, frame in → reply out (spec §3), without sockets."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.protocol.errors import CLOSE_INVALID_JSON, CLOSE_INVALID_REQUEST
from tickerplant.protocol.subscription_budget import NAME_COST, SubscriptionBudget
from tickerplant.protocol.subscriptions import SessionState, SubscriptionSession


def session(*initial: str, combined: bool = False, max_streams: int = 1024) -> SubscriptionSession:
    return SubscriptionSession(initial, combined=combined, max_streams=max_streams)


# (request, expected reply) — the examples of spec §3.1 and the errors of §3.3
TABLE = [
    (
        b'{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}',
        b'{"result":null,"id":1}',
    ),
    (b'{"method":"UNSUBSCRIBE","params":["btcusdt@depth"],"id":312}', b'{"result":null,"id":312}'),
    (b'{"method":"LIST_SUBSCRIPTIONS","id":3}', b'{"result":["btcusdt@aggTrade"],"id":3}'),
    (b'{"method":"SET_PROPERTY","params":["combined",true],"id":5}', b'{"result":null,"id":5}'),
    (b'{"method":"GET_PROPERTY","params":["combined"],"id":2}', b'{"result":true,"id":2}'),
    (
        b'{"method":"GET_PROPERTY","params":["other"],"id":6}',
        b'{"error":{"code":0,"msg":"Unknown property"},"id":6}',
    ),
    (
        b'{"method":"SET_PROPERTY","params":["combined","yes"],"id":7}',
        b'{"error":{"code":1,"msg":"Invalid value type: expected Boolean"},"id":7}',
    ),
    (
        b'{"method":"SET_PROPERTY","params":[1,true],"id":8}',
        b'{"error":{"code":2,"msg":"Invalid request: property name must be a string"},"id":8}',
    ),
    (
        b'{"method":"GET_PROPERTY","params":["combined","x"],"id":9}',
        b'{"error":{"code":2,"msg":"Invalid request: too many parameters"},"id":9}',
    ),
    (
        b'{"method":"SUBSCRIBE","params":["a@b"],"id":-1}',
        b'{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},"id":null}',
    ),
    (
        b'{"method":"SUBSCRIBE","params":["a@b"]}',
        b'{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},"id":null}',
    ),
    (
        b'{"method":"SUBSCRIBE","params":["a@b"],"id":1.5}',
        b'{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},"id":null}',
    ),
    (
        b'{"method":"SUBSCRIBE","params":["a@b"],"id":true}',
        b'{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},"id":null}',
    ),
    (
        b'{"method":"SUBSCRIBEX","params":[],"id":4}',
        b'{"error":{"code":2,"msg":"Invalid request: unknown variant `SUBSCRIBEX`, expected one of '
        b"`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY` "
        b'at line 1 column 22"},"id":4}',
    ),
    (
        b'{"params":["btcusdt@depth"],"id":10}',
        b'{"error":{"code":2,"msg":"Invalid request: missing field `method` at line 1 column 36"},"id":10}',
    ),
]


def test_the_documented_conversation() -> None:
    s = session()
    for request, reply in TABLE:
        outcome = s.receive(request)
        assert outcome.reply == reply, request
        assert outcome.close is None
    assert s.state is SessionState.OPEN
    assert s.combined is True


@pytest.mark.parametrize("request_id", [0, 1, 1_700_000_000_000, 2**64 - 1, "7f0c1e2a-uuid", "1", ""])
def test_ids_are_echoed_with_their_json_type(request_id: int | str) -> None:
    frame = msgspec.json.encode({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": request_id})
    reply = msgspec.json.decode(session().receive(frame).reply or b"")
    assert reply == {"result": None, "id": request_id}
    assert type(reply["id"]) is type(request_id)


def test_id_over_64_bits_is_refused() -> None:
    reply = session().receive(b'{"method":"LIST_SUBSCRIPTIONS","id":18446744073709551616}').reply
    assert reply is not None and b'"code":2' in reply


def test_not_json_answers_code_3_and_closes() -> None:
    s = session()
    outcome = s.receive(b"hello")
    assert outcome.reply == b'{"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"},"id":null}'
    assert outcome.close == CLOSE_INVALID_JSON
    assert s.state is SessionState.CLOSED
    assert s.receive(b'{"method":"LIST_SUBSCRIPTIONS","id":1}').reply is None


def test_json_error_position_is_computed_from_the_input() -> None:
    reply = session().receive(b'{"method":"SUBSCRIBE",\n  "params": [x]}').reply
    assert reply is not None
    assert b"Invalid JSON: expected value at line 2 column 14" in reply


def test_every_well_formed_subscribe_is_acknowledged_and_stored_as_sent() -> None:
    s = session("0")  # ccxt's /public/ws/0
    names = ["BTCUSDT@aggTrade", "btcusdt@depth20@250ms", "nosuch@bookTicker", "币安人生usdt@aggTrade", "x"]
    assert s.receive(msgspec.json.encode({"method": "SUBSCRIBE", "params": names, "id": 1})).added == tuple(names)
    again = s.receive(msgspec.json.encode({"method": "SUBSCRIBE", "params": names[:2], "id": 2}))
    assert again.reply == b'{"result":null,"id":2}' and again.added == ()
    assert s.names == ["0", *names]
    gone = s.receive(b'{"method":"UNSUBSCRIBE","params":["never","x"],"id":3}')
    assert gone.reply == b'{"result":null,"id":3}' and gone.removed == ("x",)


def test_stream_1025_answers_code_4_and_closes_1008() -> None:
    s = session(*[f"s{i}@bookTicker" for i in range(1023)])
    ok = s.receive(b'{"method":"SUBSCRIBE","params":["a@bookTicker"],"id":1}')
    assert ok.reply == b'{"result":null,"id":1}'
    over = s.receive(b'{"method":"SUBSCRIBE","params":["b@bookTicker"],"id":2}')
    assert over.reply == b'{"error":{"code":4,"msg":"Too many subscriptions"},"id":2}'
    assert over.close == CLOSE_INVALID_REQUEST
    assert over.added == ()


def test_set_property_reports_a_change_of_framing() -> None:
    s = session(combined=True)
    assert not s.receive(b'{"method":"SET_PROPERTY","params":["combined",true],"id":1}').combined_changed
    assert s.receive(b'{"method":"SET_PROPERTY","params":["combined",false],"id":1}').combined_changed
    assert s.receive(b'{"method":"GET_PROPERTY","params":["combined"],"id":"x"}').reply == b'{"result":false,"id":"x"}'


def test_bad_params_keep_the_connection() -> None:
    s = session()
    outcome = s.receive(b'{"method":"SUBSCRIBE","params":"btcusdt@depth","id":1}')
    assert outcome.reply is not None and b'"code":2' in outcome.reply and outcome.close is None
    outcome = s.receive(b'[1,2]')
    assert outcome.reply is not None and b'"code":2' in outcome.reply and outcome.close is None


@given(st.binary(max_size=200))
def test_any_bytes_get_a_reply_and_never_raise(frame: bytes) -> None:
    s = session()
    outcome = s.receive(frame)
    assert outcome.reply is not None
    decoded = msgspec.json.decode(outcome.reply)
    assert "result" in decoded or decoded["error"]["code"] in (0, 1, 2, 3, 4)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8))
def test_any_json_gets_a_valid_reply(value: object) -> None:
    outcome = session().receive(msgspec.json.encode(value))
    assert outcome.reply is not None
    msgspec.json.decode(outcome.reply)


def test_a_connections_names_are_bounded_in_bytes_as_in_number() -> None:
    """§3.4 keeps names as sent and §2.5 bounds only their number: 128 bytes a stream
    (``subscription_budget.NAME_BYTES``) bounds what one connection's may take; past it,
    stream 1025's answer."""
    s = session(max_streams=4)  # 512 bytes
    assert s.receive(b'{"method":"SUBSCRIBE","params":["%s"],"id":1}' % (b"a" * 500)).close is None
    assert s.held_bytes == 500
    over = s.receive(b'{"method":"SUBSCRIBE","params":["%s"],"id":2}' % (b"b" * 13))
    assert over.reply == b'{"error":{"code":4,"msg":"Too many subscriptions"},"id":2}'
    assert over.close == CLOSE_INVALID_REQUEST and over.added == ()
    fits = session(max_streams=4)
    fits.receive(b'{"method":"SUBSCRIBE","params":["%s"],"id":1}' % (b"a" * 500))
    assert fits.receive(b'{"method":"SUBSCRIBE","params":["%s"],"id":2}' % (b"b" * 12)).close is None
    # counted in UTF-8, as a name of raw UTF-8 is kept (§3.4): 3 bytes a character here
    wide = session(max_streams=1)
    assert wide.receive('{"method":"SUBSCRIBE","params":["%s"],"id":1}' % ("币" * 43)).close is not None


def test_the_process_bound_is_shared_and_given_back() -> None:
    budget = SubscriptionBudget(2 * (NAME_COST + 20) + NAME_COST + 5)
    first = SubscriptionSession(["x" * 20], combined=False, budget=budget)
    first.charge()  # the connection open: its URL's names counted
    first.charge()  # once
    assert budget.held == NAME_COST + 20
    assert first.receive(b'{"method":"SUBSCRIBE","params":["%s"],"id":1}' % (b"y" * 20)).close is None
    second = SubscriptionSession((), combined=False, budget=budget)
    second.charge()
    refused = second.receive(b'{"method":"SUBSCRIBE","params":["%s"],"id":7}' % (b"z" * 6))
    assert refused.reply == b'{"error":{"code":4,"msg":"Too many subscriptions"},"id":7}'
    assert refused.close == CLOSE_INVALID_REQUEST and budget.refused == 1
    assert budget.held == 2 * (NAME_COST + 20)  # nothing taken for the refused
    third = SubscriptionSession((), combined=False, budget=budget)
    third.charge()
    assert third.receive(b'{"method":"SUBSCRIBE","params":["%s"],"id":1}' % (b"z" * 5)).close is None
    assert first.receive(b'{"method":"UNSUBSCRIBE","params":["%s","never"],"id":2}' % (b"y" * 20)).close is None
    assert budget.held == 2 * NAME_COST + 25
    first.release()  # closed: the rest given back, once
    first.release()
    third.release()
    assert budget.held == 0
