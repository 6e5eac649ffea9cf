"""A convention's participant: its own aggregate (one document per participant).

Why not inside the :class:`~.convention.Convention` aggregate: a convention has up to ~1,000
participants who join, edit their profile and availability, and arrive at the door at the same
moments; inside one aggregate every one of those writes would rewrite (and conflict on) the
convention's document. Alone, each participant's writes touch only its own document; the
convention reads the participants when it schedules (:func:`~.planning.to_problem`).

The participant id is the registration id in the events service; the role and the profile are
business information (sectors, offers, needs as codes or short tags), never personal data.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.conventions import (ConventionParticipantJoined, ConventionParticipantLeft,
                                          ConventionParticipantProfileUpdated, ParticipantArrived,
                                          ParticipantNoShowRecorded, ParticipantRole)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput

from . import _rules
from .settings import MAX_SLOTS, ConventionSettings

if TYPE_CHECKING:
    from .convention import Convention


class ParticipantStatus(StrEnum):
    ACTIVE = "active"
    LEFT = "left"


class Profile(BaseModel):
    """What a participant does and looks for: codes or short tags."""

    model_config = ConfigDict(frozen=True)

    sectors: tuple[str, ...] = ()
    offers: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()


class Availability(BaseModel):
    """When a participant can meet: some slots (``slot_ids``; None = every slot) and/or an arrival
    and a departure time (a slot counts if it lies between them)."""

    model_config = ConfigDict(frozen=True)

    slot_ids: tuple[str, ...] | None = None
    arrives_at: AwareDatetime | None = None
    leaves_at: AwareDatetime | None = None

    def admits(self, slot_id: str, start: datetime, end: datetime) -> bool:
        return ((self.slot_ids is None or slot_id in self.slot_ids)
                and (self.arrives_at is None or start >= self.arrives_at)
                and (self.leaves_at is None or end <= self.leaves_at))


_UNSET: Any = object()


class ConventionParticipant(Aggregate):
    """A participant of a business convention. ``id`` is the participant id (= registration id)."""

    convention_id: str
    organisation_id: str | None = None
    role: ParticipantRole
    profile: Profile = Field(default_factory=Profile)
    availability: Availability = Field(default_factory=Availability)
    max_meetings: int | None = None
    status: ParticipantStatus = ParticipantStatus.ACTIVE
    joined_at: AwareDatetime
    left_at: AwareDatetime | None = None
    arrived_at: AwareDatetime | None = None
    no_show_at: AwareDatetime | None = None

    # -- factory -------------------------------------------------------------------------
    @classmethod
    def join(
        cls,
        participant_id: str,
        *,
        convention: Convention,
        role: ParticipantRole | str,
        at: datetime,
        organisation_id: str | None = None,
        sectors: Iterable[str] = (),
        offers: Iterable[str] = (),
        needs: Iterable[str] = (),
        available_slots: Iterable[str] | None = None,
        arrives_at: datetime | None = None,
        leaves_at: datetime | None = None,
        max_meetings: int | None = None,
    ) -> ConventionParticipant:
        """A registered person joins the convention's meetings → ``ConventionParticipantJoined``.

        (One participant per registration, and the registration belonging to the convention's
        event, are the service layer's checks.)

        :raises InvalidInput: bad role, tags (``sectors.2``…), unknown slot (``available_slots.0``),
            departure not after arrival, naive or far-off instants, ``max_meetings`` out of 0…200.
        """
        participant_id = _rules.identifier(participant_id, "participant_id")
        at = _rules.instant(at, "at")
        p = cls(
            id=participant_id,
            convention_id=convention.id,
            organisation_id=_rules.optional_identifier(organisation_id, "organisation_id"),
            role=_rules.enum_value(ParticipantRole, role, "role"),
            profile=Profile(sectors=_rules.tags(sectors, "sectors"), offers=_rules.tags(offers, "offers"),
                            needs=_rules.tags(needs, "needs")),
            availability=_availability(convention.settings, available_slots, arrives_at, leaves_at),
            max_meetings=_rules.optional_whole(max_meetings, "max_meetings", low=0, high=MAX_SLOTS),
            joined_at=at,
        )
        p.record(ConventionParticipantJoined(
            convention_id=p.convention_id, participant_id=p.id, organisation_id=p.organisation_id, role=p.role,
            joined_at=at, **p._profile_fields()))
        return p

    # -- commands ------------------------------------------------------------------------
    def update_profile(
        self,
        *,
        convention: Convention,
        at: datetime,
        sectors: Iterable[str] = _UNSET,
        offers: Iterable[str] = _UNSET,
        needs: Iterable[str] = _UNSET,
        available_slots: Iterable[str] | None = _UNSET,
        arrives_at: datetime | None = _UNSET,
        leaves_at: datetime | None = _UNSET,
        max_meetings: int | None = _UNSET,
    ) -> list[str]:
        """Change the fields given (the others stay) → ``ConventionParticipantProfileUpdated``
        with the whole profile and ``changed_fields``. Returns the changed fields; nothing
        changed → ``[]`` and no event.

        :raises Conflict: the participant left.
        :raises InvalidInput: as :meth:`join`; ``at`` before joining.
        """
        self._active("update its profile")
        at = _rules.not_before(_rules.instant(at, "at"), self.joined_at, "at", "joining")
        prof, av = self.profile, self.availability
        profile = Profile(
            sectors=prof.sectors if sectors is _UNSET else _rules.tags(sectors, "sectors"),
            offers=prof.offers if offers is _UNSET else _rules.tags(offers, "offers"),
            needs=prof.needs if needs is _UNSET else _rules.tags(needs, "needs"),
        )
        availability = _availability(
            convention.settings,
            av.slot_ids if available_slots is _UNSET else available_slots,
            av.arrives_at if arrives_at is _UNSET else arrives_at,
            av.leaves_at if leaves_at is _UNSET else leaves_at,
            check_slots=available_slots is not _UNSET,
        )
        maximum = (self.max_meetings if max_meetings is _UNSET
                   else _rules.optional_whole(max_meetings, "max_meetings", low=0, high=MAX_SLOTS))
        changed = [name for name, old, new in (
            ("sectors", prof.sectors, profile.sectors), ("offers", prof.offers, profile.offers),
            ("needs", prof.needs, profile.needs), ("available_slot_ids", av.slot_ids, availability.slot_ids),
            ("arrives_at", av.arrives_at, availability.arrives_at), ("leaves_at", av.leaves_at, availability.leaves_at),
            ("max_meetings", self.max_meetings, maximum),
        ) if old != new]
        if not changed:
            return []
        self.profile, self.availability, self.max_meetings = profile, availability, maximum
        self.record(ConventionParticipantProfileUpdated(
            convention_id=self.convention_id, participant_id=self.id, changed_fields=changed, updated_at=at,
            **self._profile_fields()))
        return changed

    def leave(self, *, at: datetime) -> None:
        """The participant leaves the meetings → ``ConventionParticipantLeft``. Final. Its requests
        stay as they are but are no longer scheduled; its meetings are released at the next run.

        :raises Conflict: already left.
        :raises InvalidInput: ``at`` before joining.
        """
        self._active("leave")
        at = _rules.not_before(_rules.instant(at, "at"), self.joined_at, "at", "joining")
        self.status = ParticipantStatus.LEFT
        self.left_at = at
        self.record(ConventionParticipantLeft(convention_id=self.convention_id, participant_id=self.id, left_at=at))

    def record_arrival(self, *, at: datetime) -> bool:
        """The participant arrived (checked in for the meetings) → ``ParticipantArrived``; a
        no-show recorded before is cleared (a late arrival). Returns False, recording nothing,
        when the arrival is already recorded (a badge scanned twice at the door).

        :raises Conflict: the participant left.
        """
        self._active("arrive")
        at = _rules.instant(at, "at")
        if self.arrived_at is not None:
            return False
        after_no_show = self.no_show_at is not None
        self.arrived_at, self.no_show_at = at, None
        self.record(ParticipantArrived(convention_id=self.convention_id, participant_id=self.id,
                                       after_no_show=after_no_show, arrived_at=at))
        return True

    def record_no_show(self, *, at: datetime) -> bool:
        """The participant is not coming → ``ParticipantNoShowRecorded``: its meetings are released
        at the next re-plan. Returns False, recording nothing, when already recorded.

        :raises Conflict: the participant arrived (or left).
        """
        self._active("be recorded as a no-show")
        at = _rules.instant(at, "at")
        if self.arrived_at is not None:
            raise Conflict(f"participant {self.id} arrived at {self.arrived_at.isoformat()}: not a no-show",
                           current_state="arrived", expected_step="none: the participant is here")
        if self.no_show_at is not None:
            return False
        self.no_show_at = at
        self.record(ParticipantNoShowRecorded(convention_id=self.convention_id, participant_id=self.id,
                                              recorded_at=at))
        return True

    # -- queries -------------------------------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.status is ParticipantStatus.ACTIVE

    @property
    def is_no_show(self) -> bool:
        return self.no_show_at is not None

    # -- helpers -------------------------------------------------------------------------
    def _profile_fields(self) -> dict[str, Any]:
        av = self.availability
        return dict(sectors=list(self.profile.sectors), offers=list(self.profile.offers),
                    needs=list(self.profile.needs),
                    available_slot_ids=None if av.slot_ids is None else list(av.slot_ids),
                    arrives_at=av.arrives_at, leaves_at=av.leaves_at, max_meetings=self.max_meetings)

    def _active(self, step: str) -> None:
        if self.status is not ParticipantStatus.ACTIVE:
            raise Conflict(f"participant {self.id} left the convention at {self.left_at}: cannot {step}",
                           current_state=self.status.value, expected_step="none: the participant left")


def check_pair(convention_id: str, a: ConventionParticipant, b: ConventionParticipant, *,
               fields: tuple[str, str]) -> None:
    """Two different participants of the convention, both still in it (a meeting request, a
    locked meeting). ``fields`` name them in errors.

    :raises InvalidInput: a participant of another convention; the same participant twice.
    :raises Conflict: a participant left.
    """
    for field, p in zip(fields, (a, b)):
        if p.convention_id != convention_id:
            raise InvalidInput(field, f"participant {p.id!r} is not a participant of convention {convention_id}")
    if a.id == b.id:
        raise InvalidInput(fields[1], f"a meeting of participant {a.id!r} with itself")
    for p in (a, b):
        if not p.is_active:
            raise Conflict(f"participant {p.id} left the convention: no meeting with it", current_state="left",
                           participant_id=p.id)


def _availability(settings: ConventionSettings, slot_ids: Iterable[str] | None, arrives_at: datetime | None,
                  leaves_at: datetime | None, *, check_slots: bool = True) -> Availability:
    """Slot ids are checked against the current slots when given (kept ones that a later
    re-configuration removed are ignored when scheduling)."""
    arrives_at = _rules.optional_instant(arrives_at, "arrives_at")
    leaves_at = _rules.optional_instant(leaves_at, "leaves_at")
    if arrives_at is not None and leaves_at is not None and leaves_at <= arrives_at:
        raise InvalidInput("leaves_at", "leaves_at must be after arrives_at")
    ids: tuple[str, ...] | None = None
    if slot_ids is not None:
        if isinstance(slot_ids, str):
            raise InvalidInput("available_slots", "available_slots must be a list of slot ids")
        known = {s.id: k for k, s in enumerate(settings.slots)}
        seen: list[str] = []
        for i, sid in enumerate(slot_ids):
            if check_slots and sid not in known:
                raise InvalidInput(f"available_slots.{i}", f"unknown slot {sid!r}")
            if sid not in seen:
                seen.append(sid)
        ids = tuple(sorted(seen, key=lambda sid: (known.get(sid, len(known)), sid)))  # time order
    return Availability(slot_ids=ids, arrives_at=arrives_at, leaves_at=leaves_at)
