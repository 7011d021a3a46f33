# ruff: noqa: F811  (the fixture imported from test_journal is a parameter here)
"""State rebuilt from the journal alone, proved by a state hash (exchange-core's way): a long
random session over both markets' engines (their position modes shared, as ``venue_engines``
builds them) journals every command to a real SQLite file; a fresh pair of engines loaded
from that file alone (``venue_engines.restored``, the server's start) must hold the same
state (``journal/state.py``), and ``tickerplant accounts verify``'s core must find the
database adding up."""

from __future__ import annotations

import signal
import sqlite3
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from ports import free_port
from random_venue import SYMBOLS, Session, Venue
from served_venue import serve, signed
from test_journal import database  # noqa: F401 (a fixture)
from timing import SECONDS, eventually

from tickerplant.market.instruments import Market
from tickerplant.venue.domain.orders import OrderStatus
from tickerplant.venue.journal.group_commit import Stamped
from tickerplant.venue.journal.sqlite_journal import SqliteJournal
from tickerplant.venue.journal.state import describe, differences, state_hash
from tickerplant.venue.journal.verify import verify
from tickerplant.venue_engines import settle_unseen_transfers

STEPS = 2_000  # a session's commands (with its trades, marks and fundings)
CHECK_EVERY = 200  # a rebuild after every so many, the session going on


def rebuilt(path: Path, session: Session) -> Venue:
    """A fresh pair of engines from the journal alone, as the server starts."""
    now = session.clock.now_ms()
    venue = Venue(
        path, session.markets, lambda market: Stamped(SqliteJournal(path), market), session.seed, now
    )
    settle_unseen_transfers(venue.every(), venue.keyring, venue.sqlite, now)
    return venue


def check_rebuild(session: Session, path: Path) -> None:
    """The session's state now and a fresh pair's from its journal: the same."""
    session.save_counts()
    now = session.clock.now_ms()
    before = describe(session.venue.every(), now)
    again = rebuilt(path, session)
    try:
        found = differences(before, describe(again.every(), now))
        assert not found, "the rebuilt state differs:\n" + "\n".join(found)
        assert state_hash(session.venue.every(), now) == state_hash(again.every(), now)
    finally:
        again.close()


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_a_random_session_comes_back_from_its_journal_alone(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "venue.db"
    session = Session(path, seed)
    for _ in range(STEPS // CHECK_EVERY):  # a rebuild at each checkpoint, the session going on
        session.run(CHECK_EVERY)
        check_rebuild(session, path)
    done = session.done
    engines = session.venue.every()
    kept = [o for e in engines for k in e.seats.values() for o in k.orders.values()]
    algos = [a for e in engines for a in e.algos.every_order()]
    incomes = Counter(i.kind for e in engines for ledger in e.ledgers.values() for i in ledger.income)
    print(sorted(done.items()), sorted(incomes.items()), Counter(a.status for a in algos), session.events)
    assert any(o.client_order_id.startswith("autoclose-") for o in kept), "no liquidation"
    assert session.events["MarginCall"], "no margin call"
    assert any(
        o.status is OrderStatus.FILLED and o.queue_ahead == 0 and o.type.value == "LIMIT" for o in kept
    )
    assert {"FINISHED", "CANCELED"} <= {a.status for a in algos}
    assert incomes["FUNDING_FEE"] and incomes["TRANSFER"] > len(session.accounts)
    assert done["amend"] and done["margin_move"] and done["countdown fired"] and done["multi_assets"] and done["fee_burn"]
    assert done["placed in hedge mode"] and done["placed reduce-only"] and done["placed priceMatch"]
    assert (
        all(done[f"placed LIMIT {tif}"] for tif in ("GTC", "IOC", "FOK", "GTX", "GTD"))
        and done["placed MARKET "]
    )

    markets = {s: m.value for m in Market for s in SYMBOLS[m]}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        tally = verify(db, markets)
    finally:
        db.close()
    assert tally.findings == [] and tally.orders > 100 and tally.positions and tally.wallets


async def test_a_trailing_stops_best_price_is_journaled_as_it_moves(database: tuple[Path, str]) -> None:
    """Over a real server: a trailing stop's best price since activation, which moves with the
    market and no event tells, is in the journal as it moves, and there after a kill -9 (a
    restart trailed from where the order was placed)."""
    path, key = database
    port = free_port()
    base = f"http://127.0.0.1:{port}/fapi"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)

    def journaled(algo_id: int) -> tuple[int, str]:
        extreme, status = db.execute(
            "SELECT json_extract(state, '$.extreme'), json_extract(state, '$.status') FROM venue_algo_orders "
            "WHERE algo_id = ?",
            (algo_id,),
        ).fetchone()
        return int(extreme), str(status)

    try:
        async with serve(path, port, sim_rate="400") as process, aiohttp.ClientSession() as session:
            # a sell that trails 20 % under the highest price since now and a buy 20 % over the
            # lowest: whichever way the market goes, one of them moves, far from a trigger
            placed: dict[int, int] = {}  # algo id -> its best price as placed
            for side in ("SELL", "BUY"):
                status, answer = await signed(session, "POST", f"{base}/v1/algoOrder", key,
                                              f"algoType=CONDITIONAL&symbol=BTCUSDT&side={side}"
                                              "&type=TRAILING_STOP_MARKET&quantity=0.010&callbackRate=20")  # fmt: skip
                assert status == 200, answer
                placed[answer["algoId"]] = journaled(answer["algoId"])[0]

            def moved() -> list[int]:
                return [algo_id for algo_id, first in placed.items() if journaled(algo_id)[0] != first]

            await eventually(lambda: bool(moved()), 30 * SECONDS)
            process.send_signal(signal.SIGKILL)
            await process.wait()
        for algo_id in moved():  # what a restart reads, after a kill -9
            best, status_text = journaled(algo_id)
            first = placed[algo_id]
            assert status_text == "NEW" and (best > first if algo_id == min(placed) else best < first)
    finally:
        db.close()
