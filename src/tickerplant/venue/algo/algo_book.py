"""Conditional orders, the Algo Order service's (trading spec part 2 §4), without I/O: what
``/fapi/v1/algoOrder`` keeps until a price triggers it, then hands the engine as an
ordinary order (``algo_trigger.py`` does the handing).

- Types ``STOP_MARKET``, ``TAKE_PROFIT_MARKET``, ``STOP``, ``TAKE_PROFIT`` (a LIMIT child at
  ``price``) and ``TRAILING_STOP_MARKET``; ``algoType`` ``CONDITIONAL`` only.
- The trigger (part 2 §4.2's table) on the latest price ``workingType`` names: the market's
  last trade (``CONTRACT_PRICE``, the default) or the mark (``MARK_PRICE``). A condition
  already met at placement is refused ``-2021 "Order would immediately trigger."``.
- ``closePosition=true`` (STOP_MARKET, TAKE_PROFIT_MARKET) closes the whole position when it
  triggers, no ``quantity`` (``-4137``); one such order per direction (``-4130``).
- A trailing stop activates when the price reaches ``activatePrice`` (the latest price when
  none is given; one already passed ``-2021``) and triggers once the price has come back
  ``callbackRate`` % (0.1–20) from its best since activation.
- Every parameter sent is read in its form whatever the type (``order_params.check_forms``
  and the enumerations' readers): garbage in one the type does not use is refused as on a
  new order; ``priceMatch`` only on ``STOP``/``TAKE_PROFIT`` (-5038), instead of ``price``
  (-1106), the child then priced by the book when it triggers; GTD takes ``goodTillDate``.
- Nothing is reserved until triggered (decision 7); at most 200 open per account across
  symbols (``-4045``); ids self-increment per market; closed ones are kept (the last
  ``ALGO_KEPT`` per account) for the reads.

Statuses (part 2 §4.3): ``NEW`` → ``TRIGGERING`` → ``TRIGGERED`` (its child's ``orderId``
in ``actualOrderId``) → ``FINISHED`` once the child is done; ``CANCELED`` by the user;
``REJECTED`` when the child is refused (``rm`` says why).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Mapping
from fractions import Fraction

from tickerplant.market.instruments import Instrument
from tickerplant.market.payloads.exchange_info import order_filters
from tickerplant.protocol.errors import mandatory
from tickerplant.venue.domain.algo_order import TYPES, AlgoOrder
from tickerplant.venue.domain.ids import ALGO_IDS_FROM
from tickerplant.venue.domain.order_params import (
    ALGO_DECIMALS,
    check_forms,
    check_price,
    check_quantity,
    decimal_units,
    good_till,
    parse_bool,
    parse_int,
    price_match,
    refuse_reduce_only,
    refused,
    response_type,
    stp_mode,
    time_in_force,
    working_type,
)
from tickerplant.venue.domain.orders import (
    CLIENT_ORDER_ID,
    Side,
    TimeInForce,
    new_client_order_id,
)
from tickerplant.venue.ledger.position_modes import closes, position_side

__all__ = ["ALGO_KEPT", "MAX_OPEN", "AlgoBook"]

MAX_OPEN = 200  # open algo orders per account, every symbol (part 2 §4.1)
ALGO_KEPT = 1000  # closed algo orders kept per account for the reads
_IMMEDIATE = (-2021, "Order would immediately trigger.")
_GTE_EXISTS = "An open stop or take profit order with GTE and closePosition in the direction is existing."

_STOP_ABOVE_MAX = (-4007, "Stop price greater than max price.")


class AlgoBook:
    """One market's algo orders."""

    def __init__(
        self, instruments: Mapping[str, Instrument], client_ids: Callable[[], str] = new_client_order_id,
        first_id: int = ALGO_IDS_FROM,
    ) -> None:
        """``first_id``: the market's first algo id (``venue/domain/ids.py``)."""
        self.instruments = instruments
        self.filters = {symbol: order_filters(inst) for symbol, inst in instruments.items()}
        self.client_ids = client_ids
        self.first_id = self.next_id = first_id
        self._open: dict[int, dict[int, AlgoOrder]] = {}  # account -> algo id -> order
        self._closed: dict[int, deque[AlgoOrder]] = {}
        self.by_symbol: dict[str, dict[int, AlgoOrder]] = {}  # untriggered, for the price checks

    # -- reads ------------------------------------------------------------------------------

    def open_orders(self, account_id: int, symbol: str | None = None) -> list[AlgoOrder]:
        found = self._open.get(account_id, {}).values()
        return sorted((a for a in found if symbol is None or a.symbol == symbol), key=lambda a: a.algo_id)

    def orders(self, account_id: int, symbol: str) -> list[AlgoOrder]:
        kept = [*self._closed.get(account_id, ()), *self._open.get(account_id, {}).values()]
        return sorted((a for a in kept if a.symbol == symbol), key=lambda a: a.algo_id)

    def every_order(self) -> list[AlgoOrder]:
        """Every account's open algo orders and the closed ones kept, by id."""
        kept = [a for orders in self._open.values() for a in orders.values()]
        kept += [a for orders in self._closed.values() for a in orders]
        return sorted(kept, key=lambda a: a.algo_id)

    def find(self, account_id: int, params: Mapping[str, str]) -> AlgoOrder:
        algo_id, client_id = parse_int(params, "algoId"), params.get("clientalgoid") or None
        if algo_id is None and client_id is None:
            raise mandatory("algoId")
        for order in [*self._open.get(account_id, {}).values(), *reversed(self._closed.get(account_id, ()))]:
            if (algo_id is not None and order.algo_id == algo_id) or (
                algo_id is None and order.client_algo_id == client_id
            ):
                return order
        raise refused(-2013, "Order does not exist.")

    # -- commands ---------------------------------------------------------------------------

    def place(
        self, account_id: int, params: Mapping[str, str], latest: int | None, mark: int | None, hedge: bool,
        now_ms: int,
    ) -> AlgoOrder:  # fmt: skip
        """A new algo order, not yet triggered; ``latest``/``mark``: the prices now (units),
        ``hedge``: the account's position mode (``position_modes.py``: ``positionSide``
        LONG or SHORT, no ``reduceOnly``, a closing side for ``closePosition``)."""
        if params.get("algotype", "") != "CONDITIONAL":
            raise refused(-1116, "Invalid algoType.") if params.get("algotype") else mandatory("algoType")
        symbol = params.get("symbol", "")
        if not symbol:
            raise mandatory("symbol")
        inst = self.instruments.get(symbol)  # as listed, case and all (order_params.py)
        if inst is None:
            raise refused(-1121, "Invalid symbol.")
        try:
            side = Side(params.get("side", ""))
        except ValueError:
            raise refused(-1117, "Invalid side.") from None
        kind = params.get("type", "")
        if kind not in TYPES:
            raise refused(-1116, "Invalid orderType.")
        if len(self._open.get(account_id, {})) >= MAX_OPEN:
            raise refused(-4045, "Reach max stop order limit.")
        refuse_reduce_only(params, hedge)
        if params.get("positionside", "BOTH") not in ("BOTH", "LONG", "SHORT"):
            raise refused(-4060, "Invalid position side.")
        # every parameter sent in its form, whether the type uses it or not (order_params.py)
        limit = kind in ("STOP", "TAKE_PROFIT")  # the types with a limit price, and a time in force
        sent_tif = time_in_force(params, inst.market)  # a MARKET child's is GTC, as a MARKET order's
        tif = sent_tif if limit and sent_tif is not None else TimeInForce.GTC
        response_type(params)  # its value: the endpoint's answer is the same either way
        stp, match, working = stp_mode(params), price_match(params), working_type(params)
        check_forms(params, ALGO_DECIMALS)
        if match != "NONE":  # a STOP's or TAKE_PROFIT's child priced by the book instead (part 2 §4.2)
            if not limit:
                raise refused(-5038, "Price match only supports order type: LIMIT, STOP AND TAKE_PROFIT")
            if params.get("price"):
                raise refused(-1106, "Parameter 'price' sent when not required.")
        held = position_side(params, hedge)
        close = parse_bool(params, "closePosition")
        reduce_only = parse_bool(params, "reduceOnly")
        if close and hedge and not closes(params, side):
            raise refused(-2022, "ReduceOnly Order is rejected.")
        qty = _units(params, "quantity", inst.qty_decimals)
        if close:
            if kind not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
                raise refused(-1106, "Parameter 'closePosition' sent when not required.")
            if qty:
                raise refused(-4137, "Quantity must be zero with closePosition equals true")
            if reduce_only:
                raise refused(-1106, "Parameter 'reduceOnly' sent when not required.")
            if any(a.close_position and a.side is side and a.symbol == inst.symbol and a.position_side is held
                   for a in self._open.get(account_id, {}).values()):  # fmt: skip
                raise refused(-4130, _GTE_EXISTS)
        elif qty <= 0:
            raise mandatory("quantity")
        price = _units(params, "price", inst.price_decimals) if limit and match == "NONE" else 0
        if limit and match == "NONE" and price <= 0:
            raise mandatory("price")
        trailing = kind == "TRAILING_STOP_MARKET"
        trigger = 0 if trailing else _units(params, "triggerPrice", inst.price_decimals) or _units(
            params, "stopPrice", inst.price_decimals
        )
        if not trailing and trigger <= 0:
            raise mandatory("triggerPrice")
        f = self.filters[inst.symbol]  # PRICE_FILTER, the stop price's bound, LOT_SIZE (part 2 §8)
        if price:
            check_price(f, price)
        if trigger > f.max_price:
            raise refused(*_STOP_ABOVE_MAX)
        if qty:
            check_quantity(f, kind.endswith("_MARKET"), qty)
        now = latest if working == "CONTRACT_PRICE" else mark
        activate, rate = 0, ""
        if trailing:
            rate = params.get("callbackrate", "")
            if not rate:
                raise mandatory("callbackRate")
            if not 10**19 <= decimal_units(rate, "callbackRate", 20) <= 20 * 10**20:  # 0.1 to 20 %
                raise refused(-2007, "Invalid callBack rate.")
            activate = _units(params, "activatePrice", inst.price_decimals) or _units(
                params, "activationPrice", inst.price_decimals
            )
            if activate > f.max_price:
                raise refused(*_STOP_ABOVE_MAX)
            if activate and now is not None and (activate >= now if side is Side.BUY else activate <= now):
                raise refused(*_IMMEDIATE)
        elif now is not None and _met(kind, side, trigger, now):
            raise refused(*_IMMEDIATE)
        client_id = params.get("clientalgoid") or self.client_ids()
        if CLIENT_ORDER_ID.fullmatch(client_id) is None:
            raise refused(-4015, "Client order id is not valid.")
        gtd = good_till(params, tif, now_ms)
        order = AlgoOrder(
            account_id, inst.symbol, self.next_id, client_id, side, kind, tif, qty, price, trigger, working,
            close, reduce_only, parse_bool(params, "priceProtect"), activate, rate, stp, match, gtd, now_ms,
            now_ms, position_side=held,
        )  # fmt: skip
        if trailing and not activate and now is not None:
            order.extreme = now  # activated at once, from the latest price
        self.next_id += 1
        self._open.setdefault(account_id, {})[order.algo_id] = order
        self.by_symbol.setdefault(order.symbol, {})[order.algo_id] = order
        return order

    def cancel(self, account_id: int, params: Mapping[str, str], now_ms: int) -> AlgoOrder:
        order = self.find(account_id, params)
        if not order.is_open:
            raise refused(-2011, "Unknown order sent.")
        if order.status != "NEW":
            raise refused(-4117, "stop order is triggering")
        self.close(order, "CANCELED", now_ms)
        return order

    def close(self, order: AlgoOrder, status: str, now_ms: int, reason: str = "") -> None:
        order.status, order.update_ms, order.reason = status, now_ms, reason or order.reason
        self.by_symbol.get(order.symbol, {}).pop(order.algo_id, None)
        if not order.is_open:
            self._open.get(order.account_id, {}).pop(order.algo_id, None)
            self._closed.setdefault(order.account_id, deque(maxlen=ALGO_KEPT)).append(order)

    def restore(self, order: AlgoOrder) -> None:
        """One reloaded from the journal."""
        self.next_id = max(self.next_id, order.algo_id + 1)
        if order.is_open:
            self._open.setdefault(order.account_id, {})[order.algo_id] = order
            if order.status == "NEW":
                self.by_symbol.setdefault(order.symbol, {})[order.algo_id] = order
        else:
            self._closed.setdefault(order.account_id, deque(maxlen=ALGO_KEPT)).append(order)

    def due(self, symbol: str, latest: int | None, mark: int | None, now_ms: int) -> list[AlgoOrder]:
        """The untriggered orders on ``symbol`` these prices trigger, now ``TRIGGERING``
        and out of the price checks; trailing stops' best prices moved."""
        waiting = self.by_symbol.get(symbol)
        if not waiting:
            return []
        due = []
        for order in list(waiting.values()):
            price = latest if order.working_type == "CONTRACT_PRICE" else mark
            if price is None:
                continue
            if order.type == "TRAILING_STOP_MARKET":
                if not _trailing_due(order, price):
                    continue
            elif not _met(order.type, order.side, order.trigger_price, price):
                continue
            order.status, order.trigger_ms, order.update_ms = "TRIGGERING", now_ms, now_ms
            del waiting[order.algo_id]
            due.append(order)
        return due

    def copy(self, order: AlgoOrder) -> AlgoOrder:
        return dataclasses.replace(order)


def _met(kind: str, side: Side, trigger: int, price: int) -> bool:
    """Part 2 §4.2's table: STOP types trigger going through the price away from the side's
    favour, TAKE_PROFIT types toward it."""
    stop = kind.startswith("STOP")
    if side is Side.BUY:
        return price >= trigger if stop else price <= trigger
    return price <= trigger if stop else price >= trigger


def _trailing_due(order: AlgoOrder, price: int) -> bool:
    buy = order.side is Side.BUY
    if not order.extreme:  # not activated: waits for the activation price
        if price <= order.activate_price if buy else price >= order.activate_price:
            order.extreme = price
        return False
    order.extreme = min(order.extreme, price) if buy else max(order.extreme, price)
    rate = Fraction(order.callback_rate) / 100
    return price >= order.extreme * (1 + rate) if buy else price <= order.extreme * (1 - rate)


def _units(params: Mapping[str, str], name: str, decimals: int) -> int:
    text = params.get(name.lower(), "")
    return decimal_units(text, name, decimals) if text else 0
