"""Replies held until the journal holds what they acknowledge (``venue/journal/group_commit.py``):
a private REST answer or a WebSocket API trading reply made while the loop iteration's
transaction is open is written once it is committed, in the order it was made."""

from __future__ import annotations

import functools
from collections.abc import Callable, Set

from tickerplant.gateway.picows_server import AwaitedRoute, Routed
from tickerplant.protocol.ws_api import AwaitedReply, PrivateMethods, WsApiReply, WsSession
from tickerplant.venue.journal.group_commit import GroupCommit

__all__ = ["DurableWs", "after_commit"]


def after_commit(durable: GroupCommit, routed: Routed) -> Routed | AwaitedRoute:
    """``routed``, or once committed when a transaction is open: at the end of this loop
    turn (the group commit's flush), so the front door need not stop reading meanwhile."""
    if not durable.pending:
        return routed
    return AwaitedRoute(functools.partial(_once_committed, durable, routed), this_turn=True)


def _once_committed(durable: GroupCommit, routed: Routed, reply: Callable[[Routed], None]) -> None:
    durable.after(functools.partial(reply, routed))


class DurableWs:
    """The WebSocket API's private methods (``protocol.ws_api.PrivateMethods``), each reply
    held while a transaction is open."""

    def __init__(self, methods: PrivateMethods, durable: GroupCommit) -> None:
        self.methods = methods
        self.durable = durable

    @property
    def names(self) -> Set[str]:
        return self.methods.names

    def answer(
        self, frame: bytes, session: WsSession | None, ip: str, now_ms: int, rate_limits_default: bool
    ) -> WsApiReply | AwaitedReply:
        reply = self.methods.answer(frame, session, ip, now_ms, rate_limits_default)
        durable = self.durable
        if isinstance(reply, AwaitedReply) or not durable.pending:
            return reply
        made = reply

        def then(send: Callable[[WsApiReply], None]) -> None:
            durable.after(lambda: send(made))

        return AwaitedReply(then)
