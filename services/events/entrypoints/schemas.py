"""Request and response bodies of the events API (catalogue, registrations, check-in), with examples.

Responses of single resources are the domain's own models (``Event``, ``Registration``,
``CheckinList``, ``ScanResult``) or the views here. Business rules (quotas, windows, workflow
order) are checked by the domain and come back as 422/409 problem details.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events.registrations import AccessPolicy, CancellationReason, EventKind, RegistrationStatus, Team
from runtime.api import Body, partial
from services.events.domain.checkin import ScanResult, ScanType
from services.events.domain.registrations import Registration

_EVENT_EXAMPLE = {
    "kind": "club_des_collectivites", "team": "territories", "title": "Club des collectivités — achats responsables",
    "starts_at": "2027-03-16T09:30:00+01:00", "ends_at": "2027-03-16T12:30:00+01:00",
    "place": "CRESS Île-de-France, 7-9 rue Darboy, 75011 Paris", "venue_commune": "75111",
    "audience": "Élu·es et agent·es des collectivités",
    "categories": [{"code": "local_authorities", "label": "Collectivités", "quota": 60},
                   {"code": "partners", "label": "Partenaires", "quota": 15}],
    "access": "open", "offer_validity_hours": 48}


class CategoryIn(Body):
    code: str = Field(min_length=1, max_length=40, description="Lower-case code, e.g. buyers.", examples=["buyers"])
    label: str | None = Field(None, max_length=200, examples=["Acheteurs publics"])
    quota: int = Field(ge=1, description="Places of this category.", examples=[40])


class EventIn(Body):
    """A new event (a draft until published). Give ``capacity`` alone (one category of that many
    places) or ``categories`` with their quotas (and optionally a shared total ``capacity``)."""

    kind: EventKind
    team: Team = Field(description="The owning team (pôle).")
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    starts_at: AwareDatetime = Field(description="With its UTC offset, e.g. 2027-03-16T09:30:00+01:00.")
    ends_at: AwareDatetime
    time_zone: str = Field("Europe/Paris", description="IANA time zone the event is shown in.")
    place: str | None = Field(None, max_length=500, description="Venue address.")
    venue_commune: str | None = Field(None, max_length=10, description="INSEE code of the venue's commune (only with "
                                                                      "a place; for the observatory's territorial "
                                                                      "figures).", examples=["75111"])
    online_url: str | None = Field(None, max_length=2000, description="Link of an online or hybrid event.")
    audience: str | None = Field(None, max_length=500)
    categories: list[CategoryIn] | None = Field(
        None, max_length=20, description="Categories of participants, each with its own quota.")
    capacity: int | None = Field(None, ge=1, description="Total places (shared by the categories, if any).")
    registration_opens_at: AwareDatetime | None = Field(None, description="Default: publication.")
    registration_closes_at: AwareDatetime | None = Field(None, description="Default: the start of the event.")
    requires_approval: bool = Field(False, description="An organiser approves each registration.")
    access: AccessPolicy = Field(AccessPolicy.OPEN, description="open, members_only, or members_priority "
                                                                 "(members only until members_priority_until).")
    members_priority_until: AwareDatetime | None = None
    offer_validity_hours: int = Field(48, ge=1, le=720, description="How long a place offered from the waiting "
                                                                     "list stays reserved.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EVENT_EXAMPLE]})


EventPatch = partial(EventIn, name="EventPatch", examples=[{"title": "Club des collectivités (session 2)",
                                                            "offer_validity_hours": 24}])


class ReasonIn(Body):
    reason: str = Field(min_length=1, max_length=2000, examples=["Intervenant·e indisponible, session reportée."])


class RegistrationIn(Body):
    name: str = Field(min_length=1, max_length=200, examples=["Camille Martin"])
    email: str = Field(min_length=3, max_length=254, examples=["camille.martin@example.org"])
    phone: str | None = Field(None, max_length=40, examples=["+33 6 12 34 56 78"])
    organisation_id: str | None = Field(None, max_length=100, description="The person's organisation, as membership "
                                                                          "knows it (decides member-only access).",
                                        examples=["org-5f1c2a9b3d7e"])
    category: str = Field("general", max_length=50, examples=["local_authorities"])


class CancellationIn(Body):
    reason: CancellationReason = Field(CancellationReason.PARTICIPANT_REQUEST, examples=["participant_request"])
    detail: str | None = Field(None, max_length=2000, description="No personal data.",
                               examples=["Empêchement de dernière minute."])


class RegistrationView(BaseModel):
    """A registration, with its place on the waiting list when it waits."""

    registration: Registration
    waitlist_position: int | None = Field(description="1 = next to be offered a place (null unless waitlisted).")


class OccupancyCategory(BaseModel):
    code: str
    label: str
    quota: int
    held: int = Field(description="Confirmed + awaiting approval + offered.")
    waiting: int
    free: int


class OccupancyView(BaseModel):
    event_id: str
    capacity: int
    held: int
    waiting: int
    categories: list[OccupancyCategory]


class WaitingEntry(BaseModel):
    registration_id: str
    category: str
    status: RegistrationStatus
    waitlist_seq: int | None
    position: int | None
    registered_at: datetime
    offered_at: datetime | None = None
    offer_expires_at: datetime | None = None
    offers: int = Field(description="Offers made to this registration so far.")


class CheckinListIn(Body):
    name: str = Field(min_length=1, max_length=200, examples=["Entrée principale"])
    categories: list[str] = Field(default_factory=list, max_length=20,
                                  description="Categories admitted (empty: all).", examples=[["local_authorities"]])
    room: bool = Field(False, description="A room: entering it checks the person out of the other rooms.")


class ScanIn(Body):
    list_id: str = Field(max_length=100, examples=["cl-1a2b3c4d5e6f"])
    token: str = Field(max_length=300, description="What the badge's QR code carries.",
                       examples=["reg-0a1b2c3d4e5f.Vx3m1Ya2QdQ7cGfJm2bK8A"])
    gate: str = Field(min_length=1, max_length=100, examples=["Porte A"])
    nonce: str = Field(min_length=1, max_length=100, description="The device's id of this scan: sending it again "
                                                                 "changes nothing and answers the same.",
                       examples=["gate-a-000123"])
    type: ScanType = Field(ScanType.ENTRY, examples=["entry"])
    scanned_at: AwareDatetime | None = Field(None, description="When the badge was scanned (offline gates); "
                                                               "default: now. Not in the future.")
    offline: bool = Field(False, description="Scanned while the gate was offline, uploaded later.")


class ScanBatchIn(Body):
    scans: list[ScanIn] = Field(min_length=1, max_length=2000,
                                examples=[[{"list_id": "cl-1a2b3c4d5e6f", "token": "reg-0a1b2c3d4e5f.Vx3m1Ya2QdQ7cGfJm2bK8A",
                                            "gate": "Porte B", "nonce": "gate-b-000042", "offline": True,
                                            "scanned_at": "2027-03-16T09:41:00+01:00"}]])


class ScanView(BaseModel):
    result: ScanResult
    ok: bool = Field(description="Let the person through.")
    message: str = Field(examples=["already checked in at 09:41 at gate Porte B"])


class ScanProblem(BaseModel):
    index: int
    status: int
    title: str
    detail: str


class ScanBatchView(BaseModel):
    results: list[ScanView | ScanProblem]
    checked_in: int
    already: int
    invalid: int
    refused: int


class Badge(BaseModel):
    registration_id: str
    event_id: str
    token: str = Field(description="What the QR code carries (print it, or show it on a phone).")
    qr_svg_url: str


class AttendanceFiguresView(BaseModel):
    registered: int
    checked_in: int
    no_shows: int
    attendance_rate: float | None
    no_show_rate: float | None


class AttendanceView(BaseModel):
    event_id: str
    list_id: str | None
    by_category: dict[str, AttendanceFiguresView]
    total: AttendanceFiguresView


class StandingView(BaseModel):
    organisation_id: str
    known: bool = Field(description="Whether membership's events ever named this organisation as a member.")
    in_good_standing: bool
    status: str | None
    status_since: str | None
    as_of: str | None = Field(description="Time of the last membership event applied.")


class KindFigures(BaseModel):
    events: int
    participants: int = Field(description="Confirmed registrations.")
    checked_in: int


class ConventionYearFigures(BaseModel):
    convention_id: str
    title: str
    meetings_scheduled: int = Field(description="Meetings of the convention's (last) plan.")
    meetings_held: int = Field(description="Of those, held (badges at the table, or the organiser).")


class YearFigures(BaseModel):
    year: int
    events_held: int
    by_kind: dict[str, KindFigures]
    by_team: dict[str, KindFigures]
    conventions: list[ConventionYearFigures] = Field(default_factory=list,
                                                     description="Business conventions held: meetings held.")


def waiting_entry(registration: Registration, position: int | None) -> dict[str, Any]:
    offer = registration.offer
    return {"registration_id": registration.id, "category": registration.category, "status": registration.status,
            "waitlist_seq": registration.waitlist_seq, "position": position,
            "registered_at": registration.registered_at,
            "offered_at": offer.offered_at if offer else None, "offer_expires_at": offer.expires_at if offer else None,
            "offers": len(registration.offers)}
