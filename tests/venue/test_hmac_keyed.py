"""HMAC-SHA256 keyed once (``venue/auth/hmac_keyed.py``): the digest ``hmac`` writes, for
keys shorter than, as long as and longer than SHA-256's block, checked again and again."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from tickerplant.venue.auth.hmac_keyed import HmacSha256


@given(st.binary(max_size=200), st.lists(st.binary(max_size=300), min_size=1, max_size=3))
def test_the_digest_is_hmacs_for_any_key_and_message(key: bytes, messages: list[bytes]) -> None:
    keyed = HmacSha256(key)
    for message in messages:  # the key's states stay as keyed
        assert keyed.hexdigest(message) == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_no_key_material_in_its_repr() -> None:
    assert "secret" not in repr(HmacSha256(b"secret")) and "c2Vj" not in repr(HmacSha256(b"secret"))
