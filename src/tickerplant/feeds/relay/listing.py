"""What the relay lists, decided before it subscribes anything: each upstream market's
exchangeInfo (§7.3), narrowed to the chosen symbols, COIN-M's pairs priced where the
catalogue does not price them.

exchangeInfo is asked again, ``delays`` apart, while the upstream cannot be reached, and
those waits are on the relay's ``Clock``, as its stall watch and snapshot schedule are, so
a relay on a driven clock retries when that clock says, not after the wall's seconds. An
answer that is not exchangeInfo is not asked again: the same question gets the same answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence

import msgspec

from tickerplant.clock import Clock
from tickerplant.market.instruments import Instrument, Market, listed_price
from tickerplant.market.payloads.listing import Listing, priced, read_exchange_info
from tickerplant.protocol.endpoints import rest_base, rest_prefix

__all__ = ["RelayError", "choose", "exchange_info_url", "fetch_listing", "priced_pairs"]

log = logging.getLogger("tickerplant.relay")


class RelayError(Exception):
    """The relay cannot start: the upstream cannot be read, or lacks what was asked for."""


def choose(
    listed: Mapping[Market, Sequence[Instrument]],
    symbols: Collection[str] | None,
    skipped: Mapping[str, str] | None = None,
) -> dict[Market, list[Instrument]]:
    """What to relay per market: everything listed, or the instruments named in ``symbols``
    (any case). A name listed on no market is an error that names it, with the reason the
    upstream gave (``skipped``: symbol -> why it is not listed) when there is one."""
    if symbols is None:
        return {market: list(insts) for market, insts in listed.items()}
    wanted = {symbol.upper() for symbol in symbols}
    chosen = {market: [i for i in insts if i.symbol in wanted] for market, insts in listed.items()}
    missing = wanted - {i.symbol for insts in chosen.values() for i in insts}
    if missing:
        why = skipped or {}
        named = [f"{s} ({why[s]})" if s in why else s for s in sorted(missing)]
        raise RelayError(f"not listed upstream as TRADING: {', '.join(named)}")
    return chosen


def exchange_info_url(upstream: str, market: Market) -> str:
    """Where the stream host ``upstream`` of ``market`` serves exchangeInfo (§7.3)."""
    return f"{rest_base(upstream)}{rest_prefix(market)}/exchangeInfo"


async def fetch_listing(
    market: Market,
    upstream: str,
    fetch: Callable[[str], Awaitable[bytes]],
    clock: Clock,
    attempts: int,
    delays: Iterator[float],
) -> Listing:
    """``market``'s exchangeInfo from the stream host ``upstream``, asked ``attempts`` times
    at most, ``delays`` (seconds, of ``clock``) apart; a ``RelayError`` saying what failed."""
    url = exchange_info_url(upstream, market)
    for attempt in range(1, attempts + 1):
        try:
            body = await fetch(url)
        except OSError as exc:
            log.warning("%s: exchangeInfo attempt %d of %d failed: %s", market.value, attempt, attempts, exc)
            if attempt == attempts:
                raise RelayError(
                    f"cannot list the {market.value} upstream {upstream}: "
                    f"GET {url} failed {attempts} times, last with: {exc}"
                ) from exc
            await clock.sleep_until(clock.now_ms() + next(delays) * 1000)
            continue
        try:
            return read_exchange_info(market, body)
        except msgspec.DecodeError as exc:  # an answer, but not exchangeInfo: asking again will not help
            raise RelayError(f"{url} did not answer with an exchangeInfo body: {exc}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


async def priced_pairs(
    upstream: str, insts: list[Instrument], fetch: Callable[[str], Awaitable[bytes]]
) -> list[Instrument]:
    """COIN-M pairs priced at the upstream's marks when the catalogue lists some not: an
    exchangeInfo carries no price, and a pair's brackets are BTC's scaled by its price
    (``brackets.coin_scale``). Unanswered, those pairs keep BTC's ladder as it is, said."""
    if all(listed_price(Market.CM, inst.base_asset) is not None for inst in insts):
        return insts
    url = f"{rest_base(upstream)}{rest_prefix(Market.CM)}/premiumIndex"
    try:
        return priced(insts, await fetch(url))
    except (OSError, msgspec.DecodeError) as exc:
        log.warning("cm: GET %s failed (%s): its pairs the catalogue does not list keep BTC's "
                    "brackets in their own coin", url, exc)  # fmt: skip
        return insts
