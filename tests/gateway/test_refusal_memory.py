"""A refused request leaves nothing behind: the refusals raised at every bad request are new
exceptions each time (``protocol/errors.refusal``). One exception object raised again and
again keeps every raise's traceback and the frames it passed, locals and all: a client that
sent bad symbols or an unknown key grew the server by ~7 kB a request, without end."""

from __future__ import annotations

import asyncio
import gc
import importlib
import pkgutil
import tracemalloc
from pathlib import Path

from conftest import StartServer
from rawws import read_answer

import tickerplant

WARM, MEASURED = 200, 1_000
KEY = "k" * 64  # a key's form, no account's key


def _requests(first: int, count: int) -> list[bytes]:
    """A bad symbol (-1121) and a signed request with an unknown key (-2015), by turns, each
    a new target (a repeated one may be answered without being routed: rest_repeat.py), each
    with an API key (a plain poll's parsed head is kept, up to 4,096 of them: not a leak,
    though the test would count it; ``picows_server.checked_head``)."""
    made = []
    for n in range(first, first + count):
        made.append(
            b"GET /fapi/v1/ticker/price?symbol=NOPE%dUSDT HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: %b\r\n\r\n"
            % (n, KEY.encode())
        )
        made.append(
            b"GET /fapi/v2/balance?timestamp=%d&signature=%s HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: %b\r\n\r\n"
            % (n, b"0" * 64, KEY.encode())
        )
    return made


async def test_bad_symbols_and_unknown_keys_refused_by_the_thousand_hold_no_memory(
    start_server: StartServer, tmp_path: Path
) -> None:
    still = {"actions_per_s": 1e-9}  # a market that does not move: nothing else allocates meanwhile
    plant = await start_server(request_weight_per_min=10**9, venue_db=str(tmp_path / "venue.db"), simulator=still)
    port = plant.listeners[tickerplant.market.instruments.Market.UM].port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def ask(requests: list[bytes]) -> list[bytes]:
        """The answers' status lines and codes (what the test reads of them, kept small)."""
        answers = []
        for request in requests:
            writer.write(request)
            answer = await read_answer(reader)
            answers.append(answer[:13] + answer[answer.find(b'"code"') :][:13])
        return answers

    try:
        warm = await ask(_requests(0, WARM))
        assert b'"code":-1121' in warm[0] and b'"code":-2015' in warm[1], warm[:2]
        measured = _requests(WARM, MEASURED)
        gc.collect()  # the garbage of the start and the warm-up: not what the refusals hold
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            answers = await ask(measured)
            gc.collect()  # cycles the loop's callbacks made are garbage, not held
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    finally:
        writer.close()
    assert all(b" 400 " in a[:13] or b" 401 " in a[:13] for a in answers), answers[-1]
    # each refusal's traceback kept: 14-16 MB; now the answers' list (~100 B each) and, beside
    # other tests, what their bounded stores take in meanwhile (up to ~0.8 MB seen)
    assert grown < 1_000 * 2 * MEASURED, f"{grown:,} bytes held after {2 * MEASURED:,} refusals"
    longest = max((_frames(o) for o in gc.get_objects() if isinstance(o, BaseException)), default=0)
    assert longest < 100, f"an exception alive holds a traceback of {longest:,} frames"


def _frames(exc: BaseException) -> int:
    count, tb = 0, exc.__traceback__
    while tb is not None:
        count, tb = count + 1, tb.tb_next
    return count


def test_no_module_holds_an_exception_object_to_raise_again() -> None:
    held = []
    for found in pkgutil.walk_packages(tickerplant.__path__, "tickerplant."):
        if found.name.endswith("__main__"):
            continue
        module = importlib.import_module(found.name)
        for name, value in vars(module).items():
            inside = value.values() if isinstance(value, dict) else value if isinstance(value, tuple | list) else ()
            if isinstance(value, BaseException) or any(isinstance(v, BaseException) for v in inside):
                held.append(f"{found.name}.{name}")
    assert not held, f"raise a new exception each time (protocol/errors.refusal): {held}"
