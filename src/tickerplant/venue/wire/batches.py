"""The batch endpoints' lists (trading spec part 2 §7): ``batchOrders`` (a JSON array of at
most 5 orders or modifications, in the query or the form body), ``orderIdList`` and
``origClientOrderIdList`` (at most 10).

Parsed tolerantly, as the spec asks: whitespace anywhere, numbers or strings for decimals,
and Python's ``True``/``False`` for booleans (python-binance builds the array from a Python
``repr``); a ``null`` value is as if not sent (``-1102``'s "was not sent, was empty/null", and
as the WebSocket API reads its params), not the text ``None``. Each element is run alone, in
the input's order; a refused one is its ``{"code":…,"msg":…}`` in its place, and the call
answers 200 (§7).

A JSON number is read as the decimal that was sent (part 2 §2: "parse with a decimal type;
never float"), so ``80000.10000000000001`` meets the precision check (``-1111``) as it does in
a query; a float made of it would round the digits away and accept it. A number in exponent
form (python-binance writes a Python float's ``repr``: ``1e-05``) is that decimal written out
exactly (``0.00001``), its digits all counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import msgspec

from tickerplant.protocol.errors import RequestRefused, mandatory, not_valid
from tickerplant.venue.domain.order_params import refused

__all__ = ["MAX_BATCH", "MAX_CANCELS", "NEITHER_LIST", "each", "elements", "id_list"]

MAX_BATCH = 5
MAX_CANCELS = 10
# python-binance writes a batch's booleans as Python's (``True``): bare, outside any string
# (a JSON string is matched whole and kept, so a client id "bot-True-1" is not touched)
_PYTHON_BOOL = re.compile(r'"(?:[^"\\]|\\.)*"|(?<!\w)(True|False)(?!\w)')


_DIGITS = re.compile(r"[0-9]{1,19}")  # an order id quoted: a LONG's digits
_WIDEST = 40  # digits a number written with an exponent may expand to: past it, kept as sent


def _decimal(text: str) -> str:
    """A JSON number's text as a plain decimal, exactly (no float between). One whose exponent
    puts its digits further than ``_WIDEST`` places from the point is kept as it was written,
    and refused as that text is (``-1100``): ``1e1000000000`` expanded was a billion digits,
    gigabytes made on the loop by a request of a kilobyte."""
    if "e" not in text and "E" not in text:
        return text
    exact = Decimal(text)
    return text if abs(exact.adjusted()) > _WIDEST else format(exact, "f")


_read_batch = msgspec.json.Decoder(float_hook=_decimal).decode


def _json_bool(found: re.Match[str]) -> str:
    """A bare Python boolean as JSON's; a string as it was."""
    word = found.group(1)
    return found.group(0) if word is None else word.lower()


def elements(params: Mapping[str, str]) -> list[dict[str, str]]:
    """The orders of ``batchOrders``, each as a request's parameters (names in lower case,
    values as text)."""
    text = params.get("batchorders")
    if not text:
        raise mandatory("batchOrders")
    try:
        found = _read_batch(_PYTHON_BOOL.sub(_json_bool, text))
    except (msgspec.DecodeError, RecursionError):  # nested past msgspec's depth: not valid either
        found = None
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise not_valid("batchOrders")
    if not 0 < len(found) <= MAX_BATCH:  # part 1 §6.3 gives -4082 one text, the place batch's
        raise refused(-4082, "Invalid number of batch place orders.")
    return [{str(name).lower(): _text(v) for name, v in item.items() if v is not None} for item in found]


# a batch cancel with neither list: the single cancel's text (part 2 §6), of the lists (inference)
NEITHER_LIST = "Param 'orderIdList' or 'origClientOrderIdList' must be sent, but both were empty/null!"


def id_list(params: Mapping[str, str], name: str) -> list[Any] | None:
    """``orderIdList`` (integers) or ``origClientOrderIdList`` (strings); None if absent or
    empty: ``[]`` names no order, "empty" in -1102's "must be sent, but both were
    empty/null!" (``NEITHER_LIST``), as an empty ``orderId`` is the single cancel's."""
    text = params.get(name.lower())
    if text is None:
        return None
    try:
        found = msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError):
        found = None
    if isinstance(found, list) and name == "orderIdList":  # numbers, or quoted (part 5 §3: JS's 64-bit ids)
        found = [int(i) if type(i) is str and _DIGITS.fullmatch(i) else i for i in found]
    wanted = int if name == "orderIdList" else str
    if not isinstance(found, list) or not all(type(i) is wanted for i in found):
        raise not_valid(name)
    if len(found) > MAX_CANCELS:  # EXCEED_MAX_CANCEL_ORDER_SIZE (part 1 §6.3)
        raise refused(-4032, "Exceed maximum cancel order size.")
    return found or None


def each(items: list[dict[str, str]], run: Callable[[dict[str, str]], Any]) -> list[Any]:
    """``run`` each element; a refusal answers in its place."""
    answers: list[Any] = []
    for item in items:
        try:
            answers.append(run(item))
        except RequestRefused as refusal:
            answers.append({"code": refusal.code, "msg": refusal.msg})
    return answers


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
