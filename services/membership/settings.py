"""The membership service's own settings: the fee scale (barème) and the dues terms.

The barème is voted by the general assembly; operators give it as a JSON file::

    MEMBERSHIP_FEE_SCALE_FILE=/etc/cress/bareme-2026.json
    {"brackets": [{"label": "B1", "max_headcount": 2, "max_budget_cents": 5000000, "dues_cents": 5000},
                  …, {"label": "B6", "dues_cents": 500000}]}

Without it the example scale of :data:`DEFAULT_FEE_SCALE` applies.

The dues runner (:mod:`services.membership.service_layer.runner`) applies the deadlines every day
and invoices year Y on ``MEMBERSHIP_INVOICING_DAY``/``MEMBERSHIP_INVOICING_MONTH`` of Y (default
5 January); it looks every ``MEMBERSHIP_RUNNER_SECONDS`` (default 600). ``GET /dues/fee-scale``
shows the scale in force. An invoice keeps the amount computed when it was issued.
"""
from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.membership.domain import DEFAULT_DUES_TERMS, DEFAULT_FEE_SCALE, DuesTerms, FeeScale
from runtime.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


class DuesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEMBERSHIP_", extra="ignore", frozen=True)

    fee_scale_file: Path | None = Field(None, description="JSON file of the fee scale; default: the example scale.")
    payment_terms_days: int = Field(DEFAULT_DUES_TERMS.payment_terms_days, ge=0)
    grace_period_days: int = Field(DEFAULT_DUES_TERMS.grace_period_days, ge=0)
    invoicing_month: int = Field(DEFAULT_DUES_TERMS.invoicing_month, ge=1, le=12)
    invoicing_day: int = Field(DEFAULT_DUES_TERMS.invoicing_day, ge=1, le=28)
    runner_seconds: float = Field(600.0, gt=0, description="How often the dues runner looks whether today's "
                                                           "deadlines or the year's invoicing are due.")

    def fee_scale(self) -> FeeScale:
        if self.fee_scale_file is None:
            return DEFAULT_FEE_SCALE
        return _from_json_file(self.fee_scale_file, FeeScale, "MEMBERSHIP_FEE_SCALE_FILE")

    def terms(self) -> DuesTerms:
        return DuesTerms(payment_terms_days=self.payment_terms_days, grace_period_days=self.grace_period_days,
                         invoicing_month=self.invoicing_month, invoicing_day=self.invoicing_day)


# -- governance: the statutes' rules ------------------------------------------------------------
# Like the barème, the statutes' governance rules come from a JSON file validated at start-up
# (``MEMBERSHIP_STATUTES_FILE``; schema: :class:`services.membership.domain.governance.Statutes`,
# ``GET /governance/statutes`` shows those in force); without it, DEFAULT_STATUTES apply.

class GovernanceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEMBERSHIP_", extra="ignore", frozen=True)

    statutes_file: Path | None = Field(None, description="JSON file of the statutes' governance rules.")

    def statutes(self):
        from services.membership.domain.governance import DEFAULT_STATUTES, Statutes

        if self.statutes_file is None:
            return DEFAULT_STATUTES
        return _from_json_file(self.statutes_file, Statutes, "MEMBERSHIP_STATUTES_FILE")


def _from_json_file(path: Path, model: type[M], variable: str) -> M:
    """A configuration file read and validated at start-up; its faults name the variable, the file and
    each field (a bad file stops the service, named)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(variable, f"cannot read {path}: {exc}") from None
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(variable, f"{path}: {where}") from None
