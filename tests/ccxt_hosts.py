"""ccxt pointed at tickerplant: Binance's hosts replaced in its documented ``urls['api']``."""

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
