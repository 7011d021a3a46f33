"""`tickerplant plant` and `tickerplant gateway`: each takes its own process's settings, and
the NATS credentials (the token from a file or the environment, never a flag)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
from ports import free_port
from timing import SECONDS

from tickerplant.cli import NATS_TOKEN_VARIABLE, _parser, build_config, nats_token
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.settings import settings


def test_the_plant_takes_the_sources_settings_and_the_gateway_the_listeners() -> None:
    plant = build_config(
        _parser().parse_args(["plant", "--nats", "nats://h:4222", "--seed", "7", "--payload-format", "2026"])
    )
    assert (plant.nats_url, plant.simulator.seed, plant.payload_format) == (
        "nats://h:4222",
        7,
        PayloadFormat.Y2026,
    )
    args = _parser().parse_args(
        ["gateway", "--nats", "nats://h:4222", "--um-port", "9000", "--max-streams", "10"]
    )
    gateway = build_config(args)
    assert (gateway.nats_url, gateway.um_port, gateway.limits.max_streams) == ("nats://h:4222", 9000, 10)
    assert args.reuse_port is False


@pytest.mark.parametrize(
    "argv", [["plant", "--um-port", "1"], ["gateway", "--seed", "1"], ["gateway", "--payload-format", "2026"],
             ["gateway", "--workers", "2"], ["plant", "--workers", "2"]],
)  # fmt: skip
def test_neither_takes_the_others_settings(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(argv)


def test_workers_are_at_least_one_and_at_most_256() -> None:
    assert build_config(_parser().parse_args(["serve", "--workers", "3"])).workers == 3
    for workers in ("0", "100000"):  # the latter held a port each by the ten thousand first
        with pytest.raises(SystemExit, match="workers must be a whole number from 1 to 256"):
            build_config(_parser().parse_args(["serve", "--workers", workers]))


def test_the_nats_token_comes_from_its_file_else_the_environment_never_a_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    monkeypatch.setenv(NATS_TOKEN_VARIABLE, "from-the-environment")
    for role in ("plant", "gateway", "serve"):
        config = build_config(_parser().parse_args([role, "--nats-token-file", str(token_file)]))
        assert nats_token(config) == "s3cret"
    assert nats_token(build_config(_parser().parse_args(["gateway"]))) == "from-the-environment"
    monkeypatch.delenv(NATS_TOKEN_VARIABLE)
    assert nats_token(build_config(_parser().parse_args(["gateway"]))) == ""
    # the flags that concern a token name its file: no command line carries a token
    flags = [item.setting.flag for item in settings() if "token" in item.name]
    assert [flag for flag in flags if flag] == ["--admin-token-file", "--nats-token-file"]
    with pytest.raises(SystemExit, match="nats_token_file"):
        nats_token(build_config(_parser().parse_args(["plant", "--nats-token-file", str(tmp_path / "none")])))


def test_the_split_processes_take_nats_credentials_and_tls_files() -> None:
    files = ["--nats-creds", "user.creds", "--nats-tls-ca", "ca.pem", "--nats-tls-cert", "c.pem", "--nats-tls-key", "k.pem"]
    for role in ("plant", "gateway"):
        config = build_config(_parser().parse_args([role, "--nats", "tls://bus:4222", *files]))
        assert (config.nats_creds, config.nats_tls_ca, config.nats_tls_cert, config.nats_tls_key) == (
            "user.creds", "ca.pem", "c.pem", "k.pem",
        )  # fmt: skip
    with pytest.raises(SystemExit, match="--nats-tls-key"):
        build_config(_parser().parse_args(["gateway", "--nats-tls-cert", "c.pem"]))


@pytest.mark.parametrize("role", ["plant", "gateway"])
async def test_a_split_process_waiting_for_its_bus_stops_at_ctrl_c_and_a_url_without_a_host_is_refused(
    role: str,
) -> None:
    """One whose NATS is not there yet waits for it (docs/operations.md, "Scale-out"), and
    Ctrl-C still ends the wait (it was ignored: only SIGKILL stopped it); a URL with no host
    is refused at once (NATS's client resolved "notaurl" for ever)."""
    ports = ["--um-port", str(free_port()), "--cm-port", str(free_port())] if role == "gateway" else []
    waiting = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", role, "--nats", f"nats://127.0.0.1:{free_port()}", "--admin-port", "0",
        *ports, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert waiting.stderr is not None
    try:
        async with asyncio.timeout(60 * SECONDS):  # its first try refused: it is waiting
            while b"NATS" not in await waiting.stderr.readline():
                pass
        waiting.send_signal(signal.SIGINT)
        async with asyncio.timeout(10 * SECONDS):
            assert await waiting.wait() == 0
    finally:
        if waiting.returncode is None:
            waiting.kill()
    refused = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", role, "--nats", "notaurl", *ports,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60 * SECONDS):
        _, err = await refused.communicate()
    assert refused.returncode == 1 and "--nats is a URL such as nats://host:4222" in err.decode(), err


async def test_serve_workers_refuses_a_fault_naming_a_symbol_the_plant_does_not_list(tmp_path: Path) -> None:
    """The plant prepares the source, so it checks the profile's symbols against the listing
    (``fault_names.check_listed``); a fault that could never fire stops the start, said by
    the plant and the supervisor both."""
    written = tmp_path / "typo.toml"
    written.write_text('[[fault]]\nkind = "market-stall"\nat = "+5s"\nsymbols = ["BTCUSDX"]\n')
    served = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tickerplant", "serve", "--workers", "2", "--admin-port", "0",
        "--um-port", str(free_port()), "--cm-port", str(free_port()), "--venue-db", str(tmp_path / "venue.db"), "--faults", str(written),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60 * SECONDS):
        _, err = await served.communicate()
    said = err.decode()
    assert served.returncode == 1, said
    assert "tickerplant plant: cannot start: --faults: fault 1 (market-stall): symbols: 'BTCUSDX' is not a" in said
    assert said.splitlines()[-1] == "tickerplant serve: cannot start: plant exited with 1 before it served", said
