"""The territorial diagnostic of a commune, an EPCI, an EPT or a département, for a year, as of a
date — pure: profiles and ledger rows in, figures out.

A territory is a set of communes (:mod:`reference.geo`): a commune (with its arrondissements for
Paris, Lyon and Marseille), the communes of an EPCI (an arrondissement belongs to its city's
EPCI), of an EPT (Grand Paris), of a département. For the year ``Y`` as of ``A``, with
``cut = min(31/12/Y, A)``, only rows dated (business date) on or before ``A`` count:

- ``structures`` (:func:`structures_figures`, the one part the directory will replace): ESS
  organisations known to membership located in the territory (their commune, a name, resolved in
  their département), registered on or before ``cut``; ``members_at_year_end``: those whose member
  standing history says "in good standing" at ``cut``; ``new_members``: memberships started in
  ``Y`` (:class:`MemberActivated`) of those organisations;
- ``events_held``: events of the catalogue whose venue commune is in the territory, held (started)
  in ``Y``, cancelled ones left out; ``participants_from_territory`` / ``check_ins_from_territory``:
  confirmed registrations / distinct registrations checked in, at any event held in ``Y``, of people
  whose organisation is located in the territory;
- ``suppliers_based``: supplier profiles (their latest version as of ``A``, not archived at ``cut``)
  whose base commune is in the territory; ``suppliers_serving``: those serving it (a commune of it,
  or a département it lies in; the radius around the base is not counted);
- ``needs``: buyers' needs (their latest terms) drafted in ``Y`` whose commune is in the territory
  (a need without a commune counts for its département only); ``needs_awarded`` and
  ``needs_awarded_cents``: the awards dated in ``Y`` of needs of the territory, and their amounts;
- ``buyers``: buyers (their latest commune, else département) there, registered by ``cut``;
  ``local_authorities_met``: those of a local-authority kind with an intervention dated in ``Y``;
  ``interventions``: the interventions dated in ``Y`` with the territory's buyers (their latest
  facts; withdrawn ones left out).

Each figure says where it comes from (:class:`~services.observatory.domain.report.Source`).

The organisations' profiles are membership's latest (a profile's history is not kept): an
organisation that moved counts where it is now.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any

from contracts.events import (EventCancelled, EventHeld, ParticipantCheckedIn, PlaceOfferAccepted,
                              RegistrationApproved, RegistrationCancelled, RegistrationConfirmed, RegistrationStatus)
from contracts.membership import MemberActivated, OrganisationRegistered, OrganisationUpdated
from contracts.observatory.directory import DirectoryChangeAccepted, StructureImported, StructureImportUpdated
from contracts.procurement import (LOCAL_AUTHORITY_KINDS, BuyerRegistered, BuyerUpdated, InterventionCorrected,
                                   InterventionLogged, InterventionWithdrawn, NeedAwarded, NeedDrafted, NeedUpdated,
                                   SupplierArchived, SupplierProfiled, SupplierProfileUpdated)
from reference import geo
from runtime.errors import NotFound
from runtime.standing import in_good_standing_on
from services.observatory.domain.ledger import LedgerRow
from services.observatory.domain.report import STATUS_EVENTS, Figure, Source, year_end

_LOCAL = {kind.value for kind in LOCAL_AUTHORITY_KINDS}
#: arrondissements → their city (Paris, Lyon, Marseille): they have no EPCI of their own in the reference data
_CITIES = (("751", "75056"), ("6938", "69123"), ("132", "13055"))


class Level(StrEnum):
    COMMUNE = "commune"
    EPCI = "epci"
    EPT = "ept"
    DEPARTEMENT = "departement"

    @property
    def label(self) -> str:
        return {"commune": "Commune", "epci": "EPCI", "ept": "Établissement public territorial",
                "departement": "Département"}[self.value]


@dataclass(frozen=True, slots=True)
class Territory:
    level: Level
    code: str
    name: str
    departements: frozenset[str]  # the départements it lies in

    def contains(self, commune: str | None) -> bool:
        """Whether the commune (INSEE code) lies in the territory."""
        return commune is not None and _contains(self.level, self.code, commune)

    def holds(self, commune: str | None, departement: str | None) -> bool:
        """A place given as a commune (when known) and its département: in the territory? Without a
        commune, only a département-level territory can hold it."""
        if commune:
            return self.contains(commune)
        return self.level is Level.DEPARTEMENT and departement == self.code


def city_of(code: str) -> str | None:
    """The city (Paris, Lyon, Marseille) of an arrondissement's INSEE code, else None."""
    for prefix, city in _CITIES:
        if code.startswith(prefix) and code != city and len(code) == 5:
            return city
    return None


