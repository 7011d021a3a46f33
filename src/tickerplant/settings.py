"""Every setting where it lives, as the command line and a TOML file name it: read from a
parsed TOML document and parsed flags into a ``ServerConfig`` (``load``), and written out
as the TOML reference for ``--config`` (``toml_reference``). What each setting is (its
help, flag and parser) is ``config.py``'s fields' metadata; this reads it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from tickerplant.config import ServerConfig, Setting

__all__ = ["SettingField", "default_text", "load", "section_titles", "settings", "toml_reference"]



@dataclass(frozen=True, slots=True)
class SettingField:
    """One setting where it lives: ``section`` None for ServerConfig's own fields."""

    section: str | None
    name: str
    setting: Setting
    type: Any  # the field's type
    default: Any

    @property
    def path(self) -> str:
        """``name`` or ``section.name``: how ``load`` is given a flag's value."""
        return self.name if self.section is None else f"{self.section}.{self.name}"

    @property
    def toml_key(self) -> str:
        """Where it is set in a TOML file: ``name`` or ``[section] name``."""
        return self.name if self.section is None else f"[{self.section}] {self.name}"

    @property
    def takes_value(self) -> bool:
        """A flag with a value, not a switch."""
        return self.type not in (bool, bool | None)


def _sections() -> dict[str | None, type]:
    found: dict[str | None, type] = {None: ServerConfig}
    hints = typing.get_type_hints(ServerConfig)
    for f in dataclasses.fields(ServerConfig):
        if "section" in f.metadata:
            found[f.name] = hints[f.name]
    return found


def section_titles() -> dict[str, str]:
    """Each section's title, in the order the settings are listed."""
    fields = dataclasses.fields(ServerConfig)
    return {f.name: f.metadata["section"] for f in fields if "section" in f.metadata}


def settings() -> Iterator[SettingField]:
    """Every setting: ServerConfig's own fields, then each section's."""
    for name, kind in _sections().items():
        hints = typing.get_type_hints(kind)
        for f in dataclasses.fields(kind):
            if "setting" in f.metadata:
                yield SettingField(name, f.name, f.metadata["setting"], hints[f.name], f.default)


def _from_toml(item: SettingField, value: Any) -> Any:
    if isinstance(value, list):
        listed = typing.get_origin(item.type) is tuple and all(isinstance(v, str) for v in value)
        if listed and item.setting.parse is not None:  # each name checked as the flag's are
            return item.setting.parse(",".join(value))
        return tuple(value)
    if item.setting.parse is not None and isinstance(value, (str, date)):
        return item.setting.parse(value)  # "max", an ISO time, a comma list
    return value


# The least (and most) a number setting takes; ``True`` after the least: above it, not at it.
# A value past them would start a server that fails later (a port taken modulo 65,536, a
# SUBSCRIBE limit of -3 answered, a ping every -1 s).
_PORT = (0, False, 65_535)
_CENTURY_MS = 100 * 366 * 86_400_000
_BOUNDS: dict[str, tuple[float, bool, float | None]] = {
    "um_port": _PORT, "cm_port": _PORT, "admin_port": _PORT, "request_weight_per_min": (1, False, None),
    "rest_turn_ms": (0, False, None), "limits.ping_interval_s": (0, True, None),
    "limits.pong_timeout_s": (0, True, None), "limits.max_connection_age_s": (0, True, None),
    "limits.max_streams": (1, False, None), "limits.max_incoming_rate": (1, False, None),
    "limits.send_buffer_bytes": (1, False, None), "limits.send_buffer_total_bytes": (0, False, None),
    "limits.subscription_bytes_total": (0, False, None),
    "limits.close_timeout_s": (0, True, None), "simulator.batch_actions": (1, False, None),
    "simulator.tick_interval_s": (0, True, None), "simulator.step_slice_ms": (0, False, None),
    "clock_offset_ms": (-_CENTURY_MS, False, _CENTURY_MS),  # past it a timer's delay overflows (Errno 75)
}  # fmt: skip
_NONE = type(None)


