"""ccxt pointed at tickerplant: Binance's hosts replaced in its documented ``urls['api']``.

The tests make each ccxt class at its defaults (overview decision 11): its keys, and besides
them only constructor settings a user sets from ccxt's manual and that change nothing on the
wire: ``enableRateLimit`` off (ccxt's own pacing between requests, which would only slow a
test) and ``timeout``. ``api.binance.com`` is pointed too wherever keys are given: ccxt's
``sapi`` and spot calls at start-up (docs/venue.md, "Start-up calls outside futures")."""

from __future__ import annotations

from typing import Any

__all__ = ["point"]


def point(exchange: Any, hosts: dict[str, str]) -> Any:
    """Replace Binance's hosts in every URL of ``exchange.urls['api']``."""

    def walk(node: dict[str, Any]) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value)
            elif isinstance(value, str):
                for real, local in hosts.items():
                    if value.startswith(real):
                        node[key] = local + value[len(real) :]

    walk(exchange.urls["api"])
    return exchange
