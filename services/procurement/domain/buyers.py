"""Buyers, their engagements, conventions and the team's interventions: pure domain.

Four aggregates, all published on the buyer's topic (``procurement.buyer``, key ``buyer_id``):

- :class:`Buyer` — a local authority (commune, EPT, EPCI, département, region), another public
  buyer or a private company: SIRET (checksum), name, kind, département, commune (INSEE code of a
  commune of that département, checked against the shipped :mod:`reference.geo`).
  ``register`` → ``update`` (corrections) → ``archive`` (no longer followed: no new engagement,
  convention or intervention; refused while an engagement is open or a convention is or will be
  in force).
- :class:`Engagement` — a PAMS engagement (public buyers: measure → train → act) or an OSER one
  (private companies: diagnostic → awareness → sourcing and meetings → lasting partnership →
  impact). It opens in its programme's first phase; ``advance`` enters the next phase only
  (skipping one or going back is a 409 naming the current phase and the next allowed one);
  ``complete`` from the last phase; ``abandon`` (with a reason) from any. One engagement open per
  buyer at a time (the service layer guards it); several over the years.
- :class:`BuyerConvention` — a convention signed with a local authority: in force on a day ``d``
  when ``starts_on <= d <= ends_on`` and, once terminated early, ``d < terminated_on`` (the
  termination date is the first day it no longer binds).
- :class:`Intervention` — a training, awareness workshop, diagnostic, sourcing or meeting, dated
  (never in the future: a fact), by a team (default: business development), with the buyer and
  optionally one of its engagements; corrected or withdrawn when mistaken (evented too).

:func:`year_figures` computes the activity report's figures from these aggregates exactly as a
consumer of the events would (see :mod:`contracts.procurement.buyers`).

Time is passed in: ``at`` (an aware instant, the server's clock) and ``on`` (the day of a fact,
which staff may give for facts logged late, never after ``at``'s day in Europe/Paris).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field

from contracts.events.registrations import Team
from contracts.procurement.buyers import (PROGRAMME_PHASES, BuyerArchived, BuyerConventionSigned,
                                          BuyerConventionTerminated, BuyerRegistered, BuyerStatus, BuyerUpdated,
                                          EngagementAbandoned, EngagementCompleted, EngagementOpened,
                                          EngagementPhase, EngagementPhaseAdvanced, EngagementStatus,
                                          InterventionCorrected, InterventionKind, InterventionLogged,
                                          InterventionWithdrawn)
from contracts.procurement.vocabulary import LOCAL_AUTHORITY_KINDS, PUBLIC_BUYER_KINDS, BuyerKind, Programme
from reference import geo
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput
from runtime.rules import enum_value, optional_text, text
from runtime.siret import validate_siret

PARIS = ZoneInfo("Europe/Paris")

DEPARTEMENTS: frozenset[str] = frozenset(
    {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B"} | {"971", "972", "973", "974", "976"})
"""Codes of the French départements: 01–95 (Corsica is 2A and 2B, not 20) and the overseas
départements 971, 972, 973, 974 and 976."""

_COMMUNE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
NAME_MAX = 200
NOTES_MAX = 4000
REASON_MAX = 2000
MAX_PARTICIPANTS = 5000
"""Most people one intervention may count (a large awareness day; more is a typing error)."""
MAX_CONVENTION_YEARS = 10
OSER_KINDS = frozenset({BuyerKind.PRIVATE_COMPANY})
ENGAGEMENT_PROGRAMMES = (Programme.PAMS, Programme.OSER)


# -- rules ---------------------------------------------------------------------------------------------
def local_day(at: datetime) -> date:
    """The day of the instant ``at`` in Europe/Paris (the chamber's calendar)."""
    return at.astimezone(PARIS).date()


def instant(value: object, field: str = "at") -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, f"{field} must be a timezone-aware date and time (got {value!r})")
    return value


