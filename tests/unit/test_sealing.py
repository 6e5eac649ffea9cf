"""Secrets kept at rest encrypted (runtime.sealing) and the SECRETS_KEY setting."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from runtime.sealing import SEALED, SecretBox, SecretsKeyError, parse_keys
from runtime.settings import DEV_SECRETS_KEY, Settings

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_sealed_secret_holds_no_clear_text_and_opens_again():
    box = SecretBox(NEW)
    sealed = box.seal(SECRET)
    assert sealed.startswith(SEALED) and SECRET not in sealed and SECRET[6:] not in sealed
    assert box.open(sealed) == SECRET and not box.stale(sealed)
    assert box.seal(SECRET) != sealed  # a new token every time (random IV)


def test_a_secret_stored_in_clear_is_read_as_it_is_and_is_stale():
    box = SecretBox(NEW)
    assert box.open(SECRET) == SECRET and box.stale(SECRET)


def test_rotation_the_first_key_seals_every_key_opens_and_older_tokens_are_stale():
    under_old = SecretBox(OLD).seal(SECRET)
    rotating = SecretBox(f"{NEW},{OLD}")
    assert rotating.open(under_old) == SECRET and rotating.stale(under_old)
    resealed = rotating.seal(rotating.open(under_old))
    assert not rotating.stale(resealed)
    assert SecretBox(NEW).open(resealed) == SECRET  # the old key can go


def test_a_token_no_key_opens_is_an_error_never_a_wrong_secret():
    sealed = SecretBox(OLD).seal(SECRET)
    with pytest.raises(ValueError, match="none of the keys of SECRETS_KEY"):
        SecretBox(NEW).open(sealed)
    with pytest.raises(ValueError, match="none of the keys"):
        SecretBox(OLD).open(sealed[:-4] + "AAAA")  # altered


def test_secrets_key_is_a_list_of_fernet_keys_named_by_position_never_echoed():
    assert parse_keys(f" {NEW} , {OLD} ") == [NEW, OLD]
    with pytest.raises(SecretsKeyError, match="key 2 of 2") as caught:
        parse_keys(f"{NEW},not-a-key")
    assert "not-a-key" not in str(caught.value)
    with pytest.raises(ValueError, match="SECRETS_KEY"):
        Settings(secrets_key="too short")
    assert Settings().secrets_key == DEV_SECRETS_KEY and SecretBox(DEV_SECRETS_KEY).open(
        SecretBox(DEV_SECRETS_KEY).seal("x")) == "x"


def test_production_refuses_the_development_secrets_key_even_beside_another():
    prod = {"environment": "production", "jwt_secret": "j" * 40, "privacy_key": "p" * 40}
    with pytest.raises(ValueError, match="SECRETS_KEY holds the development key"):
        Settings(**prod)
    with pytest.raises(ValueError, match="SECRETS_KEY holds the development key"):
        Settings(**prod, secrets_key=f"{NEW},{DEV_SECRETS_KEY}")
    assert Settings(**prod, secrets_key=NEW).secrets_key == NEW


def test_each_refusal_of_the_keys_and_of_a_token_is_in_words():
    with pytest.raises(SecretsKeyError) as caught:
        parse_keys(" , ")
    assert str(caught.value) == "SECRETS_KEY is empty: give a Fernet key (python -m runtime.sealing new-key)"
    with pytest.raises(SecretsKeyError) as caught:
        parse_keys("not-a-key")
    assert str(caught.value) == ("SECRETS_KEY: key 1 of 1 is not a Fernet key (32 bytes, url-safe base64; "
                                 "python -m runtime.sealing new-key)")
    with pytest.raises(ValueError) as caught:
        SecretBox(NEW).open(SecretBox(OLD).seal(SECRET))
    assert str(caught.value) == ("a stored secret opens under none of the keys of SECRETS_KEY (a key removed too "
                                 "early, or the value altered)")
    with pytest.raises(ValueError) as caught:
        SecretBox(NEW).open_bytes(SecretBox(OLD).seal_bytes(b"secret"))
    assert str(caught.value) == "a sealed value opens under none of the keys of SECRETS_KEY"
