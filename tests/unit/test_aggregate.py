"""The base of aggregates (``runtime.aggregate``): ids, recorded events, and the ``If-Match`` check
that answers 412 when someone else changed the aggregate since the caller read it."""
from __future__ import annotations

import re

import pytest

from runtime.aggregate import Aggregate, check_version, new_id
from runtime.errors import PreconditionFailed


class Stand(Aggregate):
    pass


def test_if_match_naming_the_current_version_passes_and_none_asks_nothing():
    stand = Stand(id="stand-1", version=3)
    check_version(stand, 3)
    check_version(stand, None)


@pytest.mark.parametrize("named", [0, 2, 4])
def test_if_match_naming_another_version_is_refused_with_the_current_one(named):
    with pytest.raises(PreconditionFailed) as caught:
        check_version(Stand(id="stand-1", version=3), named)
    assert caught.value.detail == f"Stand 'stand-1' is at version 3, not {named} (If-Match); read it again"
    assert caught.value.extra == {"current_version": 3}
    assert caught.value.status == 412


def test_new_ids_are_prefixed_and_unique():
    ids = {new_id("org") for _ in range(100)}
    assert len(ids) == 100 and all(re.fullmatch(r"org-[0-9a-f]{12}", i) for i in ids)