def day(value: object, field: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidInput(field, f"{field} must be a date (YYYY-MM-DD), got {value!r}")
    return value


def fact_day(value: object, field: str, *, at: datetime, after: date | None = None,
             after_what: str = "the previous step") -> date:
    """The day of a fact: a date, not after ``at``'s day (a fact is not in the future), not before
    ``after`` when given."""
    value = day(value, field)
    today = local_day(at)
    if value > today:
        raise InvalidInput(field, f"{field} {value.isoformat()} is in the future (today is {today.isoformat()}): "
                                  f"log facts once they happened")
    if after is not None and value < after:
        raise InvalidInput(field, f"{field} {value.isoformat()} is before {after_what} ({after.isoformat()})")
    return value


def departement(value: object, field: str = "departement") -> str:
    """The normalised département code (``"1"`` → ``"01"``, ``"2a"`` → ``"2A"``)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"{field} is required (a département code: 01–95, 2A, 2B, 971–976)")
    code = value.strip().upper()
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    if code not in DEPARTEMENTS:
        raise InvalidInput(field, f"{value!r} is not a French département code (01–95, 2A, 2B, 971–976)")
    return code


def commune(value: object, departement_code: str, field: str = "commune") -> str | None:
    """The INSEE code of a commune of ``departement_code`` (``None`` for nothing): five characters,
    digits or 2A/2B then three digits, a commune of the shipped reference (:mod:`reference.geo`)
    lying in that département (:data:`DEPARTEMENTS`, overseas ones included: the reference has the
    communes of each)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, f"{field} must be an INSEE commune code such as '93048' (got {value!r})")
    code = value.strip().upper()
    if not _COMMUNE.match(code):
        raise InvalidInput(field, f"{value!r} is not an INSEE commune code (5 characters: digits, or 2A/2B "
                                  f"and 3 digits, e.g. '93048', '2A004')")
    known = geo.commune(code)
    if known is not None:
        if known.departement != departement_code:
            raise InvalidInput(field, f"commune {code} ({known.name}) is in département {known.departement}, "
                                      f"not {departement_code}")
        return code
    raise InvalidInput(field, f"{code} is not the INSEE code of a commune of département {departement_code}")


