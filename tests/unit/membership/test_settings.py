"""The membership service's dues settings: the barème file and the terms."""
from __future__ import annotations

import json

import pytest

from runtime.errors import InvalidInput
from services.membership.domain import DEFAULT_FEE_SCALE
from services.membership.settings import DuesSettings


def test_without_a_file_the_example_scale_applies(monkeypatch):
    monkeypatch.delenv("MEMBERSHIP_FEE_SCALE_FILE", raising=False)
    assert DuesSettings().fee_scale() == DEFAULT_FEE_SCALE


def test_the_scale_and_terms_come_from_the_environment(monkeypatch, tmp_path):
    scale = {"brackets": [{"label": "petite", "max_headcount": 5, "max_budget_cents": 10_000_000, "dues_cents": 8_000},
                          {"label": "grande", "dues_cents": 90_000}]}
    path = tmp_path / "bareme.json"
    path.write_text(json.dumps(scale))
    monkeypatch.setenv("MEMBERSHIP_FEE_SCALE_FILE", str(path))
    monkeypatch.setenv("MEMBERSHIP_GRACE_PERIOD_DAYS", "90")
    settings = DuesSettings()
    assert settings.fee_scale().dues_for(3, 1_000_000) == 8_000
    assert settings.fee_scale().dues_for(30, 1_000_000) == 90_000
    assert settings.terms().grace_period_days == 90 and settings.terms().payment_terms_days == 30


def test_a_bad_scale_file_is_refused_naming_the_file_and_the_fault(tmp_path):
    path = tmp_path / "bareme.json"
    path.write_text(json.dumps({"brackets": [{"label": "B1", "max_headcount": 5, "dues_cents": 100}]}))
    with pytest.raises(InvalidInput) as caught:
        DuesSettings(fee_scale_file=path).fee_scale()
    assert caught.value.field == "MEMBERSHIP_FEE_SCALE_FILE" and str(path) in caught.value.detail
    with pytest.raises(InvalidInput, match="cannot read"):
        DuesSettings(fee_scale_file=tmp_path / "missing.json").fee_scale()
