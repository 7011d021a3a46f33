"""The orders benchmark's clients (``scenario.py``): venue accounts with an HMAC key each,
and orders with their cancels signed as they go (HMAC-SHA256 over the query, part 1 §4.2)
over kept-alive REST connections or the WebSocket API, paced at a steady rate
(``steady``, ``ws_steady``) or each connection's next as soon as the last is answered
(``flat_out``). The same clients load the venue and the reference servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.domain.money import parse_amount

from ..harness.processes import HOST
from .streams import ApiConnection, ws_order_params

SECRET = "S" * 64
_END = b"\r\n\r\n"


def make_accounts(path: Path, count: int) -> list[str]:
    store = AccountStore(path)
    keys = []
    for i in range(count):
        account = store.create_account(f"bench{i}", [(Market.UM, "USDT", parse_amount("1000000"))], 1)
        keys.append(store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=1).api_key)
    store.close()
    return keys


def signed_request(method: str, path: str, query: str, key: str) -> bytes:
    query = f"{query}&timestamp={int(time.time() * 1000)}"
    query = f"{query}&signature={hmac_hex(SECRET, query.encode())}"
    return (f"{method} {path}?{query} HTTP/1.1\r\nHost: {HOST}\r\nX-MBX-APIKEY: {key}\r\n"
            f"Content-Length: 0\r\n\r\n").encode()  # fmt: skip


class Conn(asyncio.Protocol):
    """One kept-alive connection: a request, then its whole answer, then the next."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[bytes] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(_END)
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"content-length:")
        stop = head.find(b"\r\n", at)
        length = int(head[at + 15 : stop if stop > 0 else None]) if at >= 0 else 0
        if len(self.buffer) >= end + 4 + length:
            answer = bytes(self.buffer[: end + 4 + length])
            del self.buffer[: end + 4 + length]
            waiter, self.waiter = self.waiter, None
            waiter.set_result(answer)

    async def ask(self, request: bytes) -> bytes:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


async def connect(port: int, count: int) -> list[Conn]:
    loop = asyncio.get_running_loop()
    return [(await loop.create_connection(Conn, HOST, port))[1] for _ in range(count)]


def cancel_request(n: int, key: str, tag: str = "b") -> bytes:
    return signed_request("DELETE", "/fapi/v1/order", f"symbol=BTCUSDT&origClientOrderId={tag}{n}", key)


def order_query(price: str, n: int, tag: str = "b") -> str:
    head = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001"
    return f"{head}&price={price}&newClientOrderId={tag}{n}"


async def steady(
    port: int, keys: list[str], price: str, rate: float, seconds: float, sent_at: dict[str, float],
    tag: str = "b",
) -> list[float]:  # fmt: skip
    conns = await connect(port, 20)
    latencies: list[float] = []

    async def one(conn: Conn, n: int) -> None:
        key = keys[n % len(keys)]
        t0 = sent_at[f"{tag}{n}"] = time.perf_counter()
        answer = await conn.ask(signed_request("POST", "/fapi/v1/order", order_query(price, n, tag), key))
        latencies.append(time.perf_counter() - t0)
        if b" 200 " in answer[:16]:
            await conn.ask(cancel_request(n, key, tag))

    await paced(conns, one, rate, seconds)
    return latencies


async def ws_steady(
    port: int, keys: list[str], price: str, rate: float, seconds: float, sent_at: dict[str, float],
    tag: str = "w",
) -> list[float]:  # fmt: skip
    """The steady part over the WebSocket API: ``order.place``, then its ``order.cancel``."""
    conns = await ApiConnection.connect(port, 20)
    latencies: list[float] = []

    async def one(conn: ApiConnection, n: int) -> None:
        key = keys[n % len(keys)]
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                 "quantity": "0.001", "price": price, "newClientOrderId": f"{tag}{n}"}  # fmt: skip
        params = ws_order_params(key, SECRET, order)
        t0 = sent_at[f"{tag}{n}"] = time.perf_counter()
        answer = await conn.ask("order.place", params)
        latencies.append(time.perf_counter() - t0)
        if b'"status":200' in answer:
            cancel = {"symbol": "BTCUSDT", "origClientOrderId": f"{tag}{n}"}
            await conn.ask("order.cancel", ws_order_params(key, SECRET, cancel))

    await paced(conns, one, rate, seconds)
    return latencies


async def paced(
    conns: list[Any], one: Callable[[Any, int], Awaitable[None]], rate: float, seconds: float
) -> None:
    """``one`` at ``rate`` a second for ``seconds``, on the connection free the longest, then the
    connections closed: each is used in turn (one left unused would be closed by the server
    after ``HEAD_TIMEOUT_MS`` without a request, as any new connection that sends nothing is,
    and then fail every request given to it)."""
    sent = 0
    started = time.perf_counter()
    free = list(conns)
    running: set[asyncio.Task[None]] = set()
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(elapsed * rate)
        while sent < due and free:
            conn = free.pop(0)
            task = asyncio.ensure_future(one(conn, sent))
            task.add_done_callback(lambda _t, c=conn: free.append(c))
            running.add(task)
            task.add_done_callback(running.discard)
            sent += 1
        await asyncio.sleep(0.001)  # the pacing of a steady rate: the clients' own clock
    await asyncio.gather(*running)
    for conn in conns:  # a REST ``Conn``'s transport closes, an ``ApiConnection``'s disconnects
        closing = conn.transport.close if isinstance(conn, Conn) else conn.transport.disconnect
        closing()


def event_latencies(sent_at: dict[str, float], seen: dict[str, float], prefix: str) -> list[float]:
    """new → ``ORDER_TRADE_UPDATE`` of the watched orders whose id starts with ``prefix``."""
    return [seen[c] - t for c, t in sent_at.items() if c.startswith(prefix) and c in seen]


async def flat_out(port: int, keys: list[str], price: str, seconds: float) -> tuple[float, int]:
    """Accepted orders a second (each followed by its cancel, on the venue and on the floor
    alike), and how many were refused (none should be)."""
    conns = await connect(port, 50)
    done = refused = 0
    until = time.perf_counter() + seconds

    async def loop_one(conn: Conn, base: int) -> None:
        nonlocal done, refused
        n = base
        while time.perf_counter() < until:
            # the connections take the accounts in turn (n steps by 1,000: n % 1,000 would
            # give one connection one account, past its 300 orders per 10 s)
            key = keys[(base + len(conns) * (n // 1000)) % len(keys)]
            answer = await conn.ask(signed_request("POST", "/fapi/v1/order", order_query(price, n), key))
            if b" 200 " not in answer[:16]:
                if not refused:
                    said = answer.split(_END, 1)[-1][:200].decode(errors="replace")
                    print("  first refusal:", said, flush=True)
                refused += 1
                n += 1000
                continue
            done += 1
            await conn.ask(cancel_request(n, key))
            n += 1000

    started = time.perf_counter()
    await asyncio.gather(*(loop_one(c, i) for i, c in enumerate(conns)))
    for conn in conns:
        assert conn.transport is not None
        conn.transport.close()
    return done / (time.perf_counter() - started), refused