def whole(value: object, field: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidInput(field, f"{field} must be a whole number from {minimum} to {maximum} (got {value!r})")
    return value


def conflict(what: str, action: str, state: str, expected: str) -> Conflict:
    """A Conflict naming the current state and the step expected."""
    return Conflict(f"cannot {action}: {what} is {state}; expected step: {expected}",
                    current_state=state, expected_step=expected)


# -- buyers ---------------------------------------------------------------------------------------------
_BUYER_FIELDS = ("kind", "siret", "name", "departement", "commune")


class Buyer(Aggregate):
    """A public or private buyer. ``id`` is ``buy-…``. The document other areas read: ``kind``,
    ``siret``, ``name``, ``departement``, ``commune`` (INSEE code or null), ``status``."""

    kind: BuyerKind
    siret: str
    name: str
    departement: str
    commune: str | None = None
    status: BuyerStatus = BuyerStatus.ACTIVE
    registered_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    archived_at: AwareDatetime | None = None

    @property
    def is_local_authority(self) -> bool:
        return self.kind in LOCAL_AUTHORITY_KINDS

    @staticmethod
    def _identity(kind: object, siret: object, name: object, departement_code: object,
                  commune_code: object) -> dict[str, Any]:
        dep = departement(departement_code)
        if not isinstance(siret, str):
            raise InvalidInput("siret", f"siret is required: 14 digits (got {siret!r})")
        return {"kind": enum_value(BuyerKind, kind, "kind"),
                "siret": validate_siret(siret, "siret"),
                "name": text(name, "name", max_length=NAME_MAX),
                "departement": dep,
                "commune": commune(commune_code, dep)}

    @classmethod
    def register(cls, buyer_id: str, *, kind: object, siret: object, name: object, departement: object,
                 commune: object = None, at: datetime) -> Buyer:
        """A new buyer → ``BuyerRegistered``. (The SIRET's uniqueness is the service layer's.)"""
        at = instant(at)
        identity = cls._identity(kind, siret, name, departement, commune)
        buyer = cls(id=buyer_id, registered_at=at, **identity)
        buyer.record(BuyerRegistered(buyer_id=buyer_id, registered_at=at, **identity))
        return buyer

    def ensure_active(self, action: str) -> None:
        if self.status is BuyerStatus.ARCHIVED:
            raise conflict(f"buyer {self.id}", action, "archived", "none: the buyer is archived")

    def update(self, *, at: datetime, open_programmes: Collection[Programme] = (),
               conventions: int = 0, **changes: Any) -> list[str]:
        """Correct the buyer's identity or territory → ``BuyerUpdated`` (nothing when nothing changes).

        ``open_programmes``: the programmes of its open engagements, ``conventions``: how many of
        its conventions are or will be in force — a new kind must still fit them (409)."""
        at = instant(at)
        unknown = set(changes) - set(_BUYER_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], f"{sorted(unknown)[0]} cannot be changed")
        self.ensure_active("update")
        merged = {name: changes.get(name, getattr(self, name)) for name in _BUYER_FIELDS}
        identity = self._identity(merged["kind"], merged["siret"], merged["name"], merged["departement"],
                                  merged["commune"])
        changed = [name for name in _BUYER_FIELDS if identity[name] != getattr(self, name)]
        if not changed:
            return []
        if "kind" in changed:
            kind = identity["kind"]
            for programme in open_programmes:
                if not programme_fits(programme, kind):
                    raise Conflict(f"buyer {self.id} has an open {programme.value} engagement, which a "
                                   f"{kind.value} cannot have; complete or abandon it first",
                                   current_state=f"open {programme.value} engagement",
                                   expected_step="complete or abandon the engagement")
            if conventions and kind not in LOCAL_AUTHORITY_KINDS:
                raise Conflict(f"buyer {self.id} has conventions in force or to come, which only a local authority "
                               f"may have; terminate them first", current_state="convention in force",
                               expected_step="terminate the conventions")
        for name in changed:
            setattr(self, name, identity[name])
        self.updated_at = at
        self.record(BuyerUpdated(buyer_id=self.id, changed=changed, updated_at=at,
                                 **{name: getattr(self, name) for name in _BUYER_FIELDS}))
        return changed

    def archive(self, *, at: datetime, open_engagement: str | None = None,
                conventions_in_force: Collection[str] = ()) -> None:
        """No longer followed → ``BuyerArchived``. Refused (409) while an engagement is open or a
        convention is or will be in force."""
        at = instant(at)
        self.ensure_active("archive")
        if open_engagement:
            raise conflict(f"buyer {self.id}", "archive", f"engaged (engagement {open_engagement} is open)",
                           "complete or abandon the engagement first")
        if conventions_in_force:
            raise conflict(f"buyer {self.id}", "archive",
                           f"bound by convention {', '.join(sorted(conventions_in_force))}",
                           "terminate the convention first")
        self.status = BuyerStatus.ARCHIVED
        self.archived_at = at
        self.record(BuyerArchived(buyer_id=self.id, archived_at=at))


# -- engagements -------------------------------------------------------------------------------------------
def programme_fits(programme: Programme, kind: BuyerKind) -> bool:
    """PAMS is for public buyers, OSER for private companies."""
    if programme is Programme.PAMS:
        return kind in PUBLIC_BUYER_KINDS
    if programme is Programme.OSER:
        return kind in OSER_KINDS
    return False


def programme_for(kind: BuyerKind) -> Programme:
    return Programme.OSER if kind in OSER_KINDS else Programme.PAMS


class PhaseEntry(BaseModel):
    """The engagement entered ``phase`` on ``on`` (recorded at ``at``)."""

    phase: EngagementPhase
    on: date
    at: AwareDatetime