def _checked(item: SettingField, value: Any) -> Any:
    """``value`` if it is of the setting's kind and within its bounds, else ``ValueError``
    naming the setting (a TOML ``max_streams = "many"`` started a server whose every
    handshake then failed)."""
    kinds = typing.get_args(item.type) if type(item.type) is types.UnionType else (item.type,)
    fits = any(
        value is None if kind is _NONE else type(value) is bool if kind is bool
        else type(value) is int if kind is int else type(value) in (int, float) if kind is float
        else isinstance(value, str) if kind is str
        else _texts(value) if typing.get_origin(kind) is tuple  # a TOML list ("paths = 'x'" read x's letters)
        else True  # enums: their parsers' own checks
        for kind in kinds
    )  # fmt: skip
    if not fits:
        raise ValueError(f"{item.toml_key} takes {_kind_text(item.type)}, not {value!r}")
    bounds = _BOUNDS.get(item.path)
    if bounds is not None and value is not None:
        least, above, most = bounds
        if not (value > least if above else value >= least) or (most is not None and value > most):
            upto = f" to {_shown(most)}" if most else ""
            told = f"above {_shown(least)}" if above else f"from {_shown(least)}{upto}"
            raise ValueError(f"{item.toml_key} takes a number {told}, not {value!r}")
    return value


def _texts(value: Any) -> bool:
    """Whether ``value`` is a list of texts (a TOML list, as a tuple)."""
    return isinstance(value, tuple) and all(isinstance(v, str) for v in value)


def _shown(bound: float) -> str:
    """A bound as the error says it: a large whole number with its thousands apart."""
    return f"{bound:,}" if isinstance(bound, int) and abs(bound) >= 10**6 else f"{bound:g}"


def _kind_text(kind: Any) -> str:
    names = {int: "a whole number", float: "a number", str: "text", bool: "true or false", _NONE: "none"}
    kinds = typing.get_args(kind) if type(kind) is types.UnionType else (kind,)
    return " or ".join(
        "a list of texts" if typing.get_origin(k) is tuple else names.get(k, getattr(k, "__name__", str(k)))
        for k in kinds
    )


def load(toml: Mapping[str, Any], flags: Mapping[str, Any] | None = None) -> ServerConfig:
    """The defaults, then ``toml`` (a parsed TOML document), then ``flags`` (each setting's
    ``path`` -> its value, parsed already). ``ValueError`` names what is wrong."""
    sections = _sections()
    known = {(item.section, item.name): item for item in settings()}
    values: dict[str | None, dict[str, Any]] = {name: {} for name in sections}
    for key, value in toml.items():
        if isinstance(value, dict):
            if key not in sections:
                raise ValueError(f"unknown section [{key}]")
            pairs: list[tuple[str | None, str, Any]] = [(key, k, v) for k, v in value.items()]
        else:
            pairs = [(None, key, value)]
        for name, k, v in pairs:
            item = known.get((name, k))
            if item is None:
                raise ValueError(f"unknown setting {f'[{name}] ' if name else ''}{k}")
            values[name][k] = _checked(item, _from_toml(item, v))
    by_path = {item.path: item for item in known.values()}
    for path, value in (flags or {}).items():
        item = by_path[path]
        values[item.section][item.name] = _checked(item, tuple(value) if isinstance(value, list) else value)
    if "urls" in values["relay"]:
        values["relay"]["enabled"] = True  # urls given, even none (Binance's): relay
    try:
        parts = {name: kind(**values[name]) for name, kind in sections.items() if name is not None}
        config = ServerConfig(**values[None], **parts)
    except TypeError as exc:  # a value of the wrong kind reached a check
        raise ValueError(str(exc)) from None
    return config


def default_text(item: SettingField) -> str | None:
    """The default as the help tells it; None for a switch that is off."""
    if item.setting.default_text is not None:
        return item.setting.default_text
    default = item.default
    if default is False or default is None or default == ():
        return None
    return f"{default:g}" if isinstance(default, float) else str(default)


def toml_reference() -> str:
    """A TOML file setting every field to its default, each with its help: the reference
    for ``--config``. Settings whose default is none (no value, an empty list) are
    commented out: an empty ``urls`` would turn the relay on."""
    lines: list[str] = []
    titles = section_titles()
    current: str | None = None
    for item in settings():
        if item.section != current:
            current = item.section
            lines += ["", f"[{current}]  # {titles[current]}" if current else ""]
        default = item.default
        if default is None or default == ():
            text = f"# {item.name} = {'[]' if default == () else ''}"
        elif isinstance(default, bool):
            text = f"{item.name} = {'true' if default else 'false'}"
        elif isinstance(default, str):
            text = f'{item.name} = "{default}"'
        elif isinstance(default, float):
            text = f"{item.name} = {default:g}"
        else:
            text = f"{item.name} = {default}"
        told = item.setting.default_text
        note = item.setting.help + (f" (default: {told})" if told and default in (None, ()) else "")
        lines.append(f"{text:<27} # {note}")
    return "\n".join(lines).strip() + "\n"
