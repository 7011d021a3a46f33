"""A WebSocket API request's signature, made as Binance asks (trading spec part 1 §8.5).

The payload is every parameter but ``signature``, sorted by name, rendered ``name=value``
and joined with ``&``, values not percent-encoded (Binance's own Python example). A value is
rendered as the request's JSON carries it: a string's content, a number's token as the
frame holds it, ``true``/``false``; so the server, which builds the payload from the parsed
frame, reads the same bytes. The key decides the algorithm (§4): an HMAC secret signs with
HMAC-SHA256 (hex), an Ed25519 or RSA private key (PEM) with that key (base64; RSA as PKCS#1
v1.5 over SHA-256). Only an Ed25519 key may log a connection on (``session.logon``, §8.6);
the other keys sign every request. Sans-I/O: the time is an argument.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import msgspec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = ["Signer", "payload"]


def _text(value: Any) -> str:
    """``value`` as the frame carries it: a JSON string's content, else its token."""
    token = msgspec.json.encode(value)
    if token[:1] == b'"':  # a string, or what msgspec writes as one (a Decimal, a datetime)
        text: str = msgspec.json.decode(token)
        return text
    return token.decode()


def payload(params: Mapping[str, Any]) -> bytes:
    """What is signed of ``params`` (§8.5): sorted, ``name=value``, joined with ``&``."""
    items = sorted((name, _text(value)) for name, value in params.items() if name != "signature")
    return "&".join(f"{name}={value}" for name, value in items).encode()


class Signer:
    """An API key and what signs with it: ``secret`` (HMAC) or ``private_key`` (a PEM of an
    Ed25519 or RSA key, with its ``password`` if it has one); ``recv_window``: sent with
    every signed request when given (ms, at most 60,000)."""

    def __init__(
        self, api_key: str, *, secret: str | None = None, private_key: str | bytes | None = None,
        password: bytes | None = None, recv_window: int | None = None,
    ) -> None:  # fmt: skip
        if (secret is None) == (private_key is None):
            raise ValueError("a key signs with a secret (HMAC) or a private key (Ed25519, RSA): give one")
        self.api_key = api_key
        self.recv_window = recv_window
        self._secret = secret.encode() if secret is not None else None
        self._private: Ed25519PrivateKey | RSAPrivateKey | None = None
        if private_key is not None:
            pem = private_key.encode() if isinstance(private_key, str) else private_key
            loaded = serialization.load_pem_private_key(pem, password=password)
            if not isinstance(loaded, Ed25519PrivateKey | RSAPrivateKey):
                raise ValueError("Binance's keys are HMAC, Ed25519 or RSA: this private key is none of them")
            self._private = loaded

    @property
    def can_log_on(self) -> bool:
        """Whether ``session.logon`` takes this key (an Ed25519 one alone, §8.6)."""
        return isinstance(self._private, Ed25519PrivateKey)

    def sign(self, params: Mapping[str, Any], now_ms: int, *, with_key: bool = True) -> dict[str, Any]:
        """``params`` with ``timestamp`` (``now_ms``), ``recvWindow`` when set and, ``with_key``,
        the ``apiKey`` and the ``signature`` over them all; without (a logged-on session's
        request, §8.6), the timestamp alone."""
        signed = dict(params)
        signed["timestamp"] = now_ms
        if self.recv_window is not None:
            signed["recvWindow"] = self.recv_window
        if not with_key:
            return signed
        signed["apiKey"] = self.api_key
        signed["signature"] = self.signature(payload(signed))
        return signed

    def signature(self, signed: bytes) -> str:
        """The signature of the payload ``signed``: HMAC's hex, or the private key's base64."""
        if self._secret is not None:
            return hmac.new(self._secret, signed, hashlib.sha256).hexdigest()
        if isinstance(self._private, Ed25519PrivateKey):
            return base64.b64encode(self._private.sign(signed)).decode()
        assert self._private is not None
        made = self._private.sign(signed, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(made).decode()
