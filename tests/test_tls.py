"""TLS on the market listeners (``tickerplant/tls.py``): ``tickerplant tls init`` writes a CA
and a certificate for localhost and Binance's futures hosts, and a server started with them
answers REST (kept alive), the streams and the WebSocket API over TLS on one port, to clients
that trust the CA and to nobody who does not."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import re
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import websockets
from conftest import StartServer
from cryptography import x509
from timing import SECONDS

from tickerplant import tls
from tickerplant.cli import main
from tickerplant.config import ServerConfig
from tickerplant.market.instruments import Market

NOW = datetime.datetime(2026, 11, 24, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> tls.Issued:
    return tls.init(tmp_path_factory.mktemp("tls"), NOW, extra_names=("tickerplant.test",))


def test_init_writes_a_ca_and_a_certificate_for_localhost_and_binance_s_hosts(issued: tls.Issued) -> None:
    cert = x509.load_pem_x509_certificate(issued.cert.read_bytes())
    ca = x509.load_pem_x509_certificate(issued.ca.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns_names = set(names.get_values_for_type(x509.DNSName))
    assert {"localhost", *tls.BINANCE_HOSTS, *tls.CCXT_NAMES, "tickerplant.test"} == dns_names
    assert {str(a) for a in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert cert.issuer == ca.subject and ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(ca)  # signed by the CA (raises otherwise)
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc
    assert stat.S_IMODE(issued.key.stat().st_mode) == 0o600  # the key is its owner's alone
    assert "PRIVATE KEY" not in issued.ca.read_text() + issued.cert.read_text()


def test_init_on_a_file_says_so_in_one_line(tmp_path: Path) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("")
    with pytest.raises(SystemExit) as refused:  # it was FileExistsError's traceback
        main(["tls", "init", str(taken)])
    assert str(refused.value.code) == f"tickerplant tls init: {taken}: File exists"


def test_a_certificate_without_its_key_is_refused(issued: tls.Issued) -> None:
    with pytest.raises(ValueError, match="both a certificate"):
        ServerConfig(tls_cert=str(issued.cert))


async def test_rest_streams_and_the_websocket_api_over_tls_on_one_port(
    start_server: StartServer, issued: tls.Issued
) -> None:
    plant = await start_server(tls_cert=str(issued.cert), tls_key=str(issued.key))
    url = plant.url(Market.UM)
    assert url.startswith("wss://")
    rest = "https://" + url.removeprefix("wss://")
    trusting = ssl.create_default_context(cafile=str(issued.ca))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusting, limit=1)) as session:
        for _ in range(3):
            async with session.get(rest + "/fapi/v1/depth?symbol=BTCUSDT&limit=5") as response:
                assert response.status == 200 and response.headers["Connection"] == "keep-alive"
                assert len((await response.json())["bids"]) == 5
    assert plant.listeners[Market.UM].traffic.accepted["rest"] == 1  # kept alive over TLS too
    async with websockets.connect(url + "/ws/btcusdt@bookTicker", ssl=trusting) as ws:
        async with asyncio.timeout(5 * SECONDS):
            assert json.loads(await ws.recv())["e"] == "bookTicker"
    async with websockets.connect(url + "/ws-fapi/v1", ssl=trusting) as api:
        await api.send('{"id":1,"method":"ticker.book","params":{"symbol":"BTCUSDT"}}')
        async with asyncio.timeout(5 * SECONDS):
            assert json.loads(await api.recv())["status"] == 200
    # a client that does not trust the CA gets no session; a plain request no answer
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(rest + "/fapi/v1/ping")
    reader, writer = await asyncio.open_connection("127.0.0.1", plant.listeners[Market.UM].port)
    writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
    async with asyncio.timeout(5 * SECONDS):
        assert not (await reader.read()).startswith(b"HTTP/1.1 200")
    writer.close()


def test_init_prints_absolute_paths_that_hold_from_any_folder(tmp_path: Path) -> None:
    """Run as a tester runs it, with a relative folder: every path it says to export or serve
    with names the files wherever the shell then goes."""
    said = subprocess.run(
        [sys.executable, "-m", "tickerplant", "tls", "init", "tls"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, check=True,
    ).stdout  # fmt: skip
    named = re.findall(r"(?:export \w+=|--tls-(?:cert|key) )(\S+)", said)
    assert len(named) == 5, said
    assert all(Path(path).is_absolute() and Path(path).is_file() for path in named), said
    assert f"SSL_CERT_FILE={tmp_path / 'tls' / 'ca.pem'}" in said


async def test_aiohttp_trusts_the_ca_that_ssl_cert_file_names(start_server: StartServer, issued: tls.Issued) -> None:
    """aiohttp's default context is ``ssl.create_default_context()``, made as aiohttp is
    imported: the variable exported before the process starts is honoured (docs/operations.md)."""
    plant = await start_server(tls_cert=str(issued.cert), tls_key=str(issued.key))
    url = f"https://localhost:{plant.listeners[Market.UM].port}/fapi/v1/time"
    client = (
        "import asyncio, sys, aiohttp\n"
        "async def main():\n"
        "    async with aiohttp.ClientSession() as session, session.get(sys.argv[1]) as answer:\n"
        "        print(answer.status)\n"
        "asyncio.run(main())\n"
    )
    for trusted, told in ((str(issued.ca), "200"), (None, "CERTIFICATE_VERIFY_FAILED")):
        env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
        env |= {"SSL_CERT_FILE": trusted} if trusted else {}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", client, url, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        async with asyncio.timeout(30 * SECONDS):
            out, err = await process.communicate()
        assert told in (out + err).decode(), (out + err).decode()
