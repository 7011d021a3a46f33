"""A market's private endpoints over its engine, as one process' listener and the plant
under ``--workers`` both serve them: the REST surface (``venue/wire/rest.py``) with its
``countdownCancelAll`` timers, the WebSocket API's trading methods over it
(``venue/wire/ws_trading.py``), and the drain that hands what a command or a timer did to the
user data stream (``user_data.py``), after the journal's commit when there is one
(``venue/journal/group_commit.py``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

from tickerplant.clock import Clock
from tickerplant.gateway.countdowns import CountdownTimer
from tickerplant.gateway.user_data import UserData
from tickerplant.market.instruments import Market
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.journal.group_commit import GroupCommit
from tickerplant.venue.wire.rest import Accounts, PrivateRest
from tickerplant.venue.wire.ws_trading import WsTrading

__all__ = ["EngineSurface", "engine_surface"]


class EngineSurface(NamedTuple):
    rest: PrivateRest
    trading: WsTrading  # the same endpoints, drained alike
    drain: Callable[[int], object]  # the engine's events to the user data stream, at a time
    countdowns: CountdownTimer  # the rest's, which a start gives the journal's (``keep``)


def engine_surface(
    market: Market, accounts: Accounts, weight: RequestWeight, coins: Sequence[str], engine: Engine,
    user_data: UserData, clock: Clock, durable: GroupCommit | None, fill_fields: bool = False,
) -> EngineSurface:  # fmt: skip
    """``fill_fields``: ``ServerConfig.legacy_fill_fields`` (``PrivateRest``'s)."""
    drain: Callable[[int], object] = functools.partial(user_data.drain, engine, accounts)
    if durable is not None:
        drain = durable.later(drain)
    countdowns = CountdownTimer(clock, engine, drain)
    activity = user_data.activity  # refusals counted, by code
    rest = PrivateRest(market, accounts, weight, coins, engine, user_data, countdowns, activity, fill_fields)
    return EngineSurface(rest, WsTrading(rest, drain), drain, countdowns)
