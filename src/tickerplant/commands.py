"""How each server command runs once its configuration is built (``cli.py`` reads argv, the
environment and files; this module reads none of them): the process' signals, its heap
settled once it has started, what it tells the operator (``logs.say``), and the one-process
server, the supervisor of ``--workers N``, the split plant and gateway, and the recorder."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import gc
import logging
import signal
import sqlite3
import ssl
import zipfile
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar
from urllib.parse import urlsplit

from tickerplant import logs
from tickerplant.config import ServerConfig
from tickerplant.market.instruments import Market

if TYPE_CHECKING:
    from tickerplant.bus.nats import NatsAuth

__all__ = [
    "DEFAULT_NATS", "gateway", "plant", "record_streams", "serve", "serve_workers", "settle_heap",
    "stop_on_signals", "tls_init",
]  # fmt: skip

DEFAULT_NATS = "nats://127.0.0.1:4222"  # NATS's own default
T = TypeVar("T")
log = logging.getLogger("tickerplant")


async def serve_workers(config: ServerConfig, log_level: str, log_format: str, nats_token: str = "") -> None:
    from tickerplant.port_lock import PortHeld
    from tickerplant.scaleout.nats_server import NatsServerMissing
    from tickerplant.scaleout.supervisor import Supervisor, SupervisorFailed

    stop = stop_on_signals()
    supervisor = Supervisor(config, nats_token=nats_token, log_level=log_level, log_format=log_format)
    # Ctrl-C or SIGTERM while the children start stops them: a child that never says it
    # serves would otherwise hold the supervisor in start() past every signal
    starting = asyncio.ensure_future(supervisor.start())
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([starting, stopped], return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        await supervisor.close()
        return
    stopped.cancel()
    try:
        starting.result()
    except (OSError, NatsServerMissing, SupervisorFailed, PortHeld, sqlite3.Error) as exc:
        await supervisor.close()
        raise SystemExit(f"tickerplant serve: cannot start: {exc}") from None
    head = f"tickerplant serving from {config.workers} gateway processes, fed over {supervisor.nats_url}"
    about: dict[str, logs.Field] = {"workers": config.workers, "nats_url": supervisor.nats_url}
    _banner(head, (), about, supervisor.url(Market.UM), supervisor.url(Market.CM), supervisor.admin_url())
    failed = asyncio.ensure_future(supervisor.failed.wait())
    await asyncio.wait([asyncio.ensure_future(stop.wait()), failed], return_when=asyncio.FIRST_COMPLETED)
    await supervisor.close()
    if supervisor.failed.is_set():
        raise SystemExit(f"tickerplant serve: {supervisor.failure}")


def _banner(
    head: str, more: tuple[str, ...], about: dict[str, logs.Field], um: str, cm: str, admin: str | None
) -> None:
    """The start-up banner: what is served (``head``, ``more`` lines; as fields, ``about``),
    then where, then how to stop it. Scripts and tests wait for its last line, "Ctrl-C
    stops."; in the JSON format for the record whose fields include ``um_url``."""
    lines = [
        *more,
        f"  USDⓈ-M streams  {um}/ws/<stream>  {um}/stream?streams=<a>/<b>  (also /public, /market)",
        f"  COIN-M streams  {cm}/ws/<stream>  {cm}/stream?streams=<a>/<b>",
    ]
    if admin is not None:
        lines.append(f"  admin           {admin}/  (dashboard)  {admin}/metrics  {admin}/api/status")
    logs.say(head, lines=(*lines, "Ctrl-C stops."), **about, um_url=um, cm_url=cm, admin_url=admin)


_YOUNG_COLLECTION = 10_000  # container objects made between collections of the youngest