@lru_cache(maxsize=65_536)
def _contains(level: Level, code: str, commune_code: str) -> bool:
    commune = geo.commune(commune_code)
    if commune is None:
        return False
    city = geo.commune(city_of(commune_code) or "") if city_of(commune_code) else None
    if level is Level.COMMUNE:
        return commune.code == code or (city is not None and city.code == code)
    if level is Level.DEPARTEMENT:
        return commune.departement == code
    if level is Level.EPT:
        return (commune.ept or (city.ept if city else None)) == code
    return (commune.epci or (city.epci if city else None)) == code


def territory(level: Level | str, code: str) -> Territory:
    """The territory of this level and code.

    :raises NotFound: no such commune, EPCI, EPT or département (naming the code).
    """
    level = Level(level)
    code = code.strip().upper()
    if level is Level.COMMUNE:
        commune = geo.commune(code)
        if commune is None:
            raise NotFound(f"no commune has the INSEE code {code!r}")
        return Territory(level, commune.code, commune.name, frozenset({commune.departement}))
    if level is Level.DEPARTEMENT:
        dep = geo.departement(code)
        if dep is None:
            raise NotFound(f"no département has the code {code!r}")
        return Territory(level, dep.code, dep.name, frozenset({dep.code}))
    group = geo.epci(code)
    if group is None or (group.kind == "EPT") != (level is Level.EPT):
        what = "EPT (établissement public territorial)" if level is Level.EPT else "EPCI"
        raise NotFound(f"no {what} has the code {code!r}")
    departements = frozenset(c.departement for c in geo.communes()
                             if (c.ept if level is Level.EPT else c.epci) == group.code)
    return Territory(level, group.code, group.name, departements)


def organisation_commune(profile: Mapping[str, Any]) -> str | None:
    """The INSEE code of an organisation's commune (membership gives its name and département)."""
    name, departement = profile.get("commune"), profile.get("departement")
    if not name or not isinstance(name, str):
        return None
    found = geo.find(name, departement) if departement else geo.find(name)
    return found.code if found else None


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation as the diagnostic reads it: where it is, since when it is known, and its
    member standing history (entries ``{"on": ISO date, "in_good_standing": bool, ...}``, in order)."""

    organisation_id: str
    commune: str | None
    departement: str | None
    registered_on: date | None
    history: tuple[Mapping[str, Any], ...] = ()

    def in_good_standing(self, day: date) -> bool:
        return in_good_standing_on(self.history, day)


def organisation_of(profile: Mapping[str, Any], standing: Mapping[str, Any] | None) -> Organisation:
    """An :class:`Organisation` from membership's projections (a profile, a member standing doc)."""
    registered = profile.get("registered_on")
    return Organisation(profile["_id"], organisation_commune(profile), profile.get("departement"),
                        date.fromisoformat(registered) if registered else None,
                        tuple((standing or {}).get("history") or ()))


def _types(*events: type) -> tuple[str, ...]:
    return tuple(e.event_type for e in events)


#: The events the directory's structures come from, besides membership's organisations.
DIRECTORY_TYPES = _types(SupplierProfiled, SupplierProfileUpdated, StructureImported, StructureImportUpdated,
                         DirectoryChangeAccepted)


