"""A buyer's need: the :class:`Need` aggregate and its lifecycle.

::

    draft ──submit──▶ submitted ──validate──▶ validated ──start_dispatch──▶ dispatching
      ▲  (edit: draft only) │                                                  │ complete_dispatch
      └──── send_back ──────┘                                                  ▼
                                        awarded ◀──award── closed ◀──close── dispatched
    abandon: from draft, submitted, validated, dispatched or closed → abandoned

- Terms (:func:`terms`): title, kind, sectors (≥ 1), description, place (a commune's INSEE code
  and/or a département; the commune gives the département), perimeter (communes, départements or
  a region), an amount band and/or an exact amount in cents (the amount must fall in the band
  when both are given; the band is derived from an amount given alone), a deadline in the future,
  a reserved contract (with its article, required iff reserved), a social clause.
- Every step records its event and an entry of the need's own log (who, when, what; the free
  texts — a sending-back reason, an abandonment note — live in the log, never in an event).
- A step out of order is a :class:`Conflict` naming the current state and what is expected.
- The dispatch itself (batches, funnel rows) is driven by the service layer; the need only
  records that it started and completed. Reminders (:meth:`Need.remind`) are recorded on the need
  so that they and its closing are serialised: no reminder after the need closed.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.procurement.needs import (NeedAbandoned, NeedAbandonReason, NeedAwarded, NeedClosed,
                                         NeedDispatchCompleted, NeedDispatchStarted, NeedDrafted, NeedKind,
                                         NeedLinkedToMeeting, NeedSentBack, NeedStatus, NeedSubmitted, NeedUpdated,
                                         NeedValidated, SupplierReminded)
from contracts.procurement.vocabulary import AMOUNT_BANDS, AmountBand, ReservedArticle, Sector
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput

from . import need_rules as rules

MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_REASON = 2_000
MAX_DEADLINE_DAYS = 3 * 366
"""A deadline at most about three years ahead (a far-off date is a typo)."""
MAX_PERIMETER_COMMUNES = 1_000
MAX_AWARDED = 50
MAX_MEETINGS = 200

EDITABLE = ("title", "kind", "sectors", "description", "place", "perimeter", "amount_band", "amount_cents",
            "deadline_at", "reserved", "reserved_article", "social_clause")
"""The fields of a need's terms (what :func:`terms` checks and a draft's edit may change)."""

TAKING_ANSWERS = (NeedStatus.DISPATCHING, NeedStatus.DISPATCHED)
"""States in which notified suppliers may say they are interested, ask questions and answer."""

_NEXT_STEP = {
    NeedStatus.DRAFT: "edit it, submit it, or abandon it",
    NeedStatus.SUBMITTED: "validate it or send it back (staff), or abandon it",
    NeedStatus.VALIDATED: "dispatch it, or abandon it",
    NeedStatus.DISPATCHING: "wait for its dispatch to complete",
    NeedStatus.DISPATCHED: "close it (or wait for its deadline), or abandon it",
    NeedStatus.CLOSED: "award it, or abandon it",
    NeedStatus.AWARDED: "none: it is awarded",
    NeedStatus.ABANDONED: "none: it is abandoned",
}


class Place(BaseModel):
    """Where the need is: a commune (INSEE code) and its département, or a département alone."""

    model_config = ConfigDict(frozen=True)

    commune: str | None = None
    departement: str


class Perimeter(BaseModel):
    """Where the work is carried out, beyond the place: communes, départements, or a whole region."""

    model_config = ConfigDict(frozen=True)

    communes: list[str] = Field(default_factory=list)
    departements: list[str] = Field(default_factory=list)
    region: str | None = None


class LogEntry(BaseModel):
    """One step of the need's own log: who, when, what (and the step's free text, if any)."""

    model_config = ConfigDict(frozen=True)

    at: AwareDatetime
    by: str
    action: str
    detail: str | None = None


class Award(BaseModel):
    model_config = ConfigDict(frozen=True)

    supplier_ids: list[str]
    grouping_id: str | None = None
    amount_cents: int
    awarded_at: AwareDatetime


class MeetingLink(BaseModel):
    model_config = ConfigDict(frozen=True)

    meeting_id: str
    convention_id: str
    linked_at: AwareDatetime


# -- terms -------------------------------------------------------------------------------------------
def place(value: object, field: str = "place") -> Place:
    """A place: ``{"commune": INSEE code, "departement": code}``, either or both (consistent)."""
    if isinstance(value, Place):
        return value
    if not isinstance(value, Mapping):
        raise InvalidInput(field, f"{field} must give a commune (INSEE code) and/or a département")
    unknown = set(value) - {"commune", "departement"}
    if unknown:
        raise InvalidInput(f"{field}.{sorted(unknown)[0]}", f"{field} has no field {sorted(unknown)[0]!r}")
    commune = value.get("commune")
    departement = value.get("departement")
    if commune is None and departement is None:
        raise InvalidInput(field, f"{field} must give a commune (INSEE code) and/or a département")
    found = None if commune is None else rules.commune(commune, f"{field}.commune")
    departement = None if departement is None else rules.departement(departement, f"{field}.departement")
    if found is not None:
        if departement is not None and departement != found.departement:
            raise InvalidInput(f"{field}.departement", f"commune {found.code} ({found.name}) is in département "
                                                       f"{found.departement}, not {departement}")
        departement = found.departement
    return Place(commune=found.code if found else None, departement=departement)


def perimeter(value: object, field: str = "perimeter") -> Perimeter:
    if value is None:
        return Perimeter()
    if isinstance(value, Perimeter):
        return value
    if not isinstance(value, Mapping):
        raise InvalidInput(field, f"{field} must give communes, départements or a region")
    unknown = set(value) - {"communes", "departements", "region"}
    if unknown:
        raise InvalidInput(f"{field}.{sorted(unknown)[0]}", f"{field} has no field {sorted(unknown)[0]!r}")
    region = value.get("region")
    return Perimeter(
        communes=rules.codes(value.get("communes"), f"{field}.communes", rules.commune_code,
                             max_items=MAX_PERIMETER_COMMUNES),
        departements=rules.codes(value.get("departements"), f"{field}.departements", rules.departement,
                                 max_items=120),
        region=None if region is None else rules.region(region, f"{field}.region"))


def band_of(amount_cents: int) -> AmountBand:
    """The band an amount falls in (lower bound included, upper excluded)."""
    for band, (low, high) in AMOUNT_BANDS.items():
        if amount_cents >= low and (high is None or amount_cents < high):
            return band
    raise InvalidInput("amount_cents", f"no amount band holds {amount_cents}")  # cannot happen: bands cover 0..


def amounts(band: object, cents: object) -> tuple[AmountBand | None, int | None]:
    """The amount band and exact amount: the band derived from an amount given alone; an amount
    given with a band must fall in it (422 naming ``amount_cents``)."""
    band = None if band is None else rules.enum_value(AmountBand, band, "amount_band")
    cents = None if cents is None else rules.amount(cents, "amount_cents")
    if cents is not None:
        if band is not None and band_of(cents) is not band:
            low, high = AMOUNT_BANDS[band]
            bounds = f"from {low} cents" + (f" to less than {high} cents" if high is not None else " up")
            raise InvalidInput("amount_cents", f"amount_cents {cents} is not in the band {band.value} ({bounds})")
        band = band_of(cents)
    return band, cents


def deadline(value: object, at: datetime, field: str = "deadline_at") -> datetime:
    """A deadline in the future (after ``at``), within about three years."""
    value = rules.instant(value, field)
    if value <= at:
        raise InvalidInput(field, f"{field} {value.isoformat()} is not in the future (now {at.isoformat()})")
    if value > at + timedelta(days=MAX_DEADLINE_DAYS):
        raise InvalidInput(field, f"{field} {value.isoformat()} is more than {MAX_DEADLINE_DAYS} days ahead")
    return value


def terms(fields: Mapping[str, Any], *, at: datetime) -> dict[str, Any]:
    """Every term of a need, checked (422 naming the field at fault), as the aggregate stores them."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], f"a need has no field {sorted(unknown)[0]!r}")
    reserved = rules.flag(fields.get("reserved", False), "reserved")
    article = fields.get("reserved_article")
    article = None if article is None else rules.enum_value(ReservedArticle, article, "reserved_article")
    if reserved and article is None:
        raise InvalidInput("reserved_article", "a reserved contract names its article (l2113_12, l2113_13 or "
                                               "l2113_15)")
    if not reserved and article is not None:
        raise InvalidInput("reserved_article", "only a reserved contract names an article (set reserved to true)")
    band, cents = amounts(fields.get("amount_band"), fields.get("amount_cents"))
    return {
        "title": rules.text(fields.get("title"), "title", max_length=MAX_TITLE),
        "kind": rules.enum_value(NeedKind, fields.get("kind"), "kind"),
        "sectors": rules.enums(Sector, fields.get("sectors"), "sectors", minimum=1),
        "description": rules.optional_text(fields.get("description"), "description", max_length=MAX_DESCRIPTION),
        "place": place(fields.get("place")),
        "perimeter": perimeter(fields.get("perimeter")),
        "amount_band": band,
        "amount_cents": cents,
        "deadline_at": deadline(fields.get("deadline_at"), at),
        "reserved": reserved,
        "reserved_article": article,
        "social_clause": rules.flag(fields.get("social_clause", False), "social_clause"),
    }


