"""Secrets kept at rest encrypted (partners' webhook signing secrets…), under ``SECRETS_KEY``.

A stored secret is ``fernet:<token>``: a Fernet token (``cryptography``: AES-128-CBC and
HMAC-SHA256, a timestamp, authenticated — the library's recommended recipe, nothing hand-made)
under one of the keys of ``SECRETS_KEY``. ``SECRETS_KEY`` is a comma-separated list of Fernet keys
(``python -m runtime.sealing new-key`` prints one), the newest first: the first seals, every one
opens (:class:`cryptography.fernet.MultiFernet`). A value without the ``fernet:`` prefix is a
secret stored in clear before encryption came: it is read as it is, and :meth:`SecretBox.stale`
says it is to be sealed again (as is a token under an older key).

Rotation (README, production): put a new key first (``SECRETS_KEY=<new>,<old>``) and restart every
instance — each start seals again what is clear or under an older key (the service's start-up,
e.g. ``services.webhooks.adapters.repository.reseal_secrets``); once a start logs that nothing was
left under an older key, drop the old one (``SECRETS_KEY=<new>``).

Pure of MongoDB and FastAPI: services' adapters use it on the documents they store.
"""
from __future__ import annotations

from functools import cached_property, lru_cache

import typer
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

#: The prefix of a sealed value: what tells it from a secret stored in clear.
SEALED = "fernet:"


class SecretsKeyError(ValueError):
    """``SECRETS_KEY`` is not a list of Fernet keys."""


def parse_keys(value: str) -> list[str]:
    """The Fernet keys of ``SECRETS_KEY`` (comma-separated, newest first); :class:`SecretsKeyError`
    names the bad one by position (never its value)."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise SecretsKeyError("SECRETS_KEY is empty: give a Fernet key (python -m runtime.sealing new-key)")
    for i, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise SecretsKeyError(f"SECRETS_KEY: key {i} of {len(keys)} is not a Fernet key (32 bytes, url-safe "
                                  "base64; python -m runtime.sealing new-key)") from None
    return keys


class SecretBox:
    """Seals and opens secrets under ``SECRETS_KEY`` (the first key seals; all open)."""

    def __init__(self, keys: str) -> None:
        self.keys = parse_keys(keys)

    @cached_property
    def _all(self) -> MultiFernet:
        return MultiFernet([Fernet(k) for k in self.keys])

    @cached_property
    def _newest(self) -> Fernet:
        return Fernet(self.keys[0])

    @staticmethod
    def is_sealed(value: str) -> bool:
        return value.startswith(SEALED)

    def seal(self, secret: str) -> str:
        """``fernet:<token>`` of ``secret`` under the newest key (a new token every call)."""
        return SEALED + self._newest.encrypt(secret.encode()).decode()

    def open(self, value: str) -> str:
        """The secret of a stored value: a token's under any key of ``SECRETS_KEY``; a clear value as it is.

        :raises ValueError: a token that no key opens (``SECRETS_KEY`` lost a key still in use, or
            the value was altered): never a silent wrong secret."""
        if not self.is_sealed(value):
            return value
        try:
            return self._all.decrypt(value[len(SEALED):].encode()).decode()
        except InvalidToken:
            raise ValueError("a stored secret opens under none of the keys of SECRETS_KEY (a key removed too "
                             "early, or the value altered)") from None

    def seal_bytes(self, data: bytes) -> bytes:
        """A Fernet token of ``data`` under the newest key (a stored answer, not a secret of its own)."""
        return self._newest.encrypt(data)

    def open_bytes(self, token: bytes) -> bytes:
        """What :meth:`seal_bytes` sealed, under any key of ``SECRETS_KEY`` (:class:`ValueError` if none opens)."""
        try:
            return self._all.decrypt(token)
        except InvalidToken:
            raise ValueError("a sealed value opens under none of the keys of SECRETS_KEY") from None

    def stale(self, value: str) -> bool:
        """Whether a stored value is to be sealed again: in clear, or under an older key than the first."""
        if not self.is_sealed(value):
            return True
        try:
            self._newest.decrypt(value[len(SEALED):].encode())
        except InvalidToken:
            return True
        return False


@lru_cache(maxsize=4)
def secret_box(keys: str) -> SecretBox:
    """The box of a ``SECRETS_KEY`` value, built once (its keys parsed and checked once)."""
    return SecretBox(keys)


cli = typer.Typer(help="Keys of the secrets kept at rest (SECRETS_KEY).", add_completion=False)


@cli.callback()
def _commands() -> None:
    """Keys of the secrets kept at rest (SECRETS_KEY)."""


@cli.command("new-key")
def new_key() -> None:
    """Print a new Fernet key (put it first in SECRETS_KEY to rotate)."""
    typer.echo(Fernet.generate_key().decode())


if __name__ == "__main__":
    cli()
