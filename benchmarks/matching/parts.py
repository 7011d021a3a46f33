"""What the matching benchmark's scenarios share: the start time, the accounts' deposits
and a journal that only counts."""

from __future__ import annotations

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import Balance
from tickerplant.venue.domain.events import Batch
from tickerplant.venue.domain.money import parse_amount

__all__ = ["T0", "Counting", "Deposits"]

T0 = 1_790_000_000_000


class Deposits:
    def __init__(self, accounts: int) -> None:
        money = parse_amount("1000000")
        self.rows = {
            a: [Balance(a, Market.UM, "USDT", money, 1), Balance(a, Market.CM, "BTC", money, 1)]
            for a in range(1, accounts + 1)
        }

    def balances(self, account_id: int) -> list[Balance]:
        return self.rows.get(account_id, [])


class Counting:
    def __init__(self) -> None:
        self.commits = 0

    def commit(self, batch: Batch) -> None:
        self.commits += 1
