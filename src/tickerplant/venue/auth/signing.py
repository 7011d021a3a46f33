"""The signed string of a REST request and the three signature schemes (spec part 1 §4).

The signed string is the bytes as received (overview decision 3, part 1 §4.1): the raw
query string without its ``?``, then the raw body, with no separator, the
``signature=<value>`` pair and the one ``&`` joining it taken out of whichever part holds
it. Nothing is decoded, re-ordered or re-encoded first: clients sign what they send and
disagree on encoding, and an HTTP layer that re-encoded after signing got -1022 from
Binance (§4.1's evidence). The signature may stand anywhere in its part; present twice,
or in both parts, the request is refused as a bad signature (§4.1, inference).

- HMAC-SHA256 (§4.2): the secret's UTF-8 bytes as key, lowercase or uppercase hex
  accepted ("the signature is not case sensitive"), compared in constant time. The key's
  ``signer`` (the secret keyed in once, ``accounts.ApiKey``) is copied for each request.
- RSA (§4.3): RSASSA-PKCS1-v1_5 with SHA-256, base64, sent percent-encoded or not.
- Ed25519 (§4.4): base64 of the signature over the bytes, percent-encoded or not.

The schemes are ``hmac``/``hashlib`` and ``cryptography``'s; nothing here is hand-made.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from typing import NamedTuple
from urllib.parse import unquote_to_bytes

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tickerplant.venue.auth.accounts import ApiKey, KeyType

__all__ = ["PUBLIC_KEYS_KEPT", "SignedString", "hmac_hex", "signed_string", "verify"]

PUBLIC_KEYS_KEPT = 1024  # parsed public keys kept (a PEM parse per request is ~50 µs)
_SIGNATURE = b"signature"
_HMAC = KeyType.HMAC  # a member as a constant: an enum class's attribute costs ~1,000 instructions


class SignedString(NamedTuple):
    payload: bytes  # query + body, the signature pair removed: what was signed
    signature: bytes | None  # its value as sent (maybe percent-encoded); None: not sent
    repeated: bool  # the signature pair came more than once


def signed_string(query: bytes, body: bytes) -> SignedString:
    """What the client signed and the signature it sent (see the module's docstring)."""
    found: list[bytes] = []
    parts = []
    for part in (query, body):
        pairs = [item.partition(b"=") for item in part.split(b"&")]
        kept = [b"".join(pair) for pair in pairs if pair[0].lower() != _SIGNATURE]
        if len(kept) != len(pairs):
            found += [value for name, _, value in pairs if name.lower() == _SIGNATURE]
            part = b"&".join(kept)
        parts.append(part)
    return SignedString(parts[0] + parts[1], found[0] if found else None, len(found) > 1)


def hmac_hex(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def _hmac_hex(key: ApiKey, payload: bytes) -> bytes:
    """``hmac_hex`` of the key's secret, from its ``signer``: the secret keyed in once."""
    if key.signer is None:  # an HMAC key always has one (``ApiKey.__post_init__``)
        return hmac_hex(key.material, payload).encode()
    signer = key.signer.copy()
    signer.update(payload)
    return signer.hexdigest().encode()


def verify(key: ApiKey, payload: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (as sent) signs ``payload`` with ``key``."""
    # %2B and %2F back to + and /; "+" itself stays (a hex signature has nothing to unquote)
    # (``find``, not ``in``: ``checks._plain`` says why)
    sent = unquote_to_bytes(signature) if signature.find(b"%") >= 0 else signature
    if key.key_type is _HMAC:
        return hmac.compare_digest(_hmac_hex(key, payload), sent.lower())
    try:
        raw = base64.b64decode(sent, validate=True)
    except binascii.Error:
        return False
    public = _public_key(key.material)
    try:
        if isinstance(public, Ed25519PublicKey):
            public.verify(raw, payload)
        elif isinstance(public, RSAPublicKey):
            public.verify(raw, payload, PKCS1v15(), SHA256())
        else:  # the store admits no other kind (accounts.key_type_of)
            return False
    except InvalidSignature:
        return False
    return True


@functools.lru_cache(maxsize=PUBLIC_KEYS_KEPT)
def _public_key(pem: str) -> object:
    return load_pem_public_key(pem.encode())