class Engagement(Aggregate):
    """A PAMS or OSER engagement of a buyer. ``id`` is ``eng-…``; ``history`` lists the phases
    entered, in order (the first is the programme's first phase, entered on ``opened_on``)."""

    buyer_id: str
    programme: Programme
    status: EngagementStatus = EngagementStatus.OPEN
    phase: EngagementPhase
    history: list[PhaseEntry]
    opened_on: date
    closed_on: date | None = None
    abandon_reason: str | None = None
    opened_at: AwareDatetime
    closed_at: AwareDatetime | None = None

    @property
    def phases(self) -> tuple[EngagementPhase, ...]:
        return PROGRAMME_PHASES[self.programme]

    @property
    def next_phase(self) -> EngagementPhase | None:
        i = self.phases.index(self.phase)
        return self.phases[i + 1] if i + 1 < len(self.phases) else None

    @property
    def last_on(self) -> date:
        return self.history[-1].on

    @classmethod
    def open(cls, engagement_id: str, *, buyer: Buyer, programme: object, on: object, at: datetime) -> Engagement:
        """Open an engagement of ``buyer`` in its programme's first phase → ``EngagementOpened``.
        PAMS for public buyers, OSER for private companies (else 422 naming ``programme``)."""
        at = instant(at)
        programme = enum_value(Programme, programme, "programme")
        if programme not in ENGAGEMENT_PROGRAMMES:
            raise InvalidInput("programme", f"a buyer's engagement is pams or oser, not {programme.value}")
        if not programme_fits(programme, buyer.kind):
            right = programme_for(buyer.kind)
            raise InvalidInput("programme", f"{programme.value} is not for a {buyer.kind.value}: PAMS is for public "
                                            f"buyers, OSER for private companies (use {right.value})")
        buyer.ensure_active("open an engagement")
        on = fact_day(on, "on", at=at)
        first = PROGRAMME_PHASES[programme][0]
        engagement = cls(id=engagement_id, buyer_id=buyer.id, programme=programme, phase=first,
                         history=[PhaseEntry(phase=first, on=on, at=at)], opened_on=on, opened_at=at)
        engagement.record(EngagementOpened(buyer_id=buyer.id, engagement_id=engagement_id, programme=programme,
                                           phase=first, buyer_kind=buyer.kind, opened_on=on, opened_at=at))
        return engagement

    def _ensure_open(self, action: str) -> None:
        if self.status is not EngagementStatus.OPEN:
            raise conflict(f"engagement {self.id}", action, self.status.value,
                           f"none: the engagement is {self.status.value}")

    def _expected(self) -> str:
        nxt = self.next_phase
        return f"advance to {nxt.value} (or abandon)" if nxt else "complete (or abandon)"

    def advance(self, phase: object, *, on: object, at: datetime) -> None:
        """Enter the next phase → ``EngagementPhaseAdvanced``. Another phase of the programme
        (skipping, staying, going back) is a 409 naming the current phase and the next allowed one."""
        at = instant(at)
        self._ensure_open("advance")
        phase = enum_value(EngagementPhase, phase, "phase")
        if phase not in self.phases:
            raise InvalidInput("phase", f"{phase.value} is not a phase of {self.programme.value} "
                                        f"({' → '.join(p.value for p in self.phases)})")
        nxt = self.next_phase
        if phase is not nxt:
            allowed = nxt.value if nxt else "none (complete the engagement)"
            raise Conflict(f"cannot enter phase {phase.value}: engagement {self.id} is in phase {self.phase.value}; "
                           f"the next allowed phase is {allowed}", current_state=self.phase.value,
                           expected_step=self._expected(), next_phase=nxt.value if nxt else None)
        on = fact_day(on, "on", at=at, after=self.last_on, after_what=f"the start of phase {self.phase.value}")
        previous = self.phase
        self.phase = phase
        self.history = [*self.history, PhaseEntry(phase=phase, on=on, at=at)]
        self.record(EngagementPhaseAdvanced(buyer_id=self.buyer_id, engagement_id=self.id, programme=self.programme,
                                            from_phase=previous, phase=phase, on=on, advanced_at=at))

    def complete(self, *, on: object, at: datetime) -> None:
        """End the engagement from its programme's last phase → ``EngagementCompleted`` (409 before)."""
        at = instant(at)
        self._ensure_open("complete")
        nxt = self.next_phase
        if nxt is not None:
            raise Conflict(f"cannot complete engagement {self.id}: it is in phase {self.phase.value}; the next "
                           f"allowed phase is {nxt.value} (a {self.programme.value} engagement completes from "
                           f"{self.phases[-1].value})", current_state=self.phase.value,
                           expected_step=self._expected(), next_phase=nxt.value)
        on = fact_day(on, "on", at=at, after=self.last_on, after_what=f"the start of phase {self.phase.value}")
        self.status, self.closed_on, self.closed_at = EngagementStatus.COMPLETED, on, at
        self.record(EngagementCompleted(buyer_id=self.buyer_id, engagement_id=self.id, programme=self.programme,
                                        phase=self.phase, on=on, completed_at=at))

    def abandon(self, reason: object, *, on: object, at: datetime) -> None:
        """Stop the engagement in its current phase, with a reason → ``EngagementAbandoned``."""
        at = instant(at)
        self._ensure_open("abandon")
        reason = text(reason, "reason", max_length=REASON_MAX)
        on = fact_day(on, "on", at=at, after=self.last_on, after_what=f"the start of phase {self.phase.value}")
        self.status, self.closed_on, self.closed_at, self.abandon_reason = EngagementStatus.ABANDONED, on, at, reason
        self.record(EngagementAbandoned(buyer_id=self.buyer_id, engagement_id=self.id, programme=self.programme,
                                        phase=self.phase, on=on, abandoned_at=at))

    def phase_on(self, d: date) -> EngagementPhase | None:
        """The phase the engagement was in on ``d`` (None before it opened or once closed)."""
        if d < self.opened_on or (self.closed_on is not None and d >= self.closed_on):
            return None
        return [entry for entry in self.history if entry.on <= d][-1].phase