def _sorted(rows: Iterable[LedgerRow], *events: type) -> list[LedgerRow]:
    types = set(_types(*events))
    return sorted((r for r in rows if r.type in types), key=lambda r: (r.on, r.at, r.id))


def structures_figures(place: Territory, organisations: Iterable[Organisation], rows: Iterable[LedgerRow],
                       year: int, as_of: date, directory: Iterable[tuple[str | None, str | None]] | None = None,
                       ) -> tuple[list[Figure], set[str]]:
    """The ESS structures and members of the territory, and the ids of the organisations located
    there (whose participants count as "from the territory").

    ``directory``: the places (commune, département) of the directory's structures at year end
    (membership's organisations, procurement's suppliers, imported structures); without it, the
    structures counted are the organisations known to membership."""
    end = year_end(year, as_of)
    here = [o for o in organisations if place.holds(o.commune, None)]
    known = [o for o in here if o.registered_on is None or o.registered_on <= end]
    if directory is not None:
        count = sum(1 for commune, departement in directory if place.holds(commune, departement))
        structures = Figure("structures", "Structures de l'ESS", count, "structures",
                            Source("events", (*_types(OrganisationRegistered, OrganisationUpdated),
                                              *DIRECTORY_TYPES), count,
                                   detail=f"structures de l'annuaire (adhésions, fournisseurs référencés pour les "
                                          f"achats, imports) situées sur le territoire « {place.name} » au "
                                          f"{end.isoformat()}"))
    else:
        structures = Figure("structures", "Structures de l'ESS", len(known), "structures",
                            Source("events", _types(OrganisationRegistered, OrganisationUpdated), len(known),
                                   detail=f"organisations du fichier des adhésions situées sur le territoire "
                                          f"« {place.name} », enregistrées au plus tard le {end.isoformat()}"))
    members = [o for o in here if o.in_good_standing(end)]
    ids = {o.organisation_id for o in here}
    activated = [r for r in _sorted(rows, MemberActivated)
                 if r.subject in ids and r.on.year == year and r.on <= end]
    profile_src = _types(OrganisationRegistered, OrganisationUpdated)
    return [
        structures,
        Figure("members_at_year_end", "Adhérent·e·s en fin d'année", len(members), "adhérents",
               Source("events", (*profile_src, *_types(*STATUS_EVENTS)), len(members),
                      detail=f"organisations du territoire « {place.name} » à jour de leur adhésion à la fin de la "
                             f"journée du {end.isoformat()}")),
        Figure("new_members", "Nouvelles adhésions", len(activated), "adhérents",
               Source("events", _types(MemberActivated), len(activated),
                      detail=f"adhésions d'organisations du territoire « {place.name} » ayant débuté en {year}")),
    ], ids


def _latest(rows: list[LedgerRow], cut: date) -> dict[str, LedgerRow]:
    """Per subject, its latest row dated on or before ``cut`` (rows in business order)."""
    latest: dict[str, LedgerRow] = {}
    for r in rows:
        if r.on <= cut:
            latest[r.subject] = r
    return latest


@dataclass(frozen=True, slots=True)
class HeldEvent:
    event_id: str
    title: str | None
    kind: str
    team: str
    on: date
    venue_commune: str | None


