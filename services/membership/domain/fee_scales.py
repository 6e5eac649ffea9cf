"""The fee scale of each dues year (barème voted by the general assembly), versioned.

:class:`DuesYearScale` is an aggregate, one per dues year (``id``: the year as text): its scale in
force and every earlier revision (``history``). Invoicing year ``Y`` uses ``Y``'s scale when one
was adopted, else the default scale of the settings (``MEMBERSHIP_FEE_SCALE_FILE``).

Replacing the scale of a year some invoices were already issued under is refused (``Conflict``
naming how many) unless ``force`` is given: those invoices keep their amount and bracket (an
invoice keeps what was computed when it was issued), only the invoices issued afterwards follow
the new scale; the event says it was forced and how many invoices predate it. Adopting a first
scale for a year already invoiced under the default one counts as a change too.
"""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, ValidationError

from contracts.membership import FeeScaleAdopted, FeeScaleBracket
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput

from . import _rules
from .fee_scale import FeeScale


class ScaleRevision(BaseModel):
    """A scale that was in force for the year, until ``replaced_on``."""

    revision: int = Field(ge=1)
    scale: FeeScale
    adopted_on: date
    reference: str | None = None
    forced: bool = False
    replaced_on: date | None = None


class DuesYearScale(Aggregate):
    """The fee scale of one dues year and its history. ``id`` is the year (text)."""

    year: int
    revision: int = Field(ge=1)
    scale: FeeScale
    adopted_on: date
    reference: str | None = None
    forced: bool = False
    history: list[ScaleRevision] = Field(default_factory=list, description="Earlier revisions, oldest first.")

    @classmethod
    def adopt(cls, year: int, brackets: list[dict] | FeeScale, *, on: date, reference: str | None = None,
              invoices_issued: int = 0, force: bool = False) -> DuesYearScale:
        """The first scale of ``year`` → ``FeeScaleAdopted`` (revision 1).

        :raises InvalidInput: a bad scale (named by its bracket), a year outside 1900–2200.
        :raises Conflict: invoices of the year exist (issued under the default scale) and not ``force``.
        """
        year = _year(year)
        scale = _scale(brackets)
        _guard(year, invoices_issued, force)
        item = cls(id=str(year), year=year, revision=1, scale=scale, adopted_on=on,
                   reference=_rules.optional_text(reference, "reference", max_length=200),
                   forced=bool(force and invoices_issued))
        item._record(invoices_issued)
        return item

    def replace(self, brackets: list[dict] | FeeScale, *, on: date, reference: str | None = None,
                invoices_issued: int = 0, force: bool = False) -> bool:
        """A new scale for the year → ``FeeScaleAdopted`` (next revision); the one in force goes
        to ``history``. The same scale again changes nothing (returns False).

        :raises InvalidInput: a bad scale; ``on`` before the revision in force.
        :raises Conflict: invoices of the year were issued and not ``force``.
        """
        scale = _scale(brackets)
        if scale == self.scale:
            return False
        _guard(self.year, invoices_issued, force)
        _rules.not_before(on, self.adopted_on, "on", f"the adoption of revision {self.revision}")
        self.history = [*self.history, ScaleRevision(revision=self.revision, scale=self.scale,
                                                     adopted_on=self.adopted_on, reference=self.reference,
                                                     forced=self.forced, replaced_on=on)]
        self.revision += 1
        self.scale, self.adopted_on = scale, on
        self.reference = _rules.optional_text(reference, "reference", max_length=200)
        self.forced = bool(force and invoices_issued)
        self._record(invoices_issued)
        return True

    def _record(self, invoices_issued: int) -> None:
        self.record(FeeScaleAdopted(
            year=self.year, revision=self.revision,
            brackets=[FeeScaleBracket(**b.model_dump()) for b in self.scale.brackets], adopted_on=self.adopted_on,
            reference=self.reference, forced=self.forced, invoices_already_issued=invoices_issued))


def _year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
        raise InvalidInput("year", f"year must be from 1900 to 2200 (got {year!r})")
    return year


def _scale(brackets: list[dict] | FeeScale) -> FeeScale:
    if isinstance(brackets, FeeScale):
        return brackets
    try:
        return FeeScale.model_validate({"brackets": brackets})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "brackets"
        raise InvalidInput(where, f"{where}: {error['msg']}") from None


def _guard(year: int, invoices_issued: int, force: bool) -> None:
    if invoices_issued and not force:
        raise Conflict(f"{invoices_issued} invoice(s) of the {year} dues were already issued under the scale in "
                       f"force; they keep their amount — send force=true to change the scale for the invoices "
                       f"still to come", year=year, invoices_issued=invoices_issued)