# -- conventions ---------------------------------------------------------------------------------------------
class BuyerConvention(Aggregate):
    """A convention signed with a local authority. ``id`` is ``bcv-…``."""

    buyer_id: str
    subject: str
    signed_on: date
    starts_on: date
    ends_on: date
    terminated_on: date | None = None
    termination_reason: str | None = None
    signed_at: AwareDatetime
    terminated_at: AwareDatetime | None = None

    @property
    def last_day(self) -> date:
        """The last day it binds (the day before its termination, when terminated early)."""
        if self.terminated_on is not None:
            return min(self.ends_on, self.terminated_on - timedelta(days=1))
        return self.ends_on

    def in_force_on(self, d: date) -> bool:
        """``starts_on <= d <= ends_on``, and before its termination date when terminated."""
        return self.starts_on <= d <= self.last_day

    def in_force_during(self, first: date, last: date) -> bool:
        """In force on at least one day of ``first..last``."""
        return self.starts_on <= last and self.last_day >= first and self.last_day >= self.starts_on

    def status_on(self, d: date) -> str:
        """``in_force``, ``upcoming``, ``ended`` or ``terminated`` on ``d``."""
        if self.in_force_on(d):
            return "in_force"
        if self.terminated_on is not None and d >= self.terminated_on:
            return "terminated"
        return "upcoming" if d < self.starts_on else "ended"

    @classmethod
    def sign(cls, convention_id: str, *, buyer: Buyer, subject: object, signed_on: object, starts_on: object,
             ends_on: object, at: datetime) -> BuyerConvention:
        """A convention signed with a local authority → ``BuyerConventionSigned``. ``signed_on`` is
        a fact (not in the future); it ends after it starts, within ten years."""
        at = instant(at)
        if not buyer.is_local_authority:
            raise Conflict(f"buyer {buyer.id} is of kind {buyer.kind.value}: conventions are signed with local "
                           f"authorities only ({', '.join(sorted(k.value for k in LOCAL_AUTHORITY_KINDS))})",
                           current_state=buyer.kind.value, expected_step="none: not a local authority")
        buyer.ensure_active("sign a convention")
        subject = text(subject, "subject", max_length=NAME_MAX)
        signed_on = fact_day(signed_on, "signed_on", at=at)
        starts_on = day(starts_on, "starts_on")
        ends_on = day(ends_on, "ends_on")
        if ends_on <= starts_on:
            raise InvalidInput("ends_on", f"ends_on {ends_on.isoformat()} must be after starts_on "
                                          f"{starts_on.isoformat()}")
        if ends_on > _plus_years(starts_on, MAX_CONVENTION_YEARS):
            raise InvalidInput("ends_on", f"a convention runs at most {MAX_CONVENTION_YEARS} years "
                                          f"(from {starts_on.isoformat()})")
        convention = cls(id=convention_id, buyer_id=buyer.id, subject=subject, signed_on=signed_on,
                         starts_on=starts_on, ends_on=ends_on, signed_at=at)
        convention.record(BuyerConventionSigned(buyer_id=buyer.id, convention_id=convention_id, buyer_kind=buyer.kind,
                                                signed_on=signed_on, starts_on=starts_on, ends_on=ends_on,
                                                signed_at=at))
        return convention

    def terminate(self, *, on: object, at: datetime, reason: object = None) -> None:
        """End it early: not in force from ``on`` → ``BuyerConventionTerminated``. ``on`` is from
        its signature to its end (a notice may name a day to come); once only."""
        at = instant(at)
        if self.terminated_on is not None:
            raise conflict(f"convention {self.id}", "terminate", f"terminated from {self.terminated_on.isoformat()}",
                           "none: it is terminated")
        on = day(on, "on")
        if on < self.signed_on:
            raise InvalidInput("on", f"on {on.isoformat()} is before the signature ({self.signed_on.isoformat()})")
        if on > self.ends_on:
            raise InvalidInput("on", f"on {on.isoformat()} is after the convention's end ({self.ends_on.isoformat()}): "
                                     f"it ends by itself")
        self.termination_reason = optional_text(reason, "reason", max_length=REASON_MAX)
        self.terminated_on, self.terminated_at = on, at
        self.record(BuyerConventionTerminated(buyer_id=self.buyer_id, convention_id=self.id, terminated_on=on,
                                              terminated_at=at))


