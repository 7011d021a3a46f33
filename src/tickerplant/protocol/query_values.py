"""A REST or WebSocket API request's parameter values as the market-data answers read them
(spec §7, §8.1): an integer (``-1100`` for anything but up to 20 ASCII digits), a text
(``-1102`` for a value that is no string); an empty value is as if not sent, but an
optional ``symbol``'s (``optional_symbol``: §8.1's -1105, "Parameter 'symbol' was empty.")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickerplant.protocol.errors import RequestRefused, empty, mandatory

__all__ = ["Params", "int_param", "optional_symbol", "text_param"]

Params = Mapping[str, Any]
_DIGITS = "^[0-9]{1,20}$"


def int_param(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    legal = f"legal range is '{_DIGITS}'."
    raise RequestRefused(-1100, f"Illegal characters found in parameter '{name}'; {legal}")


def text_param(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise mandatory(name)
    return value


def optional_symbol(params: Params) -> str | None:
    """An optional ``symbol``: None when not sent; sent empty, -1105 (§8.1 lists ``symbol=``
    as its case: not every symbol, which the answer without one is). A mandatory one is
    ``text_param``'s, whose -1102 says "was empty/null" itself."""
    if params.get("symbol") == "":
        raise empty("symbol")
    return text_param(params, "symbol")
