# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""The fault profile's user data stream faults over a real socket, on a manual clock
(docs/faults.md): an event dropped is still in REST's answers; an event held comes later
with the account's later events behind it, in order; a listen key expires early with
``listenKeyExpired`` and a close; a connection is cut without a close frame."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
from binance import AsyncClient
from conftest import StartServer
from rawws import TEXT, RawWebSocket, close_code
from test_fault_clients import limit_below
from test_venue_clients import STILL, Key, Venue, closing, python_binance, venue  # noqa: F401
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock, SystemClock
from tickerplant.market.instruments import Market

CLOSE = 0x8


async def stream_of(plant: Tickerplant, client: AsyncClient) -> RawWebSocket:
    um = plant.listeners[Market.UM]
    assert um.streams is not None
    held = len(um.streams.connections)
    user = await RawWebSocket.connect(
        um.port, f"/private/ws?listenKey={await client.futures_stream_get_listen_key()}"
    )
    await eventually(lambda: um.streams is not None and len(um.streams.connections) == held + 1)
    return user


async def opcodes_to_the_end(user: RawWebSocket) -> list[int]:
    """The opcodes of every frame until the server hangs up."""
    seen = []
    async with asyncio.timeout(5 * SECONDS):
        while True:
            try:
                seen.append((await user.recv()).opcode)
            except asyncio.IncompleteReadError:
                return seen


async def test_user_data_stream_faults(start_server: StartServer, venue: Venue, closing: list[Any]) -> None:
    text = (
        f'[[fault]]\nkind = "event-drop"\nrate = 1\naccounts = [{venue.bob}]\nendpoints = ["ORDER_TRADE_UPDATE"]\n\n'
        f'[[fault]]\nkind = "event-delay"\nrate = 1\ndelay_ms = 20000\naccounts = [{venue.alice}]\n'
        f'endpoints = ["ORDER_TRADE_UPDATE"]\n\n'
        f'[[fault]]\nkind = "listen-key-expired"\nat = "+5m"\naccounts = [{venue.alice}]\n\n'
        f'[[fault]]\nkind = "stream-drop"\nat = "+8m"\naccounts = [{venue.bob}]\n'
    )
    clock = ManualClock(SystemClock().now_ms())
    plant = await start_server(
        clock=clock, simulator=STILL, venue_db=str(venue.path), faults={"profile_text": text}
    )
    alice = await python_binance(plant, closing, venue.alice_hmac)
    bob = await python_binance(plant, closing, venue.bob_hmac)
    for client in (alice, bob):
        client.timestamp_offset = clock.now_ms() - int(time.time() * 1000)
    alice_stream, bob_stream = await stream_of(plant, alice), await stream_of(plant, bob)
    quantity, price = limit_below(plant, "LINKUSDT")
    order = {"symbol": "LINKUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}

    # bob's ORDER_TRADE_UPDATE is dropped: his next event is the leverage's; REST has the order
    placed = await bob.futures_create_order(**order, quantity=quantity, price=price)
    await bob.futures_change_leverage(symbol="BTCUSDT", leverage=7)
    first = msgspec.json.decode((await bob_stream.recv_until(TEXT)).payload)
    assert first["e"] == "ACCOUNT_CONFIG_UPDATE"
    assert [row["orderId"] for row in await bob.futures_get_open_orders(symbol="LINKUSDT")] == [
        placed["orderId"]
    ]

    # alice's is held 20 s, and her leverage's event behind it: both come, in order, 20 s on
    users = plant.listeners[Market.UM].user_data.streams
    pushed = users.pushed
    await alice.futures_create_order(**order, quantity=quantity, price=price)
    await alice.futures_change_leverage(symbol="BTCUSDT", leverage=9)
    assert users.pushed == pushed  # nothing went out
    clock.advance(20_000)
    events = [msgspec.json.decode((await alice_stream.recv_until(TEXT)).payload)["e"] for _ in range(2)]
    assert events == ["ORDER_TRADE_UPDATE", "ACCOUNT_CONFIG_UPDATE"]

    # five minutes in, alice's key expires early: listenKeyExpired, then a close
    clock.advance(280_000)
    expired = msgspec.json.decode((await alice_stream.recv_until(TEXT)).payload)
    assert expired["e"] == "listenKeyExpired"
    assert close_code(await alice_stream.recv_until(CLOSE)) == (1000, "listenKey expired")
    # eight minutes in (before the unanswered pings' 10 minutes), bob's connection is cut: no
    # close frame, pings only, then the end
    clock.advance(180_000)
    assert CLOSE not in await opcodes_to_the_end(bob_stream)
    faults = plant.listeners[Market.UM].faults
    assert faults is not None
    counts = {kind.value: n for kind, n in faults.decider.record.counts.items()}
    assert counts == {"event-drop": 1, "event-delay": 1, "listen-key-expired": 1, "stream-drop": 1}
    coin_m = plant.listeners[Market.CM].faults  # neither holds a COIN-M listen key: nothing hit there
    assert coin_m is not None and not coin_m.decider.record.counts, coin_m.decider.record.counts
