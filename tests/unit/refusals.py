"""What the unit tests read of a refusal: the field and the exact words of an :class:`InvalidInput`, the
words and extras of a :class:`Conflict` (mutation testing showed that a test reading only the
exception's type or field lets a refusal's words, or the wrong field's, go unnoticed)."""
from __future__ import annotations

import re
from datetime import tzinfo

import pytest

from runtime.errors import Conflict, InvalidInput


def refusal(call, *args, **kwargs) -> tuple[str, str]:
    """The field and the words of the InvalidInput that ``call(*args, **kwargs)`` raises."""
    with pytest.raises(InvalidInput) as e:
        call(*args, **kwargs)
    return e.value.field, e.value.detail


def conflict(call, *args, **kwargs) -> tuple[str, dict]:
    """The words and the extras of the Conflict that ``call(*args, **kwargs)`` raises."""
    with pytest.raises(Conflict) as e:
        call(*args, **kwargs)
    return e.value.detail, e.value.extra


def refused(call, field: str, detail: str) -> None:
    """``call()`` raises InvalidInput naming ``field`` with exactly ``detail``."""
    with pytest.raises(InvalidInput, match=f"^{re.escape(detail)}$") as caught:
        call()
    assert caught.value.field == field


def conflicted(call, detail: str, **extra) -> None:
    """``call()`` raises Conflict with exactly ``detail`` and ``extra``."""
    with pytest.raises(Conflict, match=f"^{re.escape(detail)}$") as caught:
        call()
    assert caught.value.extra == extra


class NoOffset(tzinfo):
    """A time zone that knows no offset: a datetime with it is naive all the same."""

    def utcoffset(self, dt):
        return None