def _plus_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


# -- interventions ----------------------------------------------------------------------------------------------
_INTERVENTION_FIELDS = ("kind", "on", "team", "engagement_id", "participants", "notes")
_FACTS = ("kind", "on", "team", "engagement_id", "participants")


class Intervention(Aggregate):
    """An intervention of the team with a buyer. ``id`` is ``int-…``. ``notes`` may name people:
    they never enter an event."""

    buyer_id: str
    kind: InterventionKind
    on: date
    team: Team = Team.BUSINESS_DEVELOPMENT
    engagement_id: str | None = None
    participants: int | None = Field(default=None, ge=0, le=MAX_PARTICIPANTS)
    notes: str | None = None
    withdrawn: bool = False
    logged_at: AwareDatetime
    corrected_at: AwareDatetime | None = None
    withdrawn_at: AwareDatetime | None = None

    @staticmethod
    def _facts(values: Mapping[str, Any], *, engagement_ids: Collection[str], at: datetime) -> dict[str, Any]:
        engagement_id = values.get("engagement_id")
        if engagement_id is not None and engagement_id not in engagement_ids:
            raise InvalidInput("engagement_id", f"{engagement_id!r} is not an engagement of this buyer")
        participants = values.get("participants")
        if participants is not None:
            participants = whole(participants, "participants", minimum=0, maximum=MAX_PARTICIPANTS)
        team = values.get("team")
        return {"kind": enum_value(InterventionKind, values.get("kind"), "kind"),
                "on": fact_day(values.get("on"), "on", at=at),
                "team": Team.BUSINESS_DEVELOPMENT if team is None else enum_value(Team, team, "team"),
                "engagement_id": engagement_id, "participants": participants,
                "notes": optional_text(values.get("notes"), "notes", max_length=NOTES_MAX)}

    @classmethod
    def log(cls, intervention_id: str, *, buyer: Buyer, engagement_ids: Collection[str] = (), at: datetime,
            **values: Any) -> Intervention:
        """Log an intervention → ``InterventionLogged``. ``engagement_ids``: the buyer's engagements
        (an ``engagement_id`` must be one of them). Values: ``kind``, ``on``, ``team`` (default
        business development), ``engagement_id``, ``participants`` (0–5,000), ``notes``."""
        at = instant(at)
        unknown = set(values) - set(_INTERVENTION_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], f"unknown field {sorted(unknown)[0]}")
        buyer.ensure_active("log an intervention")
        facts = cls._facts(values, engagement_ids=engagement_ids, at=at)
        intervention = cls(id=intervention_id, buyer_id=buyer.id, logged_at=at, **facts)
        intervention.record(InterventionLogged(buyer_id=buyer.id, intervention_id=intervention_id, logged_at=at,
                                               buyer_kind=buyer.kind, **{f: facts[f] for f in _FACTS}))
        return intervention

    def _ensure_logged(self, action: str) -> None:
        if self.withdrawn:
            raise conflict(f"intervention {self.id}", action, "withdrawn", "none: it was withdrawn")

    def correct(self, *, buyer: Buyer, engagement_ids: Collection[str] = (), at: datetime,
                **changes: Any) -> list[str]:
        """Correct a mistaken intervention → ``InterventionCorrected`` with every fact after the
        change (nothing when nothing changes). Allowed for an archived buyer (the past is corrected)."""
        at = instant(at)
        unknown = set(changes) - set(_INTERVENTION_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], f"{sorted(unknown)[0]} cannot be changed")
        self._ensure_logged("correct")
        merged = {name: changes[name] if name in changes else getattr(self, name) for name in _INTERVENTION_FIELDS}
        facts = self._facts(merged, engagement_ids=(*engagement_ids, *([self.engagement_id] if self.engagement_id
                                                                        else [])), at=at)
        changed = [name for name in _INTERVENTION_FIELDS if facts[name] != getattr(self, name)]
        if not changed:
            return []
        for name in changed:
            setattr(self, name, facts[name])
        self.corrected_at = at
        self.record(InterventionCorrected(buyer_id=self.buyer_id, intervention_id=self.id, buyer_kind=buyer.kind,
                                          changed=changed, corrected_at=at, **{f: facts[f] for f in _FACTS}))
        return changed

    def withdraw(self, *, at: datetime) -> None:
        """Withdraw an intervention logged by mistake → ``InterventionWithdrawn`` (it no longer counts)."""
        at = instant(at)
        self._ensure_logged("withdraw")
        self.withdrawn, self.withdrawn_at = True, at
        self.record(InterventionWithdrawn(buyer_id=self.buyer_id, intervention_id=self.id, withdrawn_at=at))


