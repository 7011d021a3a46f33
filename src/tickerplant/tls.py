"""TLS for the market listeners, and a local certificate authority for testers.

Binance serves `https://` and `wss://` only; some clients refuse `ws://`, and code that
hard-codes Binance's hosts can be pointed at tickerplant only by name, with a certificate it
trusts. With ``--tls-cert FILE --tls-key FILE`` every market listener speaks TLS on its one
port (REST, the streams and the WebSocket API, as Binance's hosts do): ``server_context``.

``tickerplant tls init DIR`` (``init``) writes what a tester needs without a CA of their
own: ``ca.pem`` (a certificate authority made for this directory, its key thrown away once
it has signed), and ``cert.pem`` with ``key.pem`` (mode 0600) for ``localhost``,
``127.0.0.1``, ``::1``, Binance's futures hostnames and ``CCXT_NAMES``. Trust ``ca.pem`` and
only these names verify: Python's ``ssl`` (``SSL_CERT_FILE``), requests and certifi users
(``REQUESTS_CA_BUNDLE``), Node (``NODE_EXTRA_CA_CERTS``). Keys are made by the
``cryptography`` library (RSA 2048, SHA-256), never by hand.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path
from typing import TYPE_CHECKING

# cryptography's x509 is imported where certificates are made (``init``), not with the
# module: every server imports ``server_context``, and x509's import (~45 ms of a core, its
# name parser's expressions compiled) was paid by each process that serves, TLS or none
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["BINANCE_HOSTS", "CCXT_NAMES", "Issued", "init", "server_context"]

# the futures hosts a client hard-codes (spec §2.1, §5, §7): streams, WebSocket API, REST
BINANCE_HOSTS = (
    "fapi.binance.com", "fstream.binance.com", "ws-fapi.binance.com",
    "dapi.binance.com", "dstream.binance.com", "ws-dapi.binance.com",
)  # fmt: skip
# Names under which ccxt raises Binance's own exception classes for the futures-only codes:
# it picks its per-market tables by the URL's prefix alone, ``https://demo-fapi`` (linear) and
# ``https://demo-dapi`` (inverse) among them, with no option set; any other base URL, such as
# ``http://127.0.0.1:8765``, gets only the common table, and ``-2019`` becomes a plain
# ExchangeError (spec part 5 §2.1.8 and §4 item 15). Under ``.localhost``, which resolvers
# that follow RFC 6761 §6.3 answer with loopback and which no public DNS ever serves.
CCXT_NAMES = ("demo-fapi.localhost", "demo-dapi.localhost")
_LOCAL_NAMES = ("localhost",)
_LOCAL_ADDRESSES = ("127.0.0.1", "::1")
_VALID = datetime.timedelta(days=825)  # the longest a TLS server certificate may live (CA/B, Apple)


def server_context(cert_path: str, key_path: str) -> ssl.SSLContext:
    """A server's TLS context: TLS 1.2 or later, the certificate chain in ``cert_path`` and
    its key in ``key_path`` (PEM); ALPN offers HTTP/1.1, the one protocol the listeners speak."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    context.set_alpn_protocols(["http/1.1"])
    return context


class Issued:
    """The files ``init`` wrote."""

    def __init__(self, directory: Path) -> None:
        self.ca = directory / "ca.pem"
        self.cert = directory / "cert.pem"
        self.key = directory / "key.pem"


def _key() -> rsa.RSAPrivateKey:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def init(directory: Path, now: datetime.datetime, *, extra_names: tuple[str, ...] = ()) -> Issued:
    """Write a new CA and a server certificate it signed into ``directory`` (made if absent),
    valid from ``now``; ``extra_names``: more DNS names the certificate is for."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
    )  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    issued = Issued(directory)
    start, end = now - datetime.timedelta(hours=1), now + _VALID
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tickerplant local CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(ca_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = _key()
    dns_names = (*_LOCAL_NAMES, *BINANCE_HOSTS, *CCXT_NAMES, *extra_names)
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in _LOCAL_ADDRESSES]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tickerplant")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    issued.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    # the key is written private to its owner from the start, never readable by others
    descriptor = os.open(issued.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    os.chmod(issued.key, 0o600)
    return issued
