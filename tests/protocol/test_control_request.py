"""Any JSON frame is read as serde's derived ``Request`` reads it or refused with a text
(spec §3.3); none escapes as an exception, whatever its shape or its duplicate keys."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tickerplant.protocol.control_request import Complaint, complaint
from tickerplant.protocol.json_errors import parse_json
from tickerplant.protocol.subscriptions import SubscriptionSession

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3))
names = st.sampled_from(["method", "params", "id", "x", "met\\u0068od"])
methods = st.sampled_from(['"SUBSCRIBE"', '"LIST_SUBSCRIPTIONS"', '"NOPE"', "{}", '{"SUBSCRIBE":null}', "null", "[]"])


@given(st.lists(st.tuples(names, values | methods.map(json.loads)), max_size=5), st.sampled_from([",", " , ", ",\n"]))
def test_any_object_is_read_or_refused(members: list[tuple[str, object]], comma: str) -> None:
    frame = ("{" + comma.join(f'"{name}" :{json.dumps(value)}' for name, value in members) + "}").encode()
    found = complaint(frame, parse_json(frame))
    assert found is None or (isinstance(found, Complaint) and " at line " in found.what)
    SubscriptionSession(combined=False).receive(frame)


@given(values)
def test_any_value_is_read_or_refused(value: object) -> None:
    frame = json.dumps(value).encode()
    found = complaint(frame, parse_json(frame))
    assert found is None or " at line " in found.what


def test_an_object_over_64_kib_is_judged_alike_and_said_at_its_end() -> None:
    padding = b'"x":"' + b"y" * 70_000 + b'",'
    for body, what in (
        (b'"method":"SUBSCRIBE","id":1,"id":2', "duplicate field `id`"),
        (b'"method":"SUBSCRIBE","params":"x","id":1', 'invalid type: string "x", expected a sequence'),
        (b'"method":"SUBSCRIBE","params":-1.5e3,"id":1', "invalid type: floating point `-1500`, expected a sequence"),
        (b'"method":{"SUBSCRIBEX":null},"id":1', "unknown variant `SUBSCRIBEX`, expected one of `SUBSCRIBE`, "
         "`UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"),
        (b'"method":null,"id":1', "expected value"),
        (b'"id":1', "missing field `method`"),
    ):  # fmt: skip
        frame = b"{" + padding + body + b"}"
        found = complaint(frame, parse_json(frame))
        assert found is not None and found.what == f"{what} at line 1 column {len(frame)}", body
    frame = b"{" + padding + b'"method":"SUBSCRIBE","params":["id"],"id":1}'
    assert complaint(frame, parse_json(frame)) is None
