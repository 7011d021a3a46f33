"""config.py is the one source of field knowledge: every field reaches the command line
and TOML from it, and docs/cli.md agrees with it."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tickerplant import config_values as values
from tickerplant.cli import _parser, build_config
from tickerplant.config import ServerConfig
from tickerplant.market.payloads.events import PayloadFormat
from tickerplant.settings import SettingField, load, settings, toml_reference

CLI_REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"  # the command line reference
# Tuning knobs, set in a TOML file only (``tickerplant serve --help`` lists them).
TOML_ONLY = {
    "admin_token",  # a secret: never a flag (argv is any local user's to read); admin_token_file
    "restart_delay_s",
    "simulator.batch_actions",
    "simulator.book_levels",
    "simulator.history_s",
    "simulator.tick_interval_s",
    "simulator.step_slice_ms",
    "replay.batch_events",
    "relay.enabled",  # set by --relay (and by urls in TOML)
    "faults.profile_text",  # a profile inline; --faults names one
}


def _other(item: SettingField) -> tuple[Any, list[str], Any]:
    """A value other than the default: (in TOML, as flag arguments, as configured)."""
    setting, kind = item.setting, item.type
    if kind is bool:
        return True, [], True
    if kind == bool | None:
        return False, ["--no-progress"], False
    if setting.parse is values.time_ms:
        value = 1_704_067_200_000 if item.name == "start_ms" else 1_704_070_800_000
        return "2024-01-01" if item.name == "start_ms" else str(value), [str(value)], value
    if setting.parse is values.time_or_listing:
        return "2024-01-01", ["2024-01-01"], 1_704_067_200_000
    if setting.parse is values.positive_or_max:
        return "max", ["max"], None
    if setting.parse is values.payload_format:
        return "2026", ["2026"], PayloadFormat.Y2026
    if setting.parse is values.latency_spec:
        return "constant:5,7", ["constant:5,7"], "constant:5,7"
    if setting.parse is values.queue_model_name:
        return "power-prob-2", ["power-prob-2"], "power-prob-2"
    if setting.parse is values.markets:
        return ["cm"], ["cm"], ("cm",)
    if setting.parse is values.names:
        return ["BTCUSDT", "ETHUSDT"], ["BTCUSDT,ETHUSDT"], ("BTCUSDT", "ETHUSDT")
    if setting.nargs is not None:
        return ["a", "b"], ["a", "b"], ("a", "b")
    if item.path == "faults.profile":  # a built-in profile's name: a file would be read
        return "maintenance", ["maintenance"], "maintenance"
    if kind is str:
        return "0.0.0.0", ["0.0.0.0"], "0.0.0.0"
    if kind in (int, int | None):
        value = (item.default or 0) + 7
        return value, [str(value)], value
    value = (item.default or 0.0) + 2.5
    return value, [str(value)], value


def _configured(config: ServerConfig, item: SettingField) -> Any:
    holder = config if item.section is None else getattr(config, item.section)
    return getattr(holder, item.name)


def _without(items: list[SettingField], skip: str) -> list[SettingField]:
    # replay and relay exclude each other: each is checked with the other left out
    if skip == "relay":
        return [i for i in items if i.section != "relay"]
    return [i for i in items if i.path != "replay.paths"]


def test_every_field_has_its_setting() -> None:
    every = set()
    for f in dataclasses.fields(ServerConfig):
        if "section" in f.metadata:
            section = getattr(ServerConfig(), f.name)
            every |= {f"{f.name}.{g.name}" for g in dataclasses.fields(section)}
        else:
            every.add(f.name)
    assert {item.path for item in settings()} == every


@pytest.mark.parametrize("skip", ["relay", "replay"])
def test_every_field_is_read_from_toml(skip: str) -> None:
    items = _without(list(settings()), skip)
    document: dict[str, Any] = {}
    for item in items:
        table = document if item.section is None else document.setdefault(item.section, {})
        table[item.name] = _other(item)[0]
    config = load(tomllib.loads(_dump(document)))
    for item in items:
        assert _configured(config, item) == _other(item)[2], item.path
        assert _configured(config, item) != item.default, item.path


@pytest.mark.parametrize("skip", ["relay", "replay"])
def test_every_field_but_the_tuning_knobs_has_a_flag(skip: str) -> None:
    items = _without(list(settings()), skip)
    assert {i.path for i in settings() if i.setting.flag is None} == TOML_ONLY
    argv = ["serve"]
    for item in items:
        if item.setting.flag is not None:
            value = _other(item)[1]
            argv += value if value[:1] == ["--no-progress"] else [item.setting.flag, *value]
    config = build_config(_parser().parse_args(argv))
    for item in items:
        if item.setting.flag is not None:
            assert _configured(config, item) == _other(item)[2], item.path


def test_the_toml_reference_is_the_defaults() -> None:
    assert load(tomllib.loads(toml_reference())) == ServerConfig()


def test_a_bad_setting_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"unknown setting \[limits\] ping_every"):
        load({"limits": {"ping_every": 5}})
    with pytest.raises(ValueError, match=r"unknown section \[limit\]"):
        load({"limit": {"ping_interval_s": 5}})
    with pytest.raises(ValueError, match="replay or relay, not both"):
        load({"replay": {"paths": ["x"]}, "relay": {"urls": []}})
    with pytest.raises(ValueError, match="book_levels must be a whole number of levels from 20"):
        load({"simulator": {"book_levels": 19}})  # a book shallower than @depth20
    for levels in (100.0, True):  # not a whole number
        with pytest.raises(ValueError, match=r"\[simulator\] book_levels takes a whole number, not"):
            load({"simulator": {"book_levels": levels}})
    assert load({"simulator": {"book_levels": 20}}).simulator.book_levels == 20
    for rate in (1e300, 1e7):  # a float's overflow in the warm start's draws; minutes of it
        with pytest.raises(ValueError, match=r"--sim-rate is at most 100,000 actions a second \('max'"):
            load({"simulator": {"actions_per_s": rate}})
    assert load({"simulator": {"actions_per_s": 100_000.0}}).simulator.actions_per_s == 100_000.0
    # each setting of its kind (a string for a number started a server whose every handshake failed)
    with pytest.raises(ValueError, match=r"\[limits\] max_streams takes a whole number, not 'many'"):
        load({"limits": {"max_streams": "many"}})
    with pytest.raises(ValueError, match="um_port takes a whole number, not 'abc'"):
        load({"um_port": "abc"})
    with pytest.raises(ValueError, match="clock_offset_ms takes a number from -3,162,240,000,000 to 3,162,240,000,000"):
        load({"clock_offset_ms": 10**20})  # a timer's delay overflowed (Errno 75)
    with pytest.raises(ValueError, match=r"\[replay\] paths takes a list of texts, not 'notalist'"):
        load({"replay": {"paths": "notalist"}})  # its letters were read as paths, one by one
    assert load({"relay": {"symbols": "BTCUSDT,ETHUSDT"}}).relay.symbols == ("BTCUSDT", "ETHUSDT")  # parsed
    # a list's names checked as the flag's are: a market misspelt is no market silently left out
    assert load({"legacy_conditional_orders": ["cm", "um"]}).legacy_conditional_orders == ("cm", "um")
    with pytest.raises(ValueError, match="'usdm': um, cm or um,cm"):
        load({"legacy_conditional_orders": ["usdm"]})
    assert load({"limits": {"ping_interval_s": 3}}).limits.ping_interval_s == 3  # an int where a float goes
    assert load({"rest_turn_ms": 0}).rest_turn_ms == 0  # its help's "0: one answer a turn"
    # and within its bounds, from a file or a flag
    for toml, said in (
        ({"um_port": 70000}, "um_port takes a number from 0 to 65535, not 70000"),
        ({"limits": {"ping_interval_s": -1.0}}, r"\[limits\] ping_interval_s takes a number above 0, not -1.0"),
        ({"limits": {"max_incoming_rate": -3}}, r"max_incoming_rate takes a number from 1, not -3"),
    ):  # fmt: skip
        with pytest.raises(ValueError, match=said):
            load(toml)
    with pytest.raises(ValueError, match="max_streams takes a number from 1, not 0"):
        load({}, {"limits.max_streams": 0})
    with pytest.raises(ValueError, match="um_port and cm_port are both 9000: each market listens on its own"):
        load({"um_port": 9000, "cm_port": 9000})
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--speed", "0"])
    assert "argument --speed: a positive number, or 'max'" in capsys.readouterr().err


def test_the_cli_reference_names_what_config_py_holds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--help"])
    shown = capsys.readouterr().out
    generated = set(re.findall(r"--[a-z-]+", shown[: shown.index("\n\n")])) - {"--help"}
    assert "--ping-interval" in generated and "[simulator] batch_actions" in shown
    text = CLI_REFERENCE.read_text()
    usage = text[text.index("tickerplant serve [") : text.index("tickerplant record STREAM")]
    assert set(re.findall(r"--[a-z-]+", usage)) == generated
    example = re.search(r"flags override it:\n\n```toml\n(.*?)```", text, re.S)
    assert example is not None
    document = tomllib.loads(example.group(1))
    load(document)  # the file as shown starts a server: a replay, the faults commented out
    # what it shows commented out: the faults' settings, and a relay in the replay's place
    shown = tomllib.loads(re.sub(r"^# ?(?=\[?[a-z_]+\]? ?=|\[)", "", example.group(1), flags=re.M))
    assert {"drop_after_s", "stall_after_s"} <= set(shown["faults"]) and "relay" in shown
    known = {(i.section, i.name) for i in settings()}
    for key, value in shown.items():
        pairs = [(key, k) for k in value] if isinstance(value, dict) else [(None, key)]
        assert set(pairs) <= known, pairs
    load({k: v for k, v in shown.items() if k != "replay"})  # the relay's values read as they say


def _dump(document: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    top = [f"{k} = {value(v)}" for k, v in document.items() if not isinstance(v, dict)]
    tables = [
        f"[{k}]\n" + "\n".join(f"{n} = {value(x)}" for n, x in v.items())
        for k, v in document.items()
        if isinstance(v, dict)
    ]
    return "\n".join(top) + "\n" + "\n".join(tables) + "\n"


def test_the_queue_model_is_risk_averse_unless_asked() -> None:
    assert ServerConfig().queue_model == "risk-averse" and load({}).queue_model == "risk-averse"
    assert load({"queue_model": "log-prob"}).queue_model == "log-prob"
    argv = ["serve", "--queue-model", "power-prob-3"]
    assert build_config(_parser().parse_args(argv)).queue_model == "power-prob-3"
    with pytest.raises(ValueError, match="one of risk-averse"):
        load({"queue_model": "optimistic"})
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--queue-model", "optimistic"])


def test_the_payload_format_is_classic_unless_asked() -> None:
    assert ServerConfig().payload_format is PayloadFormat.CLASSIC
    assert load({}).payload_format is PayloadFormat.CLASSIC
    assert load({"payload_format": 2026}).payload_format is PayloadFormat.Y2026  # TOML's number too
    assert load({"payload_format": "classic"}).payload_format is PayloadFormat.CLASSIC
    argv = ["serve", "--payload-format", "2026"]
    assert build_config(_parser().parse_args(argv)).payload_format is PayloadFormat.Y2026
    with pytest.raises(ValueError, match="classic or 2026"):
        load({"payload_format": "cm_merged"})
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--payload-format", "2025"])
