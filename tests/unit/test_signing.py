"""The platform's one HMAC token scheme (``runtime.signing``): unpadded base64url, one spelling per
token, one key per use, 128-bit tags."""
from __future__ import annotations

import pytest

from runtime.signing import Signer, b64, unb64


def test_base64url_is_written_without_padding_and_read_back():
    assert b64(b"a") == "YQ" and b64(b"ab") == "YWI" and b64(b"abc") == "YWJj"
    assert b64(b"\xfb\xff") == "-_8", "url-safe alphabet"
    assert b64(b"\x00\x00\x17") == "AAAX", "only the padding is stripped"
    for data in (b"", b"a", b"ab", b"abc", b"\x00\xff" * 7):
        assert unb64(b64(data)) == data


@pytest.mark.parametrize("token", ["YQ==", "YR", "Y Q", "YQ=", "+/8"])
def test_another_spelling_of_a_token_is_refused(token):
    with pytest.raises(ValueError):
        unb64(token)


def test_a_non_canonical_token_is_refused_in_words():
    with pytest.raises(ValueError) as caught:
        unb64("YR")  # decodes to b"a" too, but b"a" is written "YQ"
    assert str(caught.value) == "not canonical base64url"


def test_each_use_has_its_own_key_and_tags_are_128_bits():
    badge, survey = Signer("secret", b"cress-badge-v1"), Signer("secret", b"cress-survey-v1")
    tag = badge.tag(b"payload")
    assert len(tag) == 16
    assert survey.tag(b"payload") != tag and not survey.verify(b"payload", tag), "a badge is no survey token"
    assert Signer("secret", b"cress-badge-v1").verify(b"payload", tag)
    assert not Signer("other secret", b"cress-badge-v1").verify(b"payload", tag)
    assert not badge.verify(b"payload!", tag)