def settle_heap() -> None:
    """The objects a started server holds (its books, klines, windows, views: some 300,000
    that the cyclic garbage collector tracks) are moved out of its reach (``gc.freeze``),
    once start-up's garbage is collected. They live as long as the process; left tracked,
    every full collection walked them all, about 100 ms with the loop held, a few times a
    minute under load (3 % of a core serving WebSocket API requests, and their p99).

    The youngest generation is collected every ``_YOUNG_COLLECTION`` container objects
    made instead of every 700: a replay at ``--speed max`` makes a tracked message per
    event (and a block of rows is a few lists of ~15,000 ints, which each full collection
    walks while it lives), so collections took 0.3-0.6 s of a 1.2 M-event replay; they
    take ~0.02 s so. The collector still runs; cyclic garbage waits a little longer.

    The simulator's seedings kept for the next start in this process (tests start hundreds)
    are dropped first: a serving process starts once (``positions.forget_seedings``)."""
    from tickerplant.feeds.simulator.positions import forget_seedings

    forget_seedings()
    gc.collect()
    gc.freeze()
    gc.set_threshold(_YOUNG_COLLECTION, *gc.get_threshold()[1:])


async def serve(config: ServerConfig) -> None:
    from tickerplant.app import Tickerplant
    from tickerplant.feeds.relay.relay import RelayError
    from tickerplant.port_lock import PortHeld, PortLocks
    from tickerplant.venue.journal.writer_lock import DatabaseHeld

    locks = PortLocks()  # held for as long as this process serves (port_lock.py)
    try:
        plant = Tickerplant(config)
    except ValueError as exc:  # a source that cannot be made (a relay's stream kinds)
        raise SystemExit(f"tickerplant serve: cannot start: {exc}") from None
    try:
        locks.claim(config.um_port, "USDⓈ-M")
        locks.claim(config.cm_port, "COIN-M")
        await plant.start()
    except (OSError, ValueError, zipfile.BadZipFile, RelayError, PortHeld) as exc:
        await plant.close()
        raise SystemExit(f"tickerplant serve: cannot start: {exc}") from None
    except DatabaseHeld as exc:  # another server journals it (its message names the database)
        await plant.close()
        raise SystemExit(f"tickerplant serve: cannot start: {exc}") from None
    except sqlite3.Error as exc:  # the venue database: not one, or not writable
        await plant.close()
        said = f"the venue database {config.venue_db}: {exc}"
        raise SystemExit(f"tickerplant serve: cannot start: {said}") from None
    settle_heap()
    um, cm = plant.url(Market.UM), plant.url(Market.CM)
    admin = plant.admin_url()
    head = f"tickerplant serving a simulated market (seed {config.simulator.seed})"
    source: dict[str, logs.Field] = {"source": "simulator", "seed": config.simulator.seed}
    more: tuple[str, ...] = ()
    if config.replay.paths:
        speed = "max" if config.replay.speed is None else f"×{config.replay.speed:g}"
        # the admin listener's POST controls (--paused takes an admin listener: config.py)
        state = f"paused: POST {admin}/api/replay/resume starts it" if config.replay.paused else "playing"
        status = f"{admin}/api/status" if admin else f"{um.replace('ws', 'http', 1)}/tickerplant/v1/replay"
        paths = ", ".join(config.replay.paths)
        head, more = f"tickerplant replaying {paths} at {speed} ({state})", (f"  replay status   {status}",)
        source = {"source": "replay", "replay": paths, "speed": speed, "state": state, "status_url": status}
    elif config.relay.enabled:
        upstream = ", ".join(config.relay.urls) or "Binance (fstream, dstream)"
        head, source = f"tickerplant relaying {upstream}", {"source": "relay", "upstream": upstream}
    _banner(head, more, source, um, cm, admin)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    waits = [asyncio.ensure_future(stop.wait())]
    if config.replay.exit_at_end:
        waits.append(asyncio.ensure_future(plant.done.wait()))
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()
    if plant.done.is_set():
        logs.say(f"tickerplant: {plant.finish_reason}", finished=plant.finish_reason)
    else:
        log.info("stopping: a signal")
    await plant.close()
    locks.release()
    log.info("stopped")
    if plant.failed and plant.done.is_set():
        raise SystemExit(1)


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def _unless_stopped(connecting: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``connecting``'s result, or None when ``stop`` comes first: a bus that is not there yet
    is waited for (docs/operations.md, "Scale-out"), and Ctrl-C or SIGTERM still ends the wait."""
    task = asyncio.ensure_future(connecting)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):  # gone with it: nothing to say
        await task
    return None


def _nats_url(config: ServerConfig, role: str) -> str:
    """The bus's URL (NATS's default when none is given); a URL with no host refused: NATS's
    client would try to resolve it for ever."""
    url = config.nats_url or DEFAULT_NATS
    try:
        parsed = urlsplit(url)
        hostname, _ = parsed.hostname, parsed.port  # a port that is no number raises
    except ValueError:
        hostname = None
    if parsed.scheme not in ("nats", "tls", "ws", "wss") or not hostname:
        raise SystemExit(f"tickerplant {role}: --nats is a URL such as nats://host:4222, not {url!r}")
    return url


async def _stop_on_end(lifeline: BinaryIO | None, stop: asyncio.Event) -> None:
    """``stop`` set as by SIGTERM once ``lifeline`` (the supervisor's pipe, serve --workers'
    children only) ends: the supervisor is gone (``scaleout/lifeline.py``)."""
    if lifeline is None:
        return
    from tickerplant.scaleout.lifeline import lifeline as watch

    ended = asyncio.Event()
    await watch(lifeline, ended)

    async def stopping() -> None:
        await ended.wait()
        if not stop.is_set():
            log.warning("the supervisor is gone (its pipe closed): stopping")
            stop.set()

    asyncio.get_running_loop().create_task(stopping())


def _nats_auth(config: ServerConfig, url: str, token: str, role: str) -> NatsAuth:
    from tickerplant.bus.nats import NatsAuth

    try:
        ca, cert, key = config.nats_tls_ca, config.nats_tls_cert, config.nats_tls_key
        return NatsAuth.of(url, token, config.nats_creds, ca, cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise SystemExit(f"tickerplant {role}: NATS's TLS: {exc}") from None


async def plant(
    config: ServerConfig, reuse_port: bool, nats_token: str = "", lifeline: BinaryIO | None = None
) -> None:
    import nats.errors  # NATS only for the scale-out commands

    from tickerplant.bus.nats import NatsBus
    from tickerplant.feeds.relay.relay import RelayError
    from tickerplant.scaleout.plant_admin import PlantAdmin
    from tickerplant.scaleout.plant_process import PlantProcess

    stop = stop_on_signals()
    await _stop_on_end(lifeline, stop)
    url = _nats_url(config, "plant")
    auth = _nats_auth(config, url, nats_token, "plant")
    try:
        bus = await _unless_stopped(NatsBus.connect(url, name="tickerplant plant", auth=auth), stop)
    except (OSError, nats.errors.Error) as exc:
        raise SystemExit(f"tickerplant plant: cannot reach NATS at {url}: {exc!r}") from None
    if bus is None:  # stopped while NATS was not there
        return
    plant = PlantProcess(config, bus)
    try:
        await plant.start()
    except (OSError, ValueError, zipfile.BadZipFile, RelayError, sqlite3.Error) as exc:
        await plant.close()
        raise SystemExit(f"tickerplant plant: cannot start: {exc}") from None
    settle_heap()
    admin = PlantAdmin(plant, plant.clock)
    admin_url: str | None = None
    if config.admin_port:
        try:
            admin_url = await admin.start(
                config.admin_host, config.admin_port, reuse_port=reuse_port, token=config.admin_token
            )
        except OSError as exc:
            await plant.close()
            raise SystemExit(f"tickerplant plant: cannot start its admin listener: {exc}") from None
    said = f"; admin {admin_url}" if admin_url else ""
    logs.say(f"tickerplant plant publishing to {url}{said}", nats_url=url, admin_url=admin_url)
    await stop.wait()
    await admin.close()
    await plant.close()


async def gateway(
    config: ServerConfig, reuse_port: bool, nats_token: str = "", lifeline: BinaryIO | None = None
) -> None:
    import nats.errors

    from tickerplant.bus.nats import NatsBus
    from tickerplant.scaleout.gateway_process import GatewayProcess

    stop = stop_on_signals()
    await _stop_on_end(lifeline, stop)
    url = _nats_url(config, "gateway")
    auth = _nats_auth(config, url, nats_token, "gateway")
    try:
        bus = await _unless_stopped(NatsBus.connect(url, name="tickerplant gateway", auth=auth), stop)
        if bus is None:  # stopped while NATS was not there
            return
        gateway = GatewayProcess(config, bus, reuse_port=reuse_port)
    except (OSError, nats.errors.Error) as exc:
        raise SystemExit(f"tickerplant gateway: cannot reach NATS at {url}: {exc!r}") from None
    starting = asyncio.ensure_future(gateway.start())
    await asyncio.wait([starting, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    if starting.done() and starting.exception() is None:
        settle_heap()
        um, cm = gateway.url(Market.UM), gateway.url(Market.CM)
        admin_url: str | None = None
        if config.admin_port:
            try:
                admin_url = await gateway.start_admin(
                    config.admin_host, config.admin_port, reuse_port=reuse_port, token=config.admin_token
                )
            except OSError as exc:
                await gateway.close()
                raise SystemExit(f"tickerplant gateway: cannot start its admin listener: {exc}") from None
        said = f"; admin {admin_url}" if admin_url else ""
        logs.say(f"tickerplant gateway on {um} (USDⓈ-M) and {cm} (COIN-M), fed from {url}{said}",
                 um_url=um, cm_url=cm, nats_url=url, admin_url=admin_url)  # fmt: skip
        await stop.wait()
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    await gateway.close()


async def record_streams(args: argparse.Namespace) -> None:
    from tickerplant.client.endpoints import market_of
    from tickerplant.recording.recorder import record

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if args.seconds is not None:
        loop.call_later(args.seconds, stop.set)
    if args.out.exists() and not args.out.is_dir():
        raise SystemExit(f"tickerplant record: --out {args.out} is a file, not a folder")
    market = Market(args.market) if args.market else None
    if market is None:  # asked of the URL (its REST twin): one nothing answers at is said so
        try:
            market = await market_of(args.url)
        except OSError as exc:
            raise SystemExit(f"tickerplant record: nothing recorded: {exc}") from None
    files = await record(
        args.url,
        args.streams,
        args.out,
        market=market,
        rotate_bytes=int(args.rotate_mb * 1024 * 1024),
        rotate_s=args.rotate_s,
        stop=stop,
    )
    if not files:  # stopped before any connection was made: a recording of nothing is a failure
        raise SystemExit(f"tickerplant record: nothing recorded: no connection to {args.url} was made")
    for path in files:
        print(path, flush=True)


def tls_init(directory: Path, names: tuple[str, ...]) -> None:
    """``tickerplant tls init DIR``: a local CA and a certificate signed by it (``tls.init``),
    and how to use and trust them."""
    from tickerplant import tls

    try:
        # absolute: the lines printed are exported and used from other folders
        issued = tls.init(directory.absolute(), datetime.datetime.now(datetime.UTC), extra_names=names)
    except OSError as exc:  # a file where the folder goes, one not writable
        raise SystemExit(f"tickerplant tls init: {directory}: {exc.strerror or exc}") from None
    print(
        f"wrote {issued.ca} (the CA to trust), {issued.cert} and {issued.key} (mode 0600), for "
        f"localhost, 127.0.0.1, ::1, {', '.join((*tls.BINANCE_HOSTS, *tls.CCXT_NAMES, *names))}\n"
        f"serve:   tickerplant serve --tls-cert {issued.cert} --tls-key {issued.key}\n"
        f"trust:   export SSL_CERT_FILE={issued.ca}         # Python's ssl: aiohttp, websockets, urllib\n"
        f"         export REQUESTS_CA_BUNDLE={issued.ca}    # requests (python-binance, Binance's SDK)\n"
        f"         export NODE_EXTRA_CA_CERTS={issued.ca}   # Node"
    )