# -- the activity report's figures ---------------------------------------------------------------------------------
class ProgrammeFigures(BaseModel):
    opened: int = Field(description="Engagements opened in the year.")
    completed: int = Field(description="Engagements completed in the year.")
    abandoned: int = Field(description="Engagements abandoned in the year.")
    open_at_year_end: int = Field(description="Engagements open on 31 December.")
    phase_at_year_end: dict[str, int] = Field(description="Engagements open on 31 December, by the phase they were "
                                                          "in (every phase of the programme listed).")
    phases_entered: dict[str, int] = Field(description="Phases entered during the year (an engagement opening "
                                                       "enters the first), by phase.")


class YearFigures(BaseModel):
    """The activity report's figures of the buyers area for one year (Europe/Paris days)."""

    year: int
    local_authorities_met: int = Field(description="Distinct local-authority buyers with at least one intervention "
                                                   "dated in the year.")
    local_authorities_met_by_kind: dict[str, int] = Field(description="The same, by kind of local authority.")
    buyers_met: int = Field(description="Distinct buyers of any kind with at least one intervention in the year.")
    interventions: int = Field(description="Interventions dated in the year (withdrawn ones excluded).")
    interventions_by_kind: dict[str, int]
    interventions_by_team: dict[str, int] = Field(description="Teams with at least one intervention.")
    interventions_by_buyer_kind: dict[str, int]
    participants: int = Field(description="People counted in the year's interventions (where counted).")
    conventions_signed: int = Field(description="Conventions signed in the year.")
    conventions_active_at_year_end: int = Field(description="Conventions in force on 31 December.")
    conventions_active_during_year: int = Field(description="Conventions in force on at least one day of the year.")
    engagements: dict[str, ProgrammeFigures] = Field(description="Per programme (pams, oser).")


