"""The fee scale (barème de cotisation) and the dues terms: value objects the service layer
configures and passes in. They are not aggregates: changing them records no event; an invoice
keeps the amount and dates computed when it was issued.
"""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runtime.errors import InvalidInput

EURO = 100  # cents


class FeeBracket(BaseModel):
    """One line of the scale: organisations up to these sizes pay ``dues_cents`` a year.

    A bound of ``None`` is unbounded.
    """

    model_config = ConfigDict(frozen=True)

    label: str = Field(min_length=1, description="Short name of the bracket, shown on invoices.",
                       examples=["B2"])
    max_headcount: int | None = Field(default=None, ge=0, description="Largest headcount of the bracket.",
                                      examples=[10])
    max_budget_cents: int | None = Field(default=None, ge=0,
                                         description="Largest annual budget or turnover, in euro cents.",
                                         examples=[20_000_000])
    dues_cents: int = Field(ge=0, description="Yearly dues of the bracket, in euro cents.", examples=[15_000])

    def fits(self, headcount: int, budget_cents: int) -> bool:
        return ((self.max_headcount is None or headcount <= self.max_headcount)
                and (self.max_budget_cents is None or budget_cents <= self.max_budget_cents))


def _ascending(a: int | None, b: int | None) -> bool:
    """Whether bound ``b`` is strictly above bound ``a`` (None = unbounded)."""
    if a is None:
        return False
    return b is None or b > a


class FeeScale(BaseModel):
    """Yearly dues by size: an ordered list of brackets, smallest first.

    An organisation falls in the *first* bracket whose headcount bound **and** budget bound
    both hold — so it is the larger of its two sizes that places it (12 employees and a
    30 k€ budget pay as a 12-employee organisation). Bounds must rise strictly from one
    bracket to the next, dues must not fall, and the last bracket must be unbounded on both
    sizes so that every organisation fits.
    """

    model_config = ConfigDict(frozen=True)

    brackets: tuple[FeeBracket, ...] = Field(min_length=1, description="The brackets, smallest first.")

    @model_validator(mode="after")
    def _check(self) -> FeeScale:
        for prev, nxt in zip(self.brackets, self.brackets[1:]):
            if not (_ascending(prev.max_headcount, nxt.max_headcount)
                    and _ascending(prev.max_budget_cents, nxt.max_budget_cents)):
                raise ValueError(f"bracket {nxt.label!r}: bounds must rise strictly after {prev.label!r}")
            if nxt.dues_cents < prev.dues_cents:
                raise ValueError(f"bracket {nxt.label!r}: dues lower than {prev.label!r}")
        last = self.brackets[-1]
        if last.max_headcount is not None or last.max_budget_cents is not None:
            raise ValueError(f"the last bracket {last.label!r} must be unbounded")
        if len({b.label for b in self.brackets}) != len(self.brackets):
            raise ValueError("bracket labels must be unique")
        return self

    def bracket_for(self, headcount: int, budget_cents: int) -> FeeBracket:
        """The bracket of an organisation; :class:`InvalidInput` for a negative size."""
        if headcount < 0:
            raise InvalidInput("headcount", "headcount must be 0 or more")
        if budget_cents < 0:
            raise InvalidInput("annual_budget_cents", "annual budget must be 0 or more")
        for bracket in self.brackets:
            if bracket.fits(headcount, budget_cents):
                return bracket
        raise AssertionError("unreachable: the last bracket is unbounded")  # pragma: no cover

    def dues_for(self, headcount: int, budget_cents: int) -> int:
        """Yearly dues in euro cents for an organisation of this size."""
        return self.bracket_for(headcount, budget_cents).dues_cents


#: An example scale, plausible for a regional chamber (2023: 70,775 € of dues in all). The
#: real barème is voted by the general assembly: the service layer loads it from configuration.
DEFAULT_FEE_SCALE = FeeScale(brackets=(
    FeeBracket(label="B1", max_headcount=2, max_budget_cents=50_000 * EURO, dues_cents=50 * EURO),
    FeeBracket(label="B2", max_headcount=10, max_budget_cents=200_000 * EURO, dues_cents=150 * EURO),
    FeeBracket(label="B3", max_headcount=50, max_budget_cents=1_000_000 * EURO, dues_cents=400 * EURO),
    FeeBracket(label="B4", max_headcount=250, max_budget_cents=5_000_000 * EURO, dues_cents=1_000 * EURO),
    FeeBracket(label="B5", max_headcount=1_000, max_budget_cents=20_000_000 * EURO, dues_cents=2_500 * EURO),
    FeeBracket(label="B6", dues_cents=5_000 * EURO),
))


class DuesTerms(BaseModel):
    """When dues fall due and how long a member stays in good standing after that.

    ``due_on = issued_on + payment_terms_days``; ``grace_ends_on = due_on + grace_period_days``.
    """

    model_config = ConfigDict(frozen=True)

    payment_terms_days: int = Field(default=30, ge=0, description="Days from issue to the deadline.",
                                    examples=[30])
    grace_period_days: int = Field(default=60, ge=0,
                                   description="Days after the deadline before an unpaid membership lapses.",
                                   examples=[60])
    invoicing_month: int = Field(default=1, ge=1, le=12,
                                 description="Month of the yearly invoicing (the dues runner invoices year Y's dues "
                                             "on invoicing_day/invoicing_month of Y, or at its first run after).",
                                 examples=[1])
    invoicing_day: int = Field(default=5, ge=1, le=28, description="Day of the month of the yearly invoicing "
                                                                   "(1–28: a day every month has).", examples=[5])

    def invoicing_on(self, year: int) -> date:
        """The day the dues of ``year`` are invoiced."""
        return date(year, self.invoicing_month, self.invoicing_day)


DEFAULT_DUES_TERMS = DuesTerms()