# -- the aggregate -------------------------------------------------------------------------------------
class Need(Aggregate):
    """A buyer's need. ``id`` is the need id (``need-…``)."""

    buyer_id: str
    title: str
    kind: NeedKind
    sectors: list[Sector]
    description: str | None = None
    place: Place
    perimeter: Perimeter = Field(default_factory=Perimeter)
    amount_band: AmountBand | None = None
    amount_cents: int | None = None
    deadline_at: AwareDatetime
    reserved: bool = False
    reserved_article: ReservedArticle | None = None
    social_clause: bool = False
    status: NeedStatus = NeedStatus.DRAFT
    drafted_at: AwareDatetime
    submissions: int = 0
    submitted_at: AwareDatetime | None = None
    validated_at: AwareDatetime | None = None
    dispatch_started_at: AwareDatetime | None = None
    dispatched_at: AwareDatetime | None = None
    notified: int = 0
    capped: bool = False
    closed_at: AwareDatetime | None = None
    contract: Award | None = None
    """What was awarded (to whom, for how much)."""
    awarded_at: AwareDatetime | None = None
    abandoned_at: AwareDatetime | None = None
    abandon_reason: NeedAbandonReason | None = None
    meetings: list[MeetingLink] = Field(default_factory=list)
    reminder_rounds: int = 0
    last_reminded_at: AwareDatetime | None = None
    impact_respondents: list[str] = Field(default_factory=list)
    """Respondent keys (``buyer:<id>``, ``supplier:<id>``) the impact survey was opened to."""
    impact_complete: bool = False
    """True once no impact survey is left to open (the sweeper skips the need)."""
    log: list[LogEntry] = Field(default_factory=list)

    # -- factory -------------------------------------------------------------------------------------
    @classmethod
    def draft(cls, need_id: str, *, buyer_id: str, fields: Mapping[str, Any], at: datetime, by: str) -> Need:
        """A draft need → ``NeedDrafted``.

        :raises InvalidInput: naming the field (``amount_band``, ``deadline_at``, ``sectors.1``…).
        """
        at = rules.instant(at, "at")
        need = cls(id=rules.identifier(need_id, "need_id"), buyer_id=rules.identifier(buyer_id, "buyer_id"),
                   drafted_at=at, **terms(fields, at=at))
        need._log(at, by, "drafted")
        need.record(NeedDrafted(buyer_id=need.buyer_id, drafted_at=at, **need._terms_event()))
        return need

    # -- the lifecycle -------------------------------------------------------------------------------
    def update(self, changes: Mapping[str, Any], *, at: datetime, by: str) -> list[str]:
        """Change a draft's terms (only those given) → ``NeedUpdated`` with the fields that changed;
        returns them (nothing recorded when none did).

        :raises Conflict: not a draft. :raises InvalidInput: naming the field.
        """
        self._expect("edit the need", NeedStatus.DRAFT)
        at = self._at(at)
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], f"a need has no field {sorted(unknown)[0]!r}")
        current = {name: getattr(self, name) for name in EDITABLE}
        current["place"] = self.place.model_dump()
        current["perimeter"] = self.perimeter.model_dump()
        if "amount_cents" in changes and "amount_band" not in changes and changes["amount_cents"] is not None:
            current["amount_band"] = None  # a new exact amount gives its band
        if "reserved" in changes and changes["reserved"] is False and "reserved_article" not in changes:
            current["reserved_article"] = None  # no longer reserved: no article
        checked = terms({**current, **changes}, at=at)
        changed = [name for name in EDITABLE if checked[name] != getattr(self, name)]
        if not changed:
            return []
        for name in changed:
            setattr(self, name, checked[name])
        self._log(at, by, "updated", ", ".join(changed))
        self.record(NeedUpdated(changed_fields=changed, updated_at=at, **self._terms_event()))
        return changed

    def submit(self, *, at: datetime, by: str) -> None:
        """Submit a draft for validation → ``NeedSubmitted``.

        :raises Conflict: not a draft. :raises InvalidInput: ``deadline_at`` has passed.
        """
        self._expect("submit the need", NeedStatus.DRAFT)
        at = self._at(at)
        self._deadline_ahead(at, "submit it")
        self.status = NeedStatus.SUBMITTED
        self.submissions += 1
        self.submitted_at = at
        self._log(at, by, "submitted")
        self.record(NeedSubmitted(need_id=self.id, submission=self.submissions, submitted_at=at))

    def send_back(self, reason: str, *, at: datetime, by: str) -> None:
        """Send a submitted need back to its buyer for changes (a draft again) → ``NeedSentBack``;
        the reason goes to the log.

        :raises Conflict: not submitted. :raises InvalidInput: ``reason`` blank.
        """
        self._expect("send the need back", NeedStatus.SUBMITTED)
        reason = rules.text(reason, "reason", max_length=MAX_REASON)
        at = self._at(at)
        self.status = NeedStatus.DRAFT
        self._log(at, by, "sent_back", reason)
        self.record(NeedSentBack(need_id=self.id, sent_back_at=at))

    def validate(self, *, at: datetime, by: str) -> None:
        """Validate a submitted need → ``NeedValidated``.

        :raises Conflict: not submitted. :raises InvalidInput: ``deadline_at`` has passed (send it back).
        """
        self._expect("validate the need", NeedStatus.SUBMITTED)
        at = self._at(at)
        self._deadline_ahead(at, "validate it (send it back for a new deadline)")
        self.status = NeedStatus.VALIDATED
        self.validated_at = at
        self._log(at, by, "validated")
        self.record(NeedValidated(need_id=self.id, validated_at=at))

    def start_dispatch(self, *, at: datetime, by: str, batch_size: int, cap: int) -> None:
        """Start dispatching a validated need → ``NeedDispatchStarted``.

        :raises Conflict: not validated. :raises InvalidInput: ``deadline_at`` has passed.
        """
        self._expect("dispatch the need", NeedStatus.VALIDATED)
        at = self._at(at)
        self._deadline_ahead(at, "dispatch it")
        batch_size = rules.whole(batch_size, "batch_size", minimum=1, maximum=100_000)
        cap = rules.whole(cap, "cap", minimum=1, maximum=1_000_000)
        self.status = NeedStatus.DISPATCHING
        self.dispatch_started_at = at
        self._log(at, by, "dispatch_started", f"batches of {batch_size}, at most {cap} suppliers")
        self.record(NeedDispatchStarted(need_id=self.id, batch_size=batch_size, cap=cap, started_at=at))

    def complete_dispatch(self, *, at: datetime, notified: int, batches: int, capped: bool) -> None:
        """Every matching supplier (up to the cap) was notified → ``NeedDispatchCompleted``.

        :raises Conflict: not dispatching.
        """
        self._expect("complete the dispatch", NeedStatus.DISPATCHING)
        at = self._at(at)
        # checked before any change, as every other step does: a refusal leaves the need dispatching
        notified = rules.whole(notified, "notified", minimum=0, maximum=10_000_000)
        self.status = NeedStatus.DISPATCHED
        self.dispatched_at = at
        self.notified = notified
        self.capped = capped
        self._log(at, "system", "dispatch_completed",
                  f"{notified} suppliers notified in {batches} batches" + (" (capped)" if capped else ""))
        self.record(NeedDispatchCompleted(need_id=self.id, notified=notified, batches=batches, capped=capped,
                                          completed_at=at))

    def close(self, *, at: datetime, by: str, interested: int, answered: int, at_deadline: bool = False) -> None:
        """Stop taking answers → ``NeedClosed`` (with the funnel's counts as they are).

        :raises Conflict: not dispatched.
        """
        self._expect("close the need", NeedStatus.DISPATCHED)
        at = self._at(at)
        self.status = NeedStatus.CLOSED
        self.closed_at = at
        self._log(at, by, "closed", "its deadline passed" if at_deadline else None)
        self.record(NeedClosed(need_id=self.id, at_deadline=at_deadline, notified=self.notified,
                               interested=interested, answered=answered, closed_at=at))

    def award(self, *, supplier_ids: Iterable[str], grouping_id: str | None, amount_cents: int, at: datetime,
              by: str) -> None:
        """Award a closed need to suppliers and/or a grouping, for an amount → ``NeedAwarded``.

        :raises Conflict: not closed. :raises InvalidInput: no supplier and no grouping; a bad id
            (``supplier_ids.<i>``); ``amount_cents``.
        """
        self._expect("award the need", NeedStatus.CLOSED)
        if isinstance(supplier_ids, str):
            raise InvalidInput("supplier_ids", "supplier_ids must be a list of supplier ids")
        ids = rules.codes(list(supplier_ids), "supplier_ids", rules.identifier, max_items=MAX_AWARDED)
        grouping_id = rules.optional_identifier(grouping_id, "grouping_id")
        if not ids and grouping_id is None:
            raise InvalidInput("supplier_ids", "award the need to at least one supplier, or to a grouping")
        amount_cents = rules.amount(amount_cents, "amount_cents")
        at = self._at(at)
        self.status = NeedStatus.AWARDED
        self.contract = Award(supplier_ids=ids, grouping_id=grouping_id, amount_cents=amount_cents, awarded_at=at)
        self.awarded_at = at
        whom = ", ".join(ids) + (f" (grouping {grouping_id})" if grouping_id else "")
        self._log(at, by, "awarded", f"to {whom.strip(', ')} for {amount_cents} cents")
        self.record(NeedAwarded(need_id=self.id, supplier_ids=ids, grouping_id=grouping_id, amount_cents=amount_cents,
                                awarded_at=at))

    def abandon(self, reason: NeedAbandonReason | str, *, note: str | None = None, at: datetime, by: str) -> None:
        """Give the need up → ``NeedAbandoned``; the note (free text) goes to the log.

        :raises Conflict: dispatching (wait for it), awarded or abandoned already.
        """
        self._expect("abandon the need", NeedStatus.DRAFT, NeedStatus.SUBMITTED, NeedStatus.VALIDATED,
                     NeedStatus.DISPATCHED, NeedStatus.CLOSED)
        reason = rules.enum_value(NeedAbandonReason, reason, "reason")
        note = rules.optional_text(note, "note", max_length=MAX_REASON)
        at = self._at(at)
        previous = self.status
        self.status = NeedStatus.ABANDONED
        self.abandoned_at = at
        self.abandon_reason = reason
        self.impact_complete = True
        self._log(at, by, "abandoned", f"{reason.value}: {note}" if note else reason.value)
        self.record(NeedAbandoned(need_id=self.id, reason=reason, previous_status=previous, abandoned_at=at))

    # -- reminders, meetings, impact ---------------------------------------------------------------
    def remind(self, reminders: Iterable[tuple[str, int]], *, at: datetime) -> int:
        """Record a round of reminders, ``(supplier id, reminder number)`` each → one
        ``SupplierReminded`` per supplier; returns how many (nothing recorded for none). Which
        suppliers are due is :func:`~.need_funnel.reminder_due`'s rule.

        :raises Conflict: the need does not take answers (closed, awarded…): no reminder then.
        """
        self._expect("remind suppliers", NeedStatus.DISPATCHED)
        at = self._at(at)
        due = list(reminders)
        if not due:
            return 0
        for supplier_id, number in due:
            self.record(SupplierReminded(need_id=self.id, supplier_id=supplier_id, reminder=number, reminded_at=at))
        self.reminder_rounds += 1
        self.last_reminded_at = at
        return len(due)

    def link_meeting(self, meeting_id: str, convention_id: str, *, at: datetime, by: str) -> bool:
        """Link a business meeting (held at a convention) → ``NeedLinkedToMeeting``; False (nothing
        recorded) when it is linked already.

        :raises Conflict: a draft (not a need yet for the team); too many meetings.
        """
        self.expect_meetings()
        meeting_id = rules.identifier(meeting_id, "meeting_id")
        convention_id = rules.identifier(convention_id, "convention_id")
        if any(m.meeting_id == meeting_id for m in self.meetings):
            return False
        if len(self.meetings) >= MAX_MEETINGS:
            raise Conflict(f"need {self.id} is linked to {MAX_MEETINGS} meetings already",
                           current_state=self.status.value, expected_step="none: too many meetings")
        at = self._at(at)
        self.meetings = [*self.meetings, MeetingLink(meeting_id=meeting_id, convention_id=convention_id, linked_at=at)]
        self._log(at, by, "meeting_linked", f"meeting {meeting_id} of convention {convention_id}")
        self.record(NeedLinkedToMeeting(need_id=self.id, meeting_id=meeting_id, convention_id=convention_id,
                                        linked_at=at))
        return True

    def expect_meetings(self) -> None:
        """:raises Conflict: the need is a draft: meetings are linked to needs submitted to the team."""
        self._expect("link a meeting", NeedStatus.SUBMITTED, NeedStatus.VALIDATED, NeedStatus.DISPATCHING,
                     NeedStatus.DISPATCHED, NeedStatus.CLOSED, NeedStatus.AWARDED, NeedStatus.ABANDONED)

    def impact_due(self, at: datetime, delay: timedelta) -> list[tuple[str, str]]:
        """The impact surveys to open now, as ``(respondent kind, respondent id)``: none before the
        deadline plus ``delay``; then the buyer's, and each awarded supplier's — once each. A need
        dispatched but not closed yet, closed or awarded gets them; an abandoned one none."""
        if self.status not in (NeedStatus.DISPATCHED, NeedStatus.CLOSED, NeedStatus.AWARDED):
            return []
        if at < self.deadline_at + delay:
            return []
        wanted = [("buyer", self.buyer_id)]
        if self.contract is not None:
            wanted += [("supplier", sid) for sid in self.contract.supplier_ids]
        return [(kind, rid) for kind, rid in wanted if f"{kind}:{rid}" not in self.impact_respondents]

    def impact_opened(self, opened: Iterable[tuple[str, str]], *, at: datetime) -> None:
        """Note the impact surveys just opened (their events are the surveys'); once the need is
        awarded and every survey is open, :attr:`impact_complete`."""
        at = self._at(at)
        for kind, rid in opened:
            key = f"{kind}:{rid}"
            if key not in self.impact_respondents:
                self.impact_respondents = [*self.impact_respondents, key]
                self._log(at, "system", "impact_survey_opened", f"to the {kind} {rid}")
        self.impact_complete = self.status is NeedStatus.AWARDED and not self.impact_due(at, timedelta(0))

    # -- queries ----------------------------------------------------------------------------------------
    @property
    def next_step(self) -> str:
        return _NEXT_STEP[self.status]

    @property
    def takes_answers(self) -> bool:
        return self.status in TAKING_ANSWERS

    def spend_cents(self) -> int | None:
        """The amount at stake: the exact amount, else the middle of the band (its lower bound for the
        open-ended top band), else None."""
        if self.amount_cents is not None:
            return self.amount_cents
        if self.amount_band is None:
            return None
        low, high = AMOUNT_BANDS[self.amount_band]
        return low if high is None else (low + high) // 2

    # -- internals -----------------------------------------------------------------------------------
    def _terms_event(self) -> dict[str, Any]:
        return {"need_id": self.id, "kind": self.kind, "sectors": list(self.sectors),
                "departement": self.place.departement, "commune": self.place.commune,
                "amount_band": self.amount_band, "amount_cents": self.amount_cents, "deadline_at": self.deadline_at,
                "reserved_article": self.reserved_article, "social_clause": self.social_clause}

    def _expect(self, action: str, *allowed: NeedStatus) -> None:
        if self.status not in allowed:
            expected = " or ".join(s.value for s in allowed)
            raise rules.conflict(f"need {self.id}", action, self.status.value,
                                 f"a need {expected} — now: {self.next_step}")

    def _deadline_ahead(self, at: datetime, action: str) -> None:
        if self.deadline_at <= at:
            raise InvalidInput("deadline_at", f"the deadline {self.deadline_at.isoformat()} has passed: cannot "
                                              f"{action}")

    def _at(self, at: datetime) -> datetime:
        at = rules.instant(at, "at")
        last = self.log[-1].at if self.log else self.drafted_at
        if at < last:
            raise InvalidInput("at", f"at {at.isoformat()} is before the need's last step ({last.isoformat()})")
        return at

    def _log(self, at: datetime, by: str, action: str, detail: str | None = None) -> None:
        self.log = [*self.log, LogEntry(at=at, by=by or "unknown", action=action, detail=detail)]
