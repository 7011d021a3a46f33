"""The start-up calls outside futures without sockets (overview decision 11, part 5 §4 item 1):
the venue's assets, the coin rows in Binance's key order, and each endpoint's security
type and weight through the futures endpoints' own checks, over a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from tickerplant.market.instruments import Market, catalogue
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.venue.auth.accounts import KeyType
from tickerplant.venue.auth.checks import PrivateRequest
from tickerplant.venue.auth.keyring import Keyring
from tickerplant.venue.auth.signing import hmac_hex
from tickerplant.venue.auth.store import AccountStore
from tickerplant.venue.wire.outside_futures import coin_rows, outside_rest, venue_assets
from tickerplant.venue.wire.rest import PrivateRest

NOW = 1_790_000_000_000
IP = "203.0.113.7"
SECRET = "A" * 64
GETALL = ("GET", "/sapi/v1/capital/config/getall")
CROSS = ("GET", "/sapi/v1/margin/allPairs")
ISOLATED = ("GET", "/sapi/v1/margin/isolated/allPairs")


class Venue:
    def __init__(self, path: Path) -> None:
        self.store = AccountStore(path)
        account = self.store.create_account("a", [(Market.UM, "USDT", 10**12)], now_ms=1)
        self.key = self.store.add_key(account.account_id, KeyType.HMAC, SECRET, now_ms=1).api_key
        self.keys = Keyring(path)
        self.weight = RequestWeight()
        instruments = [*catalogue(Market.UM, NOW), *catalogue(Market.CM, NOW)]
        self.rest: PrivateRest = outside_rest(Market.UM, self.keys, self.weight, venue_assets(instruments))


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Venue]:
    made = Venue(tmp_path / "venue.db")
    yield made
    made.keys.close()
    made.store.close()


def ask(venue: Venue, route: tuple[str, str], query: str, api_key: str | None = "") -> tuple[int, object, int]:
    request = PrivateRequest(query.encode(), b"", venue.key if api_key == "" else api_key, IP)
    answer = venue.rest.answer(route, request, NOW)
    return answer.status, msgspec.json.decode(answer.body), answer.used_weight


def signed(query: str) -> str:
    return f"{query}&signature={hmac_hex(SECRET, query.encode())}"


def test_the_venues_assets_are_every_wallets_and_every_contracts() -> None:
    um, cm = catalogue(Market.UM, NOW), catalogue(Market.CM, NOW)
    assets = venue_assets([*um, *cm])
    assert list(assets) == sorted(assets)
    assert {"USDT", "USDC", "BNB", "BTC", "ETH", "FDUSD", "BFUSD"} <= set(assets)  # the USDⓈ-M wallet's
    assert {i.base_asset for i in um} | {i.margin_asset for i in cm} <= set(assets)
    assert "USD" not in assets  # COIN-M's quote is a unit, no wallet holds it
    assert venue_assets([]) == ("BFUSD", "BNB", "BTC", "ETH", "FDUSD", "USDC", "USDT")


def test_a_coin_row_has_binances_keys_in_order_and_no_networks() -> None:
    (row,) = coin_rows(["BTC"])
    assert msgspec.json.encode(row) == (
        b'{"coin":"BTC","depositAllEnable":false,"withdrawAllEnable":false,"name":"BTC","free":"0",'
        b'"locked":"0","freeze":"0","withdrawing":"0","ipoing":"0","ipoable":"0","storage":"0",'
        b'"isLegalMoney":false,"trading":true,"networkList":[]}'
    )


def test_signed_calls_answer_at_binances_weights(venue: Venue) -> None:
    status, coins, used = ask(venue, GETALL, signed(f"timestamp={NOW}&recvWindow=10000"))
    assert (status, used) == (200, 10)
    assert coins == coin_rows(venue_assets([*catalogue(Market.UM, NOW), *catalogue(Market.CM, NOW)]))
    assert ask(venue, ISOLATED, signed(f"timestamp={NOW}")) == (200, [], 20)
    assert ask(venue, CROSS, "") == (200, [], 21)  # MARKET_DATA: the key alone


def test_unsigned_or_keyless_requests_get_the_futures_endpoints_errors(venue: Venue) -> None:
    missing = "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
    assert ask(venue, GETALL, "") == (400, {"code": -1102, "msg": missing}, 10)
    assert ask(venue, ISOLATED, "") == (400, {"code": -1102, "msg": missing}, 20)
    no_signature = "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
    assert ask(venue, GETALL, f"timestamp={NOW}") == (400, {"code": -1102, "msg": no_signature}, 30)
    wrong = f"timestamp={NOW}&signature={'0' * 64}"
    assert ask(venue, GETALL, wrong) == (400, {"code": -1022, "msg": "Signature for this request is not valid."}, 40)
    old = signed(f"timestamp={NOW - 6000}")
    too_old = "Timestamp for this request is outside of the recvWindow."
    assert ask(venue, GETALL, old) == (400, {"code": -1021, "msg": too_old}, 50)
    assert ask(venue, CROSS, "", None) == (401, {"code": -2014, "msg": "API-key format invalid."}, 51)
    rejected = "Invalid API-key, IP, or permissions for action."
    assert ask(venue, CROSS, "", "Z" * 64) == (401, {"code": -2015, "msg": rejected}, 52)


def test_spot_fees_and_margin_liquidations_are_the_empty_answers_binance_gives_a_futures_only_venue(
    venue: Venue,
) -> None:
    """ccxt's ``binancecoinm`` at its defaults (``defaultType`` spot) asks these for
    ``fetch_trading_fees()`` and ``fetch_my_liquidations()``: USER_DATA, weight 1 each; no
    spot symbol (a symbol named: ``-1121``), no margin account's liquidations."""
    fees, liquidations = ("GET", "/sapi/v1/asset/tradeFee"), ("GET", "/sapi/v1/margin/forceLiquidationRec")
    assert ask(venue, fees, signed(f"timestamp={NOW}")) == (200, [], 1)
    assert ask(venue, liquidations, signed(f"timestamp={NOW}&current=1&size=100")) == (
        200, {"rows": [], "total": 0}, 2,
    )  # fmt: skip
    invalid = {"code": -1121, "msg": "Invalid symbol."}
    assert ask(venue, fees, signed(f"symbol=BTCUSDT&timestamp={NOW}")) == (400, invalid, 3)
    missing = "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
    assert ask(venue, liquidations, "") == (400, {"code": -1102, "msg": missing}, 4)
    assert ask(venue, fees, signed(f"symbol=&timestamp={NOW}")) == (200, [], 5)  # empty: not sent
    status, refusal, _ = ask(venue, liquidations, signed(f"size=abc&timestamp={NOW}"))
    assert (status, refusal["code"], "'size'" in refusal["msg"]) == (400, -1102, True)  # type: ignore[index]
