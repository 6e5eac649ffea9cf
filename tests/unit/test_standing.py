"""runtime.standing: the entry of a member's standing history in force on a date."""
from __future__ import annotations

from datetime import date

from runtime.standing import entry_on, in_good_standing_on

HISTORY = [
    {"status": "active", "in_good_standing": True, "on": "2024-01-10"},
    {"status": "lapsed", "in_good_standing": False, "on": "2024-06-30"},
    {"status": "active", "in_good_standing": True, "on": "2024-09-01"},
]


def test_the_entry_in_force_is_the_last_one_dated_on_or_before_the_day():
    assert entry_on(HISTORY, date(2024, 1, 9)) is None  # not a member yet
    assert entry_on(HISTORY, date(2024, 1, 10))["status"] == "active"  # from its first day
    assert entry_on(HISTORY, date(2024, 6, 29))["status"] == "active"
    assert entry_on(HISTORY, date(2024, 6, 30))["status"] == "lapsed"
    assert entry_on(HISTORY, date(2030, 1, 1))["on"] == "2024-09-01"
    assert entry_on(HISTORY)["on"] == "2024-09-01"  # no date: the latest


def test_good_standing_follows_the_entry_in_force():
    assert [in_good_standing_on(HISTORY, date(2024, m, 15)) for m in (1, 7, 9)] == [True, False, True]
    assert not in_good_standing_on(HISTORY, date(2023, 12, 31))
    assert not in_good_standing_on(None, date(2024, 3, 1)) and not in_good_standing_on([], None)