def year_figures(year: int, *, interventions: Iterable[Intervention], buyer_kinds: Mapping[str, BuyerKind],
                 conventions: Iterable[BuyerConvention], engagements: Iterable[Engagement]) -> YearFigures:
    """The figures of ``year`` from the aggregates (each may include others: they are filtered
    here). ``buyer_kinds``: every buyer's current kind, by id."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    counted = [i for i in interventions if not i.withdrawn and first <= i.on <= last]
    met = {i.buyer_id for i in counted}
    local = {b for b in met if buyer_kinds.get(b) in LOCAL_AUTHORITY_KINDS}
    by_kind = Counter(i.kind.value for i in counted)
    by_buyer_kind = Counter(buyer_kinds[i.buyer_id].value for i in counted if i.buyer_id in buyer_kinds)
    conventions = list(conventions)
    programmes: dict[str, ProgrammeFigures] = {}
    engagements = list(engagements)
    for programme in ENGAGEMENT_PROGRAMMES:
        mine = [e for e in engagements if e.programme is programme]
        phases = PROGRAMME_PHASES[programme]
        at_end = Counter(e.phase_on(last) for e in mine)
        entered = Counter(entry.phase for e in mine for entry in e.history if first <= entry.on <= last)
        closed_in_year = [e for e in mine if e.closed_on is not None and first <= e.closed_on <= last]
        programmes[programme.value] = ProgrammeFigures(
            opened=sum(first <= e.opened_on <= last for e in mine),
            completed=sum(e.status is EngagementStatus.COMPLETED for e in closed_in_year),
            abandoned=sum(e.status is EngagementStatus.ABANDONED for e in closed_in_year),
            open_at_year_end=sum(at_end[p] for p in phases),
            phase_at_year_end={p.value: at_end[p] for p in phases},
            phases_entered={p.value: entered[p] for p in phases})
    return YearFigures(
        year=year, local_authorities_met=len(local),
        local_authorities_met_by_kind={k.value: sum(buyer_kinds[b] is k for b in local)
                                       for k in sorted(LOCAL_AUTHORITY_KINDS, key=list(BuyerKind).index)},
        buyers_met=len(met), interventions=len(counted),
        interventions_by_kind={k.value: by_kind[k.value] for k in InterventionKind},
        interventions_by_team=dict(sorted(Counter(i.team.value for i in counted).items())),
        interventions_by_buyer_kind={k.value: by_buyer_kind[k.value] for k in BuyerKind},
        participants=sum(i.participants or 0 for i in counted),
        conventions_signed=sum(first <= c.signed_on <= last for c in conventions),
        conventions_active_at_year_end=sum(c.in_force_on(last) for c in conventions),
        conventions_active_during_year=sum(c.in_force_during(first, last) for c in conventions),
        engagements=programmes)
