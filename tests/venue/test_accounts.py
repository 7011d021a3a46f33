"""Amounts as integers, balances to wallets, key types read from PEM, IP restrictions."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1
from cryptography.hazmat.primitives.asymmetric.ec import generate_private_key as ec_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from tickerplant.market.instruments import Market
from tickerplant.venue.auth.accounts import ApiKey, KeyType, key_type_of, parse_balances
from tickerplant.venue.domain.money import format_amount, parse_amount


def test_amounts_are_exact_units_of_1e8() -> None:
    assert parse_amount("10000") == 10**12 and parse_amount("0.00000001") == 1
    assert parse_amount("1.50000000000") == 150_000_000  # extra zeros, exact
    assert format_amount(150_000_000) == "1.50000000" and format_amount(0) == "0.00000000"
    assert format_amount(-1) == "-0.00000001"
    for bad in ("0.000000001", "-1", "x", "inf", "nan"):
        with pytest.raises(ValueError):
            parse_amount(bad)


def test_balances_go_to_their_wallet() -> None:
    coins = frozenset({"BTC", "ETH"})
    assert parse_balances("USDT=10000, btc=1,um:ETH=2,cm:BNB=3", coins) == [
        (Market.UM, "USDT", 10**12), (Market.CM, "BTC", 10**8), (Market.UM, "ETH", 2 * 10**8),
        (Market.CM, "BNB", 3 * 10**8),
    ]  # fmt: skip
    assert parse_balances("", coins) == []
    for bad in ("USDT", "US-DT=1", "xm:USDT=1"):
        with pytest.raises(ValueError):
            parse_balances(bad, coins)


def _public(private: object) -> str:
    return private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()  # type: ignore[attr-defined]


def test_the_key_type_is_read_from_the_pem() -> None:
    ed = Ed25519PrivateKey.generate()
    assert key_type_of(_public(ed)) is KeyType.ED25519
    assert key_type_of(_public(generate_private_key(public_exponent=65537, key_size=2048))) is KeyType.RSA
    with pytest.raises(ValueError, match="1024 bits"):
        key_type_of(_public(generate_private_key(public_exponent=65537, key_size=1024)))
    with pytest.raises(ValueError, match="Binance keys are HMAC, Ed25519 or RSA"):
        key_type_of(_public(ec_key(SECP256R1())))
    with pytest.raises(ValueError, match="private key"):
        key_type_of(ed.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode())
    with pytest.raises(ValueError, match="not a public key"):
        key_type_of("hello")


def test_ip_restrictions() -> None:
    def key(*networks: str) -> ApiKey:
        return ApiKey("k" * 64, 1, KeyType.HMAC, "s", True, True, networks, False, 0)

    assert key().allows("198.51.100.1")
    fenced = key("10.0.0.0/8", "2001:db8::/32")
    assert fenced.allows("10.9.9.9") and fenced.allows("::ffff:10.9.9.9") and fenced.allows("2001:db8::1")
    assert not fenced.allows("11.0.0.1") and not fenced.allows("2001:db9::1") and not fenced.allows("?")
