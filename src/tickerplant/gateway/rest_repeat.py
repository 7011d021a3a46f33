"""A REST market-data GET as the listener answers it, and again when a poller repeats it.

Most REST traffic is polling: a client on a kept-alive connection sends the same request,
byte for byte, again and again (a ticker every second, a depth snapshot for a local book,
`premiumIndex` before each order). Each time, its head was parsed, its path routed through
the listener's tables, its query looked up, and its answer wrapped in picows' response
object before its bytes were written: about two thirds of what a `ticker/price` request
cost the process, the answer itself the smallest part.

A ``RestCall`` is what routing a market-data GET comes to: the ``RestApi.question`` (route,
parameters, weight), the request's traffic label and where it is counted. The listener
answers the request through it (``routed``), and hands it on with the answer
(``PartsResponse.again``). The front door keeps it with the request's bytes, and when the
same connection's next read is those bytes again, and nothing else is pending, it answers
with ``again`` instead of parsing and routing them (``front_door.FrontDoor``).

Nothing is answered from a cache that routing would answer otherwise: the weight is charged
to the IP and the answer made now, as for the first request (``RestApi.ask``: the same
steps, in part 1 §10's order), and a refusal (429, 418) or an answer made in pieces comes
out as it would. What is skipped is a function of the request's bytes only: the head's
parse and checks (``picows_server.checked_head`` keeps the same for any unsigned GET), the
path's routing, the query's parse, the weight's rule.

What a connection keeps for it is bounded and small: only a plain poll (a GET without a
body, a signature or an API key, ``picows_server.is_plain_poll``: a body is read as a body,
never skipped, and a key is checked each time, ``Listener.route``'s ``keyed`` paths) with a
head of at most ``REPEATED_HEAD_BYTES`` and a short query (its parameters the
shared table's, ``RestQuestion.short``), answered 200: a client refused or banned keeps
nothing. A ``Date`` is the second the request began in.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from msgspec import Raw
from picows import WSUpgradeRequest

from tickerplant.clock import Clock
from tickerplant.gateway.http_head import END, http_date
from tickerplant.gateway.picows_server import (
    Head,
    LaterRoute,
    PartsResponse,
    Repeatable,
    Routed,
    is_plain_poll,
)
from tickerplant.gateway.responses import JOINED_BELOW, OK_KEPT_ALIVE, rest_parts, rest_response
from tickerplant.gateway.traffic import RequestTally, Traffic
from tickerplant.market.history.farming import asked
from tickerplant.protocol.errors import RequestRefused
from tickerplant.protocol.request_weight import client_key
from tickerplant.protocol.rest import RestAnswer, RestApi, RestLater, RestQuestion, answered

__all__ = ["REPEATED_HEAD_BYTES", "Repeat", "RestCall", "kept_to_repeat"]

# The longest head a connection keeps to answer again: a poll's is ~100 bytes; what an idle
# connection holds for it stays small, however long a head its client sends.
REPEATED_HEAD_BYTES = 1024
Repeat = tuple[bytes, Repeatable, WSUpgradeRequest]  # the request's bytes, what answers it, it

_encode = msgspec.json.encode


def kept_to_repeat(routed: object, head: bytes, checked: Head) -> Repeat | None:
    """What a kept-alive connection keeps of a request whose ``routed`` answer was written,
    to answer it again when its bytes come again alone; None unless the answer offers it
    (``RestCall.routed``) and the request is a short plain poll (the module's docstring)."""
    response = getattr(routed, "response", None)
    again = response.again if type(response) is PartsResponse else None
    if again is None or len(head) > REPEATED_HEAD_BYTES or not is_plain_poll(head, checked):
        return None
    return head + END, again, checked.request


class RestCall:
    """One market-data GET, answered by ``routed`` the first time and by ``again`` after."""

    __slots__ = (
        "_answer_at", "_body", "_charge", "_clock", "_duplicate", "_label", "_now_ns", "_ok", "_question",
        "_raw", "_rest", "_traffic", "_weight",
    )  # fmt: skip

    def __init__(
        self, rest: RestApi, question: RestQuestion, label: str, traffic: Traffic, clock: Clock
    ) -> None:
        self._rest = rest
        self._question = question
        self._label = label  # the path when it is an endpoint: a client's text never is
        self._traffic = traffic
        self._clock = clock
        self._ok: RequestTally = traffic.tally("rest", label, 200)  # where its 200s are counted
        # what ``again`` reads each time, read once
        self._charge = rest.weight.charge
        self._weight, self._duplicate = question.weight, question.duplicate
        self._answer_at = question.answer_at
        self._now_ns = clock.now_ns
        self._raw: Raw | None = None  # the last answer that was a Raw row, and its bytes
        self._body = b""

    def routed(
        self, ip: str, now_ms: int, started_ns: int, check: Callable[[], None] | None
    ) -> Routed | LaterRoute:
        """The answer to ``ip`` as the listener's router gives it. ``check``: a keyed path's
        API-key check (``RestApi.ask``); a call with one is never asked ``again``."""
        begun = self._rest.ask(self._question, ip, now_ms, check)
        if isinstance(begun, RestLater):
            return self._later(begun, started_ns, ip)
        self._traffic.request("rest", self._label, begun.status, self._clock.now_ns() - started_ns)
        # asked again only as it was answered now, and only if what a connection keeps for
        # it is small: no key to check, a 200 (a refused client keeps nothing), a short query
        again = check is None and begun.status == 200 and self._question.short
        return rest_response(begun, self if again else None)

    def again(self, ip: str, started_ns: int) -> bytes | tuple[bytes, ...] | LaterRoute:
        """The same request from ``ip``, begun at ``started_ns`` (the clock's), answered on
        its kept-alive connection: the bytes ``routed``'s answer is written as, whole or
        in parts (``responses.rest_parts``), or, for an answer made in pieces, the route to make it,
        as the router gives it. ``RestApi.ask``'s steps, with its common case (the weight
        charged, an answer encoded once, a small body) written out here: a call is a tenth
        of what a repeat costs."""
        now_ms = started_ns // 1_000_000
        verdict = self._charge(ip, self._weight, now_ms)
        begun: RestAnswer | RestLater
        if verdict.status != 200 or self._duplicate:
            begun = self._rest.charged(self._question, verdict, ip, now_ms)
        else:
            try:
                result = asked(client_key(ip), self._answer_at, now_ms)  # ``RestApi.charged``'s
            except RequestRefused:  # asked once more by ``charged``, which makes the refusal
                begun = self._rest.charged(self._question, verdict, ip, now_ms)
            else:
                if result is self._raw:  # the row encoded once (ticker.price's, per trade)
                    body = self._body
                elif type(result) is Raw:
                    self._raw, body = result, _encode(result)
                    self._body = body
                else:
                    body = b""
                if 0 < len(body) < JOINED_BELOW:
                    used = verdict.used  # ``answered``'s and ``rest_parts``' first case
                    self._ok.observe(self._now_ns() - started_ns)
                    return OK_KEPT_ALIVE % (used, used, b"", http_date(now_ms), len(body)) + body
                begun = answered(result, verdict.used)
        if isinstance(begun, RestLater):
            return self._later(begun, started_ns, ip)
        status = begun.status
        tally = self._ok if status == 200 else self._traffic.tally("rest", self._label, status)
        tally.observe(self._now_ns() - started_ns)
        return rest_parts(begun, True, http_date(now_ms))

    def _later(self, later: RestLater, started_ns: int, ip: str) -> LaterRoute:
        """An answer made in pieces, counted once made, with the time since it began (the
        turns it waited included: what its client waited); ``ip``'s (``LaterRoute.asker``)."""

        def done() -> Routed:
            answer = later.answer
            assert answer is not None
            self._traffic.request("rest", self._label, answer.status, self._clock.now_ns() - started_ns)
            return rest_response(answer)

        return LaterRoute(later.step, done, lambda: later.waiting, ip)
