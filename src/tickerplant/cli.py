"""The command line: the only place that reads argv, environment and files."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import uvloop

from tickerplant import account_commands, commands, logs
from tickerplant.admin.guard import is_loopback
from tickerplant.cli_parser import SPLIT_DEFAULTS, parser
from tickerplant.config import ServerConfig
from tickerplant.faults.builtin import BUILTIN
from tickerplant.faults.profile import ProfileError, parse_profile
from tickerplant.market.instruments import Market
from tickerplant.settings import load, settings

__all__ = ["ADMIN_TOKEN_VARIABLE", "NATS_TOKEN_VARIABLE", "admin_token", "build_config", "main", "nats_token"]

NATS_TOKEN_VARIABLE = "TICKERPLANT_NATS_TOKEN"  # the NATS token, when no nats_token_file names one
ADMIN_TOKEN_VARIABLE = "TICKERPLANT_ADMIN_TOKEN"  # the admin token, when neither TOML key gives one
_parser = parser  # the grammar (cli_parser.py), which the tests parse argv with as ``main`` does


def build_config(args: argparse.Namespace) -> ServerConfig:
    """Defaults, then the TOML file, then the flags."""
    toml: dict[str, Any] = {}
    if args.config is not None:
        try:
            toml = tomllib.loads(args.config.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:  # not UTF-8: not TOML
            raise SystemExit(f"{args.config}: {exc}") from None
    given = vars(args)
    flags = {item.path: given[item.path] for item in settings() if item.path in given}
    if args.command in ("plant", "gateway"):
        toml = {**SPLIT_DEFAULTS, **toml}
    try:
        config = load(toml, flags)
    except ValueError as exc:
        raise SystemExit(f"configuration: {exc}") from None
    _admin_guarded(config)
    config = _fault_profile(config)
    if config.replay.paused and not config.admin_port and args.command != "run":  # run: never (run_bot)
        # its resume is the admin listener's (the market port changes no state)
        raise SystemExit("configuration: --paused waits for POST /api/replay/resume: it takes --admin-port")
    return config


def _fault_profile(config: ServerConfig) -> ServerConfig:
    """``config`` with its fault profile's text: a built-in one's, or its file's, checked."""
    named, text = config.faults.profile, config.faults.profile_text
    if not named and not text:
        return config
    said = f"--faults {named}" if named else "[faults] profile_text"  # where it was written
    try:
        if named:
            text = BUILTIN[named] if named in BUILTIN else Path(named).read_text()
        from tickerplant.gateway.fault_names import check_endpoints

        check_endpoints(parse_profile(text))  # a name nothing serves: refused, not silent
    except FileNotFoundError:
        built = ", ".join(sorted(BUILTIN))
        raise SystemExit(f"--faults {named}: neither a built-in profile ({built}) nor a file") from None
    except UnicodeDecodeError as exc:  # before OSError's: a ValueError
        raise SystemExit(f"{said}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (OSError, ProfileError) as exc:
        raise SystemExit(f"{said}: {exc}") from None
    return dataclasses.replace(config, faults=dataclasses.replace(config.faults, profile_text=text))


def admin_token(config: ServerConfig) -> ServerConfig:
    """``config`` with its admin token read: ``admin_token``, else the first line of
    ``admin_token_file``, else the environment's ``TICKERPLANT_ADMIN_TOKEN``."""
    token = config.admin_token
    if not token and config.admin_token_file:
        try:
            lines = Path(config.admin_token_file).read_text().splitlines()
        except OSError as exc:
            raise SystemExit(f"admin_token_file: {exc}") from None
        token = lines[0].strip() if lines else ""
    token = token or os.environ.get(ADMIN_TOKEN_VARIABLE, "")
    return dataclasses.replace(config, admin_token=token) if token != config.admin_token else config


def _admin_guarded(config: ServerConfig) -> None:
    """An admin listener beyond loopback takes a token, or the configuration is refused:
    anyone who reaches it could drive the server."""
    has_token = config.admin_token or config.admin_token_file or os.environ.get(ADMIN_TOKEN_VARIABLE)
    if config.admin_port and not has_token and not is_loopback(config.admin_host):
        raise SystemExit(
            f"configuration: the admin listener on {config.admin_host} needs a token (admin_token in "
            f"the config file, --admin-token-file, or {ADMIN_TOKEN_VARIABLE}): it drives the server"
        )


def nats_token(config: ServerConfig) -> str:
    """The NATS server's token: the first line of ``nats_token_file``, else the environment's
    ``TICKERPLANT_NATS_TOKEN``, else none."""
    if config.nats_token_file:
        try:
            lines = Path(config.nats_token_file).read_text().splitlines()
        except OSError as exc:
            raise SystemExit(f"nats_token_file: {exc}") from None
        return lines[0].strip() if lines else ""
    return os.environ.get(NATS_TOKEN_VARIABLE, "")


def _split(args: argparse.Namespace) -> tuple[ServerConfig, str]:
    """A plant's or gateway's configuration and NATS token: from the flags, the TOML file,
    the token file or the environment; or as serve --workers hands them over on stdin."""
    if not args.config_stdin:
        config = admin_token(build_config(args))
        return config, nats_token(config)
    from tickerplant.scaleout.lifeline import read_handover

    try:
        handover = read_handover(sys.stdin.buffer)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    return handover.config, handover.nats_token


def _venue_db(args: argparse.Namespace) -> str:
    """``accounts``' database: ``--db``, else the configuration's ``venue_db``."""
    if args.db:
        return str(args.db)
    toml: dict[str, Any] = {}
    if args.config is not None:
        try:
            toml = tomllib.loads(args.config.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:  # not UTF-8: not TOML
            raise SystemExit(f"{args.config}: {exc}") from None
    try:
        return load(toml, {}).venue_db
    except ValueError as exc:
        raise SystemExit(f"configuration: {exc}") from None


def _display(config: ServerConfig, log_format: str) -> ServerConfig:
    """A replay's progress bar, a terminal's display, is off in the JSON format unless
    ``--progress`` asks for it: everything else on stderr is a JSON line."""
    if log_format != "json" or config.replay.progress is not None:
        return config
    return dataclasses.replace(config, replay=dataclasses.replace(config.replay, progress=False))


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    try:
        with logs.exits_logged(), _refusals_named(args.command):
            _run(args)
    except KeyboardInterrupt:  # Ctrl-C before a command's own handler is set (a server starting)
        raise SystemExit(130) from None
    except BrokenPipeError:  # a reader gone (``watch … | head``): the rest is not wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        raise SystemExit(0) from None


@contextlib.contextmanager
def _refusals_named(command: str) -> Iterator[None]:
    """Every refusal reads ``tickerplant <command>: …``, as a command's own say it: one that
    shared code raises (the configuration, a token file, a fault profile) cannot name the
    command it refuses, so it is named here."""
    try:
        yield
    except SystemExit as exc:
        if isinstance(exc.code, str) and not exc.code.startswith("tickerplant "):
            raise SystemExit(f"tickerplant {command}: {exc.code}") from None
        raise


def _run(args: argparse.Namespace) -> None:
    if args.command == "serve":
        config = _display(admin_token(build_config(args)), args.log_format)
        if config.workers == 1:
            uvloop.run(commands.serve(config))
        else:
            uvloop.run(commands.serve_workers(config, args.log_level, args.log_format, nats_token(config)))
    elif args.command in ("plant", "gateway"):
        config, token = _split(args)
        config = _display(config, args.log_format)
        lifeline = sys.stdin.buffer if args.config_stdin else None
        run = commands.plant if args.command == "plant" else commands.gateway
        uvloop.run(run(config, args.reuse_port, token, lifeline))
    elif args.command == "run":
        from tickerplant.bot.faketime import find_library
        from tickerplant.bot.run import run_bot

        config = _display(admin_token(build_config(args)), args.log_format)
        bot = args.bot[1:] if args.bot[:1] == ["--"] else args.bot
        try:
            library = find_library(args.faketime_lib)
        except ValueError as exc:
            raise SystemExit(f"tickerplant run: {exc}") from None
        raise SystemExit(uvloop.run(run_bot(config, bot, library, args.max_lag, os.environ, args.report)))
    elif args.command == "record":
        uvloop.run(commands.record_streams(args))
    elif args.command == "tls":
        commands.tls_init(args.dir, tuple(args.name))
    elif args.command == "accounts":
        account_commands.accounts(args, _venue_db(args))
    elif args.command == "report":
        account_commands.report(args.db, args.account, args.out, args.start, args.end, args.asset)
    elif args.command == "watch":
        from tickerplant.client.watch import watch

        with contextlib.suppress(KeyboardInterrupt):
            seen = watch(args.url, args.streams, as_json=args.json, count=args.count, seconds=args.seconds)
            try:
                uvloop.run(seen)
            except ValueError as exc:  # a URL that is no stream host's
                raise SystemExit(f"tickerplant watch: {exc}") from None
    elif args.command == "book":
        from tickerplant.client.ladder import show_book

        with contextlib.suppress(KeyboardInterrupt):
            shown = show_book(
                args.url,
                args.symbol,
                market=Market(args.market) if args.market else None,
                depth=args.depth,
                as_json=args.json,
                count=args.count,
                seconds=args.seconds,
            )
            try:
                uvloop.run(shown)
            except OSError as exc:
                raise SystemExit(f"tickerplant book: {exc}") from None


if __name__ == "__main__":
    main()