def diagnostic(place: Territory, organisations: Iterable[Organisation], rows: Iterable[LedgerRow], year: int,
               as_of: date, directory: Iterable[tuple[str | None, str | None]] | None = None,
               ) -> tuple[list[Figure], list[HeldEvent]]:
    """The territory's figures for ``year`` as of ``as_of``, and the events held there (``directory``:
    see :func:`structures_figures`)."""
    rows = [r for r in rows if r.on <= as_of]
    end = year_end(year, as_of)
    figures, here = structures_figures(place, organisations, rows, year, as_of, directory)

    # -- events held there, participants from there
    cancelled = {r.subject for r in _sorted(rows, EventCancelled) if r.on <= end}
    held = {r.subject: r for r in _sorted(rows, EventHeld)
            if r.on.year == year and r.on <= end and r.subject not in cancelled}
    held_here = [r for r in held.values() if place.contains(r.data.get("venue_commune"))]
    status: dict[str, tuple[str | None, str | None, str]] = {}
    for r in sorted((r for r in rows if r.type in _REGISTRATION_TYPES), key=lambda r: (r.at, r.on, r.id)):
        if r.type == RegistrationCancelled.event_type:
            state = RegistrationStatus.CANCELLED.value
        else:
            state = r.data.get("status") or RegistrationStatus.CONFIRMED.value
        status[r.subject] = (r.data.get("event_id"), r.data.get("organisation_id"), state)
    participants = {reg for reg, (event_id, org, state) in status.items()
                    if event_id in held and org in here and state == RegistrationStatus.CONFIRMED.value}
    checked = {r.subject for r in _sorted(rows, ParticipantCheckedIn)
               if r.data.get("event_id") in held and r.data.get("organisation_id") in here}
    figures += [
        Figure("events_held", "Événements organisés sur le territoire", len(held_here), "événements",
               Source("events", _types(EventHeld, EventCancelled), len(held_here),
                      detail=f"événements ayant eu lieu en {year} dont le lieu est sur le territoire « {place.name} », "
                             f"hors événements annulés")),
        Figure("participants_from_territory", "Participant·e·s venant du territoire", len(participants),
               "participants",
               Source("events", (*_types(EventHeld), *_REGISTRATION_TYPES), len(participants),
                      detail=f"inscriptions confirmées de personnes d'organisations du territoire « {place.name} » "
                             f"aux événements ayant eu lieu en {year}")),
        Figure("check_ins_from_territory", "Présent·e·s venant du territoire", len(checked), "participants",
               Source("events", _types(EventHeld, ParticipantCheckedIn), len(checked),
                      detail=f"inscriptions émargées de personnes d'organisations du territoire « {place.name} » "
                             f"aux événements ayant eu lieu en {year}")),
    ]

    # -- suppliers based there, serving there
    profiles = _latest(_sorted(rows, SupplierProfiled, SupplierProfileUpdated), end)
    archived = {r.subject for r in _sorted(rows, SupplierArchived) if r.on <= end}
    active = [r for s, r in profiles.items() if s not in archived]
    based = [r for r in active if place.contains(r.data.get("base_commune"))]
    serving = [r for r in active if place.contains(r.data.get("base_commune"))
               or any(place.contains(c) for c in r.data.get("communes") or ())
               or place.departements & set(r.data.get("departements") or ())]
    supplier_src = _types(SupplierProfiled, SupplierProfileUpdated, SupplierArchived)
    figures += [
        Figure("suppliers_based", "Fournisseurs de l'ESS implantés sur le territoire", len(based), "fournisseurs",
               Source("events", supplier_src, len(based),
                      detail=f"fiches fournisseurs (non archivées) dont la commune d'implantation est sur le "
                             f"territoire « {place.name} » au {end.isoformat()}")),
        Figure("suppliers_serving", "Fournisseurs de l'ESS intervenant sur le territoire", len(serving),
               "fournisseurs",
               Source("events", supplier_src, len(serving),
                      detail=f"fiches fournisseurs implantées sur le territoire « {place.name} », ou intervenant "
                             f"dans l'une de ses communes ou l'un de ses départements (rayon d'intervention non "
                             f"pris en compte)")),
    ]

    # -- needs there, awarded amounts
    drafted = {r.subject: r.on for r in _sorted(rows, NeedDrafted)}
    terms = _latest(_sorted(rows, NeedDrafted, NeedUpdated), as_of)
    needs_here = {n for n, r in terms.items() if place.holds(r.data.get("commune"), r.data.get("departement"))}
    needs = [n for n in needs_here if n in drafted and drafted[n].year == year and drafted[n] <= end]
    awards = list({r.subject: r for r in _sorted(rows, NeedAwarded)
                   if r.subject in needs_here and r.on.year == year and r.on <= end}.values())
    need_src = _types(NeedDrafted, NeedUpdated)
    figures += [
        Figure("needs", "Besoins d'achat publiés sur le territoire", len(needs), "besoins",
               Source("events", need_src, len(needs),
                      detail=f"besoins rédigés en {year} situés sur le territoire « {place.name} »")),
        Figure("needs_awarded", "Marchés attribués sur le territoire", len(awards), "marchés",
               Source("events", (*need_src, *_types(NeedAwarded)), len(awards),
                      detail=f"besoins du territoire « {place.name} » attribués en {year}")),
        Figure("needs_awarded_cents", "Montant des marchés attribués sur le territoire",
               sum(r.data.get("amount_cents") or 0 for r in awards), "centimes",
               Source("events", (*need_src, *_types(NeedAwarded)), len(awards),
                      detail=f"montants (hors TVA) des besoins du territoire « {place.name} » attribués en {year}")),
    ]

    # -- buyers (local authorities) there, interventions
    registered = {r.subject: r.on for r in _sorted(rows, BuyerRegistered)}
    buyers = _latest(_sorted(rows, BuyerRegistered, BuyerUpdated), end)
    buyers_here = {b: r for b, r in buyers.items()
                   if b in registered and registered[b] <= end
                   and place.holds(r.data.get("commune"), r.data.get("departement"))}
    interventions: dict[str, LedgerRow | None] = {}
    for r in sorted((r for r in rows if r.type in _INTERVENTION_TYPES), key=lambda r: (r.at, r.on, r.id)):
        interventions[r.data["intervention_id"]] = None if r.type == InterventionWithdrawn.event_type else r
    counted = [r for r in interventions.values()
               if r is not None and r.subject in buyers_here and r.on.year == year and r.on <= end]
    met = {r.subject for r in counted if buyers_here[r.subject].data.get("kind") in _LOCAL}
    buyer_src = _types(BuyerRegistered, BuyerUpdated)
    figures += [
        Figure("buyers", "Acheteurs du territoire (collectivités, entreprises)", len(buyers_here), "acheteurs",
               Source("events", buyer_src, len(buyers_here),
                      detail=f"acheteurs dont la commune (à défaut, le département) est sur le territoire "
                             f"« {place.name} »")),
        Figure("local_authorities_met", "Collectivités du territoire rencontrées", len(met), "collectivités",
               Source("events", (*_INTERVENTION_TYPES, *buyer_src), len(counted),
                      detail=f"collectivités du territoire « {place.name} » ayant bénéficié d'une intervention "
                             f"datée de {year}")),
        Figure("interventions", "Interventions auprès des acheteurs du territoire", len(counted), "interventions",
               Source("events", _INTERVENTION_TYPES, len(counted),
                      detail=f"interventions datées de {year} auprès d'acheteurs du territoire « {place.name} » "
                             f"(hors interventions retirées)")),
    ]
    events = sorted((HeldEvent(r.subject, r.data.get("title"), r.data.get("kind"), r.data.get("team"), r.on,
                               r.data.get("venue_commune")) for r in held_here),
                    key=lambda e: (e.on, e.event_id))
    return figures, events


_REGISTRATION_TYPES = _types(RegistrationConfirmed, RegistrationApproved, PlaceOfferAccepted, RegistrationCancelled)
_INTERVENTION_TYPES = _types(InterventionLogged, InterventionCorrected, InterventionWithdrawn)

#: the event types the diagnostic reads from the ledger for the whole platform (its other rows are
#: read for the territory's organisations only: :data:`ORGANISATION_TYPES`)
PLATFORM_TYPES = (*_types(EventHeld, EventCancelled, SupplierProfiled, SupplierProfileUpdated, SupplierArchived,
                          NeedDrafted, NeedUpdated, NeedAwarded, BuyerRegistered, BuyerUpdated),
                  *_INTERVENTION_TYPES)
ORGANISATION_TYPES = (*_REGISTRATION_TYPES, *_types(ParticipantCheckedIn, MemberActivated))

