"""``tickerplant accounts``: what the operator types, what it prints, and a key it made
working at once against a running server (python-binance signing)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import stat
from pathlib import Path

import pytest
from binance.exceptions import BinanceAPIException
from binance_hosts import python_binance_at
from conftest import StartServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tickerplant.cli import main
from tickerplant.market.instruments import Market


def run(capsys: pytest.CaptureFixture[str], db: Path, *argv: str) -> str:
    main(["accounts", "--db", str(db), *argv])
    return capsys.readouterr().out


def made(out: str, field: str) -> str:
    found = re.search(rf"^{field} +(\S+)", out, re.M)
    assert found is not None, out
    return found[1]


def test_create_show_and_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "venue.db"
    out = run(capsys, db, "create", "--name", "alice", "--balance", "USDT=10000,BTC=1,um:BNB=0.5")
    assert made(out, "account") == "1"
    key, secret = made(out, "api key"), made(out, "secret")
    assert re.fullmatch(r"[A-Za-z0-9]{64}", key) and re.fullmatch(r"[A-Za-z0-9]{64}", secret)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    shown = run(capsys, db, "show", "1")
    assert "balance    CM BTC 1.00000000" in shown and "balance    UM USDT 10000.00000000" in shown
    assert "balance    UM BNB 0.50000000" in shown
    assert f"key        {key} HMAC_SHA256 reading,trading any IP" in shown
    assert secret not in shown  # shown once, at creation
    public = tmp_path / "ed.pem"
    private = Ed25519PrivateKey.generate()
    public.write_bytes(private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    out = run(capsys, db, "keys", "add", "1", "--public-key", str(public), "--permissions", "reading",
              "--ip", "10.0.0.1,192.168.0.0/16")  # fmt: skip
    ed_key = made(out, "api key")
    assert "secret" not in out and "ED25519" in out
    listed = run(capsys, db, "keys", "list", "1")
    assert f"{ed_key} ED25519 reading 10.0.0.1/32,192.168.0.0/16" in listed
    run(capsys, db, "keys", "revoke", key)
    assert key not in run(capsys, db, "keys", "list", "1")
    assert run(capsys, db, "deposit", "1", "USDT=0.5") == "balance    UM USDT 10000.50000000\n"
    assert run(capsys, db, "withdraw", "1", "cm:BTC=0.25") == "balance    CM BTC 0.75000000\n"
    with pytest.raises(SystemExit, match="below zero"):
        run(capsys, db, "withdraw", "1", "BTC=1")
    run(capsys, db, "disable", "1")
    assert "\talice\t" in run(capsys, db, "list") and "disabled" in run(capsys, db, "list")
    run(capsys, db, "delete", "1")
    assert run(capsys, db, "list") == ""


def test_refusals_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "venue.db"
    small = tmp_path / "rsa.pem"
    weak = generate_private_key(public_exponent=65537, key_size=1024)
    small.write_bytes(weak.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(SystemExit, match="1024 bits"):
        run(capsys, db, "create", "--public-key", str(small))
    for bad, why in (("USDT=1.123456789", "8 decimals"), ("USDT=-1", "not a number"), ("xx:USDT=1", "um: or cm:"),
                     ("USDT=1,USDT=2", "USDT named twice"), ("ÜSDT=1", "letters and digits")):  # fmt: skip
        with pytest.raises(SystemExit, match=why):
            run(capsys, db, "create", "--balance", bad)
    with pytest.raises(SystemExit, match="no account 7"):
        run(capsys, db, "show", "7")
    with pytest.raises(SystemExit, match="permissions are reading and trading"):
        run(capsys, db, "create", "--permissions", "withdrawing")
    for useless in ("trading", ""):  # refused everywhere: no request could use it
        with pytest.raises(SystemExit, match="a key reads"):
            run(capsys, db, "create", "--permissions", useless)
    # a name that would forge a row of `list`'s tab-separated lines, or a very long one
    for name in ("mallory\t0\tfake\tenabled\t9 keys\n3\tbob", "x" * 65):
        with pytest.raises(SystemExit, match="an account's name is at most 64 printable characters"):
            run(capsys, db, "create", "--name", name)
    assert "x" * 64 in run(capsys, db, "create", "--name", "x" * 64)


async def test_a_key_made_while_serving_works_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], start_server: StartServer
) -> None:
    db = tmp_path / "venue.db"
    plant = await start_server(simulator={"actions_per_s": 1e-9}, venue_db=str(db))  # no database yet
    out = run(capsys, db, "create", "--balance", "USDT=25")
    um = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    client = await python_binance_at(um, None, made(out, "api key"), made(out, "secret"))
    try:
        assert (await client.futures_account_balance())[0]["balance"] == "25.00000000"
        run(capsys, db, "disable", "1")  # committed inside a turn of the server's loop (one process)
        await asyncio.sleep(0)  # the next turn: a look made before the commit is forgotten (Keyring.once_per_turn)
        with pytest.raises(BinanceAPIException) as refused:
            await client.futures_account_balance()
        assert refused.value.code == -2015
    finally:
        await client.close_connection()


def test_a_path_that_is_no_database_is_one_line_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file of something else, a directory, a missing folder: ``cannot open the database``,
    exit status 1, no traceback, and the path's mode untouched (only the database's own file
    is made the owner's alone)."""
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    text.chmod(0o644)
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o755)
    for path, said in (
        (text, "file is not a database"), (folder, "is a directory"), (tmp_path / "no" / "x.db", "no database at"),
    ):  # fmt: skip
        with pytest.raises(SystemExit, match=f"tickerplant accounts: .*{said}"):
            main(["accounts", "--db", str(path), "list"])
        with pytest.raises(SystemExit, match="tickerplant report: "):
            main(["report", "--db", str(path), "--account", "1", "--out", str(tmp_path / "r")])
    assert stat.S_IMODE(text.stat().st_mode) == 0o644 and stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_another_programs_database_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SQLite file of another program's (a mistyped ``--db``): refused in one line by every
    command, its tables, journal mode and file mode untouched (``list`` made tickerplant's
    tables in it, switched it to WAL and made it the owner's alone, and exited 0)."""
    crm = tmp_path / "crm.db"
    with sqlite3.connect(crm) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO customers (name) VALUES ('ada')")
    db.close()
    crm.chmod(0o644)
    before = crm.read_bytes()
    for action in (["list"], ["show", "1"], ["deposit", "1", "USDT=1"], ["verify"], ["create"]):
        with pytest.raises(SystemExit, match=r"tickerplant accounts: .*crm.db is not a tickerplant database"):
            run(capsys, crm, *action)
    assert crm.read_bytes() == before and stat.S_IMODE(crm.stat().st_mode) == 0o644
    assert not crm.with_name("crm.db-wal").exists()


def test_verify_a_database_no_server_has_opened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "venue.db"
    for action in (["list"], ["show", "1"], ["deposit", "1", "USDT=1"]):  # a typo'd path makes no database
        with pytest.raises(SystemExit, match="no database at"):
            run(capsys, db, *action)
    assert not db.exists()
    run(capsys, db, "create", "--balance", "USDT=10")
    assert run(capsys, db, "verify").startswith("checked    nothing journaled yet")  # exit status 0
    with pytest.raises(SystemExit, match="no account 99"):  # as `keys add 99` says
        run(capsys, db, "keys", "list", "99")


def test_a_wallet_holds_ten_billion_at_most(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What SQLite's integers and the engine's sums hold: a move past it is refused, whole."""
    db = tmp_path / "venue.db"
    with pytest.raises(SystemExit, match="would pass 10,000,000,000, the most it holds"):
        run(capsys, db, "create", "--balance", "USDT=10000000001")
    run(capsys, db, "create", "--balance", "USDT=9999999990")
    with pytest.raises(SystemExit, match="the most it holds"):
        run(capsys, db, "deposit", "1", "USDT=11")
    assert "USDT 9999999990.00000000" in run(capsys, db, "show", "1")
