"""A public file's integer and maker columns (``public_files.blocks``), each read as one
JSON array: about half the time of a ``map`` of ``int`` over the fields, which a replay at
``--speed max`` pays for every id and time of every row. A column JSON does not spell as
the files do goes field by field, so every field reads, or raises, as it always did."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["ints", "is_true", "makers", "unread_row"]

_Decode = Callable[[bytes], list[Any]]

# a buyer-is-maker flag: lowercase in the files (spec §9.2), capitalised in some
is_true = (b"true", b"True").__contains__


def _json_column(decode: _Decode, each: Callable[[bytes], Any], fields: list[bytes]) -> list[Any]:
    """``each`` of each field: the column read as one JSON array (``decode``); one JSON does
    not spell so (a sign, leading zeros, "True") goes field by field."""
    try:
        values = decode(b"[%b]" % b",".join(fields))
        if len(values) == len(fields):
            return values
    except msgspec.DecodeError:
        pass
    return list(map(each, fields))


_bool_array = msgspec.json.Decoder(list[bool]).decode


def _json_bools(text: bytes) -> list[bool]:
    """JSON's ``true`` and ``false``, each spelt with no space around it, which JSON takes
    and ``is_true`` does not (" true" is no maker's true): as many bytes as that spelling has."""
    values = _bool_array(text)
    if len(text) != 1 + 5 * len(values) + values.count(False):
        raise msgspec.DecodeError("a literal with spaces around it")
    return values


ints = functools.partial(_json_column, msgspec.json.Decoder(list[int]).decode, int)
makers = functools.partial(_json_column, _json_bools, is_true)


def unread_row(name: str, number: int, exc: Exception, row: bytes) -> ValueError:
    """What a row a replay cannot read is told as: its file and number, why, and its text
    (a row short of a column says how many it has, not Python's "list index out of range")."""
    why = f"{row.count(b',') + 1} columns, too few" if isinstance(exc, IndexError) else str(exc)
    return ValueError(f"{name}, data row {number}: {why} in {row[:120]!r}")
