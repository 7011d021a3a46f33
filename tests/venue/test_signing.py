"""The signed string and the three schemes against spec part 1 §4's test vectors."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tickerplant.venue.auth.accounts import ApiKey, KeyType
from tickerplant.venue.auth.signing import hmac_hex, signed_string, verify

# §4.2: the doc's secret and the signatures computed from it
SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
UM_1 = b"symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
UM_1_SIG = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
UM_3_QUERY = b"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
UM_3_BODY = b"quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943"
UM_3_SIG = "30baaf0fab549bbeda7f5ef201898b34122da25fd23c646cac2c529aebe670a4"
CM_1 = b"symbol=BTCUSD_200925&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
CM_1_SIG = "04c8b9fbd55285a38fd6a3fc40ba3a7d114f22564dab61611bf24f2d2efb890f"
# §4.4: the Ed25519 key with seed bytes 00 01 … 1f
ED_PUBLIC = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n-----END PUBLIC KEY-----\n"
ED_SIG = "j7ENsMM+tRQmT2ovdVRUzr/TaHDGQAwof6KyCZEiwnGP/ZuRpFsqxmeRJKy24JsNGfRCivSZsThx2M1i4nc+Bw=="
ED_SIG_ON_WIRE = "j7ENsMM%2BtRQmT2ovdVRUzr%2FTaHDGQAwof6KyCZEiwnGP%2FZuRpFsqxmeRJKy24JsNGfRCivSZsThx2M1i4nc%2BBw%3D%3D"


def key(key_type: KeyType, material: str) -> ApiKey:
    return ApiKey("k" * 64, 1, key_type, material, True, True, (), False, 0)


HMAC = key(KeyType.HMAC, SECRET)
ED = key(KeyType.ED25519, ED_PUBLIC)


@pytest.mark.parametrize(("payload", "signature"), [(UM_1, UM_1_SIG), (UM_3_QUERY + UM_3_BODY, UM_3_SIG), (CM_1, CM_1_SIG)])
def test_hmac_vectors(payload: bytes, signature: str) -> None:
    assert hmac_hex(SECRET, payload) == signature
    assert verify(HMAC, payload, signature.encode())
    assert verify(HMAC, payload, signature.upper().encode())  # "not case sensitive" (§4.2)
    assert not verify(HMAC, payload + b"0", signature.encode())
    assert not verify(HMAC, payload, signature[:-1].encode())


def test_the_mixed_example_is_query_then_body_without_a_separator() -> None:
    signed = signed_string(UM_3_QUERY, UM_3_BODY + b"&signature=" + UM_3_SIG.encode())
    assert signed.payload == UM_3_QUERY + UM_3_BODY and signed.signature == UM_3_SIG.encode()
    assert verify(HMAC, signed.payload, UM_3_SIG.encode())
    # with a "&" between the parts, as a server that joined them would sign, it fails
    assert not verify(HMAC, UM_3_QUERY + b"&" + UM_3_BODY, UM_3_SIG.encode())


@pytest.mark.parametrize("sent", [ED_SIG, ED_SIG_ON_WIRE])
def test_ed25519_vector_raw_and_percent_encoded(sent: str) -> None:
    assert verify(ED, UM_1, sent.encode())
    assert not verify(ED, UM_1.replace(b"BUY", b"SELL"), sent.encode())
    assert not verify(ED, UM_1, b"not base64!")
    assert not verify(HMAC, UM_1, sent.encode())  # an HMAC key never takes an Ed25519 signature


def test_ed25519_vector_is_the_seed_key() -> None:
    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    assert public == ED_PUBLIC
    assert base64.b64encode(private.sign(UM_1)).decode() == ED_SIG


def test_rsa_pkcs1v15_sha256_base64() -> None:
    private = generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    rsa = key(KeyType.RSA, pem)
    payload = b"timestamp=1671090801999&recvWindow=9999999&symbol=BTCUSDT&side=SELL&type=MARKET&quantity=1.23"
    signature = base64.b64encode(private.sign(payload, PKCS1v15(), SHA256()))
    assert verify(rsa, payload, signature)
    encoded = signature.replace(b"+", b"%2B").replace(b"/", b"%2F").replace(b"=", b"%3D")
    assert verify(rsa, payload, encoded)
    assert not verify(rsa, payload + b"&x=1", signature)
    assert not verify(ED, payload, signature)


@pytest.mark.parametrize(
    ("query", "body", "payload", "signature", "repeated"),
    [
        (b"a=1&signature=S", b"", b"a=1", b"S", False),
        (b"signature=S&a=1&b=2", b"", b"a=1&b=2", b"S", False),  # anywhere in its part (§4.1)
        (b"a=1&signature=S&b=2", b"", b"a=1&b=2", b"S", False),
        (b"a=1", b"b=2&signature=S", b"a=1b=2", b"S", False),
        (b"a=1&SIGNATURE=S", b"", b"a=1", b"S", False),  # names without regard to case (decision 4)
        (b"a=1&signature=S", b"signature=T", b"a=1", b"S", True),  # in both parts
        (b"a=1&signature=S&signature=S", b"", b"a=1", b"S", True),
        (b"a=%41&c=x+y&signature=S", b"", b"a=%41&c=x+y", b"S", False),  # bytes as received
        (b"a=1", b"", b"a=1", None, False),
    ],
)
def test_signed_string(query: bytes, body: bytes, payload: bytes, signature: bytes | None, repeated: bool) -> None:
    assert signed_string(query, body) == (payload, signature, repeated)


def test_an_hmac_keys_signer_is_keyed_once_and_never_shown() -> None:
    """The secret keyed in once per key (``ApiKey.signer``), copied for each check: checking
    leaves it as it was, so the same signature checks again; the secret is in no repr."""
    made = key(KeyType.HMAC, SECRET)
    payload, signature = UM_1, UM_1_SIG
    assert made.signer is not None and SECRET not in repr(made)
    for _ in range(2):
        assert verify(made, payload, signature.encode())
        assert verify(made, payload, signature.upper().encode())
        assert not verify(made, payload + b"&", signature.encode())
    assert key(KeyType.HMAC, SECRET) == made and key(KeyType.ED25519, ED_PUBLIC).signer is None  # the signer is no part of what a key is
