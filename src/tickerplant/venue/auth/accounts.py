"""Accounts, their wallets and their API keys, as records without I/O.

An account is known only from its API key (ARCHITECTURE.md, "Accounts are walls"). A key
is one of Binance's three types (spec part 1 §4.2–§4.4): an HMAC-SHA256 secret that
tickerplant makes and shows once, or an Ed25519 or RSA *public* key in PEM that the user
brings, its type read from the PEM (§4.5: the server decides by the key record). Each key
carries the permissions part 1 §9.2 maps Binance's to (reading; trading, which implies
futures) and an optional list of addresses or networks it may be used from.

Secrets never show: the fields holding key material (and an HMAC key's ``signer``, the
secret keyed into SHA-256 once per key) are left out of every ``repr`` (so of every log
line and traceback that prints a record), and ``public`` views of a key name its type,
never its material.

Money is integers (``money.py``).

Binance keeps a USDⓈ-M and a COIN-M futures wallet apart; so does the venue: a balance
belongs to one market's wallet (``Market``).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import re
import secrets
import string
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tickerplant.market.instruments import Market
from tickerplant.market.payloads.asset_index import MARGIN_ASSETS
from tickerplant.venue.domain.money import parse_amount

__all__ = [
    "API_KEY_FORMAT",
    "MIN_RSA_BITS",
    "UM_MARGIN_ASSETS",
    "Account",
    "ApiKey",
    "Balance",
    "KeyType",
    "key_type_of",
    "new_alias",
    "new_api_key",
    "new_secret",
    "parse_balances",
    "parse_networks",
]

# Every key in Binance's documents is 64 characters of [A-Za-z0-9] (part 1 §9.1); anything
# else in X-MBX-APIKEY is -2014, "API-key format invalid."
API_KEY_FORMAT = re.compile(r"[A-Za-z0-9]{64}")
MIN_RSA_BITS = 2048  # Binance states no minimum; below 2048 bits RSA is not considered safe
# The USDⓈ-M balance answer lists these assets in this order, zero balances included
# (part 3 §4.1's recommendation, from a testnet capture's asset list).
UM_MARGIN_ASSETS = MARGIN_ASSETS  # the USDⓈ-M wallet's assets (market/payloads/asset_index.py)
_ALNUM = string.ascii_letters + string.digits


class KeyType(enum.Enum):
    HMAC = "HMAC_SHA256"  # hex HMAC-SHA256 of the signed string with the secret (§4.2)
    ED25519 = "ED25519"  # base64 Ed25519 signature (§4.4)
    RSA = "RSA"  # base64 RSASSA-PKCS1-v1_5 with SHA-256 (§4.3)


@dataclass(frozen=True, slots=True)
class Account:
    account_id: int
    name: str
    alias: str  # accountAlias: a short random letter string per account (part 3 §4.1)
    disabled: bool
    created_ms: int


@dataclass(frozen=True, slots=True)
class Balance:
    account_id: int
    wallet: Market  # the futures wallet holding it: USDⓈ-M or COIN-M
    asset: str
    amount: int  # units of 1e-8 (money.AMOUNT_SCALE)
    update_ms: int  # the last change; 0: never touched (part 3 §4.1's updateTime)


@dataclass(frozen=True, slots=True)
class ApiKey:
    api_key: str  # the X-MBX-APIKEY value, 64 characters
    account_id: int
    key_type: KeyType
    # HMAC: the secret, used as its UTF-8 bytes (§4.2); Ed25519 and RSA: the public key in
    # PEM. Never in a repr: a logged record or a traceback shows no key material.
    material: str = field(repr=False)
    reading: bool  # enableReading: without it every private endpoint is -2015 (§9.2)
    trading: bool  # futures trading: TRADE endpoints need it (§9.2)
    networks: tuple[str, ...]  # addresses or networks it may be used from; () for any
    disabled: bool
    created_ms: int
    # HMAC: the secret keyed into SHA-256 once, copied for each signature checked (keying
    # it again for each costs as much as the signature); None for the other types. The
    # standard library's HMAC, not the construction rebuilt from hashlib: crypto stays in
    # maintained code, though OpenSSL 3's copy is ~0.8 µs of a check.
    signer: hmac.HMAC | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.key_type is KeyType.HMAC:
            object.__setattr__(self, "signer", hmac.new(self.material.encode(), digestmod=hashlib.sha256))

    def allows(self, ip: str) -> bool:
        """Whether a request from ``ip`` may use this key (its IP restriction, §9.2)."""
        if not self.networks:
            return True
        try:
            address = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in ipaddress.ip_network(n) for n in self.networks)

    @property
    def permissions(self) -> str:
        """``reading,trading`` and the like, as the command line writes them."""
        return ",".join(name for name, on in (("reading", self.reading), ("trading", self.trading)) if on)


def new_api_key() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(64))


def new_secret() -> str:
    """An HMAC secret: 64 characters as Binance shows them, used as their UTF-8 bytes
    (§4.2), so 64 × log2(62) ≈ 381 bits of randomness."""
    return "".join(secrets.choice(_ALNUM) for _ in range(64))


def new_alias() -> str:
    return "".join(secrets.choice(string.ascii_letters) for _ in range(12))


def key_type_of(pem: str) -> KeyType:
    """Ed25519 or RSA, read from a public key in PEM; ValueError for anything else (an
    RSA key under ``MIN_RSA_BITS``, a private key, an EC key). The user keeps the private
    key: Binance takes only the public one (§4.3)."""
    if "PRIVATE KEY" in pem:
        raise ValueError("a private key: give the public key (openssl pkey -pubout)")
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise ValueError(f"not a public key in PEM: {exc}") from None
    if isinstance(key, Ed25519PublicKey):
        return KeyType.ED25519
    if isinstance(key, RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"an RSA key of {key.key_size} bits: at least {MIN_RSA_BITS}")
        return KeyType.RSA
    raise ValueError(f"a {type(key).__name__}: Binance keys are HMAC, Ed25519 or RSA")


# one operator's change: its entries are written in one transaction, which holds the
# database's write lock the server's journal waits on (``AccountStore.transfer``)
MOST_CHANGES = 64
_ASSET_CHARS = 20


def parse_balances(text: str, coin_margined: frozenset[str]) -> list[tuple[Market, str, int]]:
    """``USDT=10000,BTC=1`` as (wallet, asset, units). An asset goes to the COIN-M wallet
    when COIN-M contracts are margined in it (``coin_margined``), else to USDⓈ-M; a
    ``um:`` or ``cm:`` prefix chooses (``um:BTC=1``: BTC as USDⓈ-M collateral)."""
    found: list[tuple[Market, str, int]] = []
    items = [part.strip() for part in text.split(",") if part.strip()]
    if len(items) > MOST_CHANGES:
        raise ValueError(f"{len(items):,} entries: at most {MOST_CHANGES} at once")
    for item in items:
        name, equals, amount = item.partition("=")
        shown = repr(item[:40])  # an operator's text, echoed bounded
        if not equals:
            raise ValueError(f"{shown}: ASSET=AMOUNT")
        prefix, colon, asset = name.partition(":")
        if not colon:
            prefix, asset = "", prefix
        asset = asset.strip().upper()
        if not (asset.isascii() and asset.isalnum() and len(asset) <= _ASSET_CHARS):
            raise ValueError(f"{shown}: an asset is up to {_ASSET_CHARS} letters and digits")
        if prefix.lower() in ("um", "cm"):
            wallet = Market.UM if prefix.lower() == "um" else Market.CM
        elif prefix:
            raise ValueError(f"{shown}: the wallet is um: or cm:")
        else:
            wallet = Market.CM if asset in coin_margined else Market.UM
        if any(w is wallet and a == asset for w, a, _ in found):
            raise ValueError(f"{shown}: {asset} named twice")
        found.append((wallet, asset, parse_amount(amount.strip())))
    return found


def parse_networks(text: str) -> tuple[str, ...]:
    """``1.2.3.4,10.0.0.0/8`` as normalised networks; ValueError naming a bad one."""
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"{item!r}: not an IP address or network") from None
    return tuple(networks)
