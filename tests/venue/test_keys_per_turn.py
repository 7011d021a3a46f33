"""The server looks at the operator's tables once per loop turn, not once per request
(``keyring.Keyring.once_per_turn``), and reads them only when a commit not its journal's came
(``Keyring.beside_writer``): requests sent together, over a real socket, are checked
against one look; the journal's own commits send none to the operator's tables; and a key the
operator revokes is refused from the next request sent after the revoke was committed."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from conftest import StartServer

from tickerplant.clock import SystemClock
from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore

SECRET = "A" * 64
PIPELINED = 20


def _request(key: str, keep_alive: bool = True, leverage: int | None = None) -> bytes:
    """A balance read; with ``leverage``, a leverage change instead (journaled)."""
    query = f"timestamp={SystemClock().now_ms()}"
    method, path = "GET", "/fapi/v2/balance"
    if leverage is not None:
        method, path, query = "POST", "/fapi/v1/leverage", f"symbol=BTCUSDT&leverage={leverage}&{query}"
    query += f"&signature={hmac_hex(SECRET, query.encode())}"
    close = "" if keep_alive else "Connection: close\r\n"
    head = f"{method} {path}?{query} HTTP/1.1\r\nHost: h\r\nX-MBX-APIKEY: {key}\r\n"
    return f"{head}{close}Content-Length: 0\r\n\r\n".encode()


async def _answers(reader: asyncio.StreamReader, count: int) -> list[tuple[int, bytes]]:
    """``count`` answers' statuses and bodies, read by their ``Content-Length``."""
    answers = []
    for _ in range(count):
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"Content-Length: (\d+)", head)
        assert length is not None, head
        answers.append((int(head.split(b" ", 2)[1]), await reader.readexactly(int(length[1]))))
    return answers


async def test_requests_sent_together_are_checked_against_one_look(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "venue.db"
    store = AccountStore(path)
    account = store.create_account("a", [(Market.UM, "USDT", 10**12)], SystemClock().now_ms())
    key = store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=SystemClock().now_ms()).api_key
    plant = await start_server(simulator={"actions_per_s": 1e-9}, venue_db=str(path))
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    try:
        writer.write(_request(key))
        assert (await _answers(reader, 1))[0][0] == 200
        # a look is the journal's connection's PRAGMA: it moves at another connection's commit
        # alone, so the journal's own (a leverage change's) sends no look to the keyring's
        looks: list[str] = []
        ours: list[str] = []
        assert plant.accounts._db is not None and plant.journal._db is not None
        plant.journal._db.set_trace_callback(looks.append)
        plant.accounts._db.set_trace_callback(ours.append)
        writer.write(_request(key, leverage=5))
        assert (await _answers(reader, 1))[0][0] == 200
        writer.write(b"".join(_request(key) for _ in range(PIPELINED)))  # one write: read in one turn
        assert [status for status, _ in await _answers(reader, PIPELINED)] == [200] * PIPELINED
        # not one a request: a look a turn, and the one write read in a few turns at most (a
        # loaded machine's loop may take the twenty in five)
        assert 1 <= looks.count("PRAGMA data_version") < PIPELINED / 2
        assert ours == []  # the journal committed; no operator did

        store.revoke(key)  # committed: the next request sent is refused
        writer.write(_request(key))
        status, body = (await _answers(reader, 1))[0]
        assert (status, body) == (401, b'{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}')
    finally:
        writer.close()
        store.close()
