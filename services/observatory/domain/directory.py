"""The directory of ESS structures (Carteco-like) — pure.

An **entry** is one ESS structure of the region, member or not, merged from three sources:

- membership's organisations (the observatory's ``organisations`` projection): the entry's id is
  the organisation id; its legal family derives from membership's legal form
  (:data:`FAMILY_OF_LEGAL_FORM`);
- procurement's supplier profiles: a supplier *is* an organisation known to membership, so its
  profile (sectors, kinds, labels, base commune) merges into that organisation's entry;
- structures imported from CSV files (:class:`DirectoryStructure`, id ``str-…``): one whose SIRET
  is an organisation's merges into that organisation's entry, else it is an entry of its own.

Precedence, field by field: an **accepted moderated change** (:class:`DirectoryProposal`) wins
over every source, and later source events do not erase it (the entry shows the source's value
beside it in ``moderated``, so staff see the divergence; a newer accepted proposal replaces it);
then membership's profile; then the supplier profile (base commune) ; then the imported values.
Sectors are the union of the sources' sectors (membership's, the supplier's as French labels,
the imports'), unless a moderated change sets them.

As of a date ``on``: an organisation counts from its ``registered_on``, an imported structure from
its import date (``added_on``; its values as the import in force on ``on`` gave them), a supplier
profile from its ``profiled_on`` day and until its ``archived_on``, a moderated change from its
``decided_on``. Membership's profile values are its latest (membership's events do not date each
profile field's history).
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict

from contracts.membership import LegalForm
from contracts.observatory.directory import (LEGAL_FAMILY_LABELS, DirectoryChangeAccepted, DirectoryChangeProposed,
                                             DirectoryChangeRejected, DirectoryImportCompleted, LegalFamily,
                                             ProposalStatus, StructureImported, StructureImportUpdated)
from contracts.procurement.vocabulary import Sector
from reference import geo
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput
from runtime.rules import optional_text, text
from runtime.standing import entry_on
from services.observatory.domain.territory import organisation_commune

PARIS = ZoneInfo("Europe/Paris")
CHAMBER_REGION = "11"  # Île-de-France

#: membership's legal forms → the ESS families (law of 31 July 2014, art. 1)
FAMILY_OF_LEGAL_FORM: dict[LegalForm, LegalFamily] = {
    LegalForm.ASSOCIATION: LegalFamily.ASSOCIATION,
    LegalForm.FOUNDATION: LegalFamily.FOUNDATION,
    LegalForm.MUTUAL: LegalFamily.MUTUAL,
    LegalForm.SCOP: LegalFamily.COOPERATIVE,
    LegalForm.SCIC: LegalFamily.COOPERATIVE,
    LegalForm.CAE: LegalFamily.COOPERATIVE,
    LegalForm.COOPERATIVE: LegalFamily.COOPERATIVE,
    LegalForm.SCESS: LegalFamily.ESS_COMPANY,
}

#: words a file or a person may use for a family (compared without accents nor case)
_FAMILY_WORDS: dict[str, LegalFamily] = {
    **{f.value: f for f in LegalFamily},
    **{geo.normalise(label): f for f, label in LEGAL_FAMILY_LABELS.items()},
    **{form.value: family for form, family in FAMILY_OF_LEGAL_FORM.items()},
    "association loi 1901": LegalFamily.ASSOCIATION, "asso": LegalFamily.ASSOCIATION,
    "cooperative": LegalFamily.COOPERATIVE, "societe cooperative": LegalFamily.COOPERATIVE,
    "mutuelle": LegalFamily.MUTUAL, "mutual": LegalFamily.MUTUAL,
    "fondation": LegalFamily.FOUNDATION, "foundation": LegalFamily.FOUNDATION,
    "entreprise commerciale de l ess": LegalFamily.ESS_COMPANY,
    "societe commerciale de l ess": LegalFamily.ESS_COMPANY, "ess company": LegalFamily.ESS_COMPANY,
}

#: procurement's sector codes, as the directory shows them
SECTOR_LABELS: dict[Sector, str] = {
    Sector.SUSTAINABLE_CONSTRUCTION: "Bâtiment durable", Sector.LOGISTICS: "Logistique",
    Sector.FOOD: "Alimentation", Sector.CIRCULAR_ECONOMY: "Économie circulaire", Sector.CLEANING: "Propreté",
    Sector.GREEN_SPACES: "Espaces verts", Sector.TEXTILE: "Textile", Sector.DIGITAL: "Numérique",
    Sector.PRINTING: "Impression", Sector.EVENTS: "Événementiel", Sector.MOBILITY: "Mobilité",
    Sector.OFFICE_SERVICES: "Services administratifs", Sector.TRAINING: "Formation",
    Sector.PERSONAL_SERVICES: "Services à la personne",
}

PROPOSABLE = ("name", "legal_family", "sectors", "commune", "website")
CHANNELS = ("email", "form", "phone", "meeting", "letter", "staff")
_WEBSITE = re.compile(r"https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d+)?(?:[/?#][^\s]*)?")


def local_day(at: datetime) -> date:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("at", f"at must be a timezone-aware date and time (got {at!r})")
    return at.astimezone(PARIS).date()


def family_of_legal_form(form: str | LegalForm | None) -> LegalFamily | None:
    """The ESS family of one of membership's legal form codes (None for an unknown code)."""
    try:
        return FAMILY_OF_LEGAL_FORM[LegalForm(form)]
    except ValueError:
        return None


def legal_family_of_text(value: str) -> LegalFamily | None:
    """The family a cell or a query names (a family code, its French label, a legal form code such
    as ``scop``), accents and case ignored; None when it names none."""
    return _FAMILY_WORDS.get(geo.normalise(value or ""))


def normalise_website(value: str) -> str:
    """A website as ``http(s)://host/…`` (``https://`` added when missing); :class:`InvalidInput`."""
    site = value.strip()
    if site and "://" not in site:
        site = "https://" + site
    if len(site) > 300 or not _WEBSITE.fullmatch(site):
        raise InvalidInput("website", f"not a website address: {value!r}")
    return site


def sector_key(sector: str) -> str:
    """Sectors compare without accents nor case; a procurement code compares as its label."""
    try:
        sector = SECTOR_LABELS[Sector(sector)]
    except ValueError:
        pass
    return geo.normalise(sector)


def structure_id_of(key: str) -> str:
    """An imported structure's id, derived from its import key: importing the same structure twice
    (even concurrently) finds the same aggregate."""
    return "str-" + hashlib.sha256(key.encode()).hexdigest()[:12]


# -- imported structures -----------------------------------------------------------------------
class StructureVersion(BaseModel):
    """What the imports in force from ``on`` said of a structure."""

    model_config = ConfigDict(frozen=True)

    on: date
    import_id: str
    name: str
    siret: str | None
    legal_family: LegalFamily
    sectors: list[str]
    commune: str
    departement: str
    website: str | None
    sources: list[str]


_VALUES = ("name", "siret", "legal_family", "sectors", "commune", "departement", "website")


class DirectoryStructure(Aggregate):
    """A structure imported from CSV files, with the history of what each import said."""

    key: str
    siret: str | None = None
    added_on: date
    history: list[StructureVersion]

    @property
    def current(self) -> StructureVersion:
        return self.history[-1]

    def version_on(self, on: date) -> StructureVersion | None:
        in_force = [v for v in self.history if v.on <= on]
        return in_force[-1] if in_force else None

    @classmethod
    def imported(cls, row: Any, *, import_id: str, on: date) -> DirectoryStructure:
        version = StructureVersion(on=on, import_id=import_id, name=row.name, siret=row.siret,
                                   legal_family=row.legal_family, sectors=list(row.sectors), commune=row.commune,
                                   departement=row.departement, website=row.website, sources=[row.source])
        structure = cls(id=structure_id_of(row.key), key=row.key, siret=row.siret, added_on=on, history=[version])
        structure.record(StructureImported(structure_id=structure.id, import_id=import_id, source=row.source,
                                           added_on=on, **version.model_dump(include=set(_VALUES))))
        return structure

    def reimported(self, row: Any, *, import_id: str, on: date) -> bool:
        """Apply a later import's line; False (nothing recorded) when it says nothing new."""
        last = self.current
        values = {"name": row.name, "siret": row.siret, "legal_family": row.legal_family,
                  "sectors": list(row.sectors), "commune": row.commune, "departement": row.departement,
                  "website": row.website}
        changed = [f for f in _VALUES if getattr(last, f) != values[f]]
        sources = last.sources if row.source in last.sources else [*last.sources, row.source]
        if not changed and sources == last.sources:
            return False
        if on < last.on:
            on = last.on  # an import dated before the last one: its values hold from the last one's date
        version = StructureVersion(on=on, import_id=import_id, sources=sources, **values)
        self.history = [*[v for v in self.history if v.on != on], version]
        self.record(StructureImportUpdated(structure_id=self.id, import_id=import_id, source=row.source,
                                           changed_fields=changed or ["sources"], updated_on=on, **values))
        return True


class DirectoryImport(Aggregate):
    """One import of a CSV file: its counts and its line report (the first faults)."""

    source: str
    file_name: str | None = None
    file_sha256: str
    encoding: str
    separator: str
    imported_on: date
    imported_at: AwareDatetime
    lines: int
    imported: int
    updated: int
    unchanged: int
    rejected: int
    ignored_columns: list[dict[str, str]] = []
    faults: list[dict[str, Any]] = []  # {line, field, message, value}: the first REPORTED ones
    faults_truncated: bool = False

    REPORTED: ClassVar[int] = 1_000

    @classmethod
    def completed(cls, import_id: str, *, at: datetime, on: date, **fields: Any) -> DirectoryImport:
        done = cls(id=import_id, imported_at=at, imported_on=on, **fields)
        done.record(DirectoryImportCompleted(
            import_id=import_id, source=done.source, file_sha256=done.file_sha256, encoding=done.encoding,
            lines=done.lines, imported=done.imported, updated=done.updated, unchanged=done.unchanged,
            rejected=done.rejected, ignored_columns=[c["column"] for c in done.ignored_columns], imported_on=on))
        return done


# -- moderation ----------------------------------------------------------------------------------
def check_changes(changes: object) -> dict[str, Any]:
    """The proposed values, checked (``changes.<field>`` names a bad one): name, legal_family (a
    code or label), sectors (a list), commune (INSEE code), website (null clears it)."""
    if not isinstance(changes, dict) or not changes:
        raise InvalidInput("changes", "propose at least one change: name, legal_family, sectors, commune, website")
    out: dict[str, Any] = {}
    for name, value in changes.items():
        where = f"changes.{name}"
        if name not in PROPOSABLE:
            raise InvalidInput(where, f"{name!r} cannot be changed here; one of: {', '.join(PROPOSABLE)}")
        if name == "name":
            out[name] = text(value, where, max_length=200)
        elif name == "legal_family":
            family = legal_family_of_text(value) if isinstance(value, str) else None
            if family is None:
                raise InvalidInput(where, f"unknown legal family {value!r}; expected one of: "
                                          f"{', '.join(f.value for f in LegalFamily)}")
            out[name] = family.value
        elif name == "sectors":
            if not isinstance(value, list) or not value or len(value) > 20:
                raise InvalidInput(where, "sectors is a list of 1 to 20 sectors")
            out[name] = list(dict.fromkeys(text(s, f"{where}.{i}", max_length=100) for i, s in enumerate(value)))
        elif name == "commune":
            code = value.strip().upper() if isinstance(value, str) else ""
            if geo.commune(code) is None:
                raise InvalidInput(where, f"no commune has the INSEE code {value!r}")
            out[name] = code
        elif name == "website":
            out[name] = None if value is None or value == "" else normalise_website(str(value)) \
                if isinstance(value, str) else _bad(where, value)
    return out


def _bad(where: str, value: object) -> Any:
    raise InvalidInput(where, f"not a website address: {value!r}")


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: ProposalStatus
    on: date
    at: AwareDatetime
    by: str | None = None
    text: str | None = None


class DirectoryProposal(Aggregate):
    """A change to a directory entry proposed on an organisation's behalf, moderated by staff.

    pending → accepted (its values apply to the entry from ``decided_on``) or rejected (with a
    reason); a decided proposal is final (propose again to change more)."""

    entry_id: str
    organisation_id: str | None = None
    changes: dict[str, Any]
    channel: str
    note: str | None = None
    status: ProposalStatus = ProposalStatus.PENDING
    proposed_on: date
    proposed_at: AwareDatetime
    submitted_by: str | None = None  # the staff account that entered it (kept here, never in an event)
    decided_on: date | None = None
    decided_at: AwareDatetime | None = None
    history: list[Decision] = []

    @classmethod
    def propose(cls, proposal_id: str, *, entry_id: str, changes: object, at: datetime, channel: object = "staff",
                note: object = None, organisation_id: str | None = None,
                submitted_by: str | None = None) -> DirectoryProposal:
        day = local_day(at)
        checked = check_changes(changes)
        way = text(channel, "channel", max_length=20)
        if way not in CHANNELS:
            raise InvalidInput("channel", f"unknown channel {channel!r}; expected one of: {', '.join(CHANNELS)}")
        proposal = cls(id=proposal_id, entry_id=entry_id, organisation_id=organisation_id, changes=checked,
                       channel=way, note=optional_text(note, "note", max_length=4000), proposed_on=day,
                       proposed_at=at, submitted_by=submitted_by,
                       history=[Decision(status=ProposalStatus.PENDING, on=day, at=at, by=submitted_by)])
        proposal.record(DirectoryChangeProposed(proposal_id=proposal_id, entry_id=entry_id, fields=list(checked),
                                                channel=way, proposed_on=day))
        return proposal

    def _pending(self, step: str) -> None:
        if self.status is not ProposalStatus.PENDING:
            raise Conflict(f"proposal {self.id} was {self.status.value} on {self.decided_on}: it cannot be "
                           f"{step} (propose the change again)", current_state=self.status.value,
                           expected="pending")

    def accept(self, *, at: datetime, note: object = None, by: str | None = None) -> None:
        self._pending("accepted")
        day = local_day(at)
        # checked before anything changes: a refused note leaves the proposal pending
        why = optional_text(note, "note", max_length=4000)
        self.status, self.decided_on, self.decided_at = ProposalStatus.ACCEPTED, day, at
        self.history = [*self.history, Decision(status=self.status, on=day, at=at, by=by, text=why)]
        self.record(DirectoryChangeAccepted(proposal_id=self.id, entry_id=self.entry_id, changes=self.changes,
                                            decided_on=day))

    def reject(self, *, at: datetime, reason: object, by: str | None = None) -> None:
        self._pending("rejected")
        why = text(reason, "reason", max_length=2000)
        day = local_day(at)
        self.status, self.decided_on, self.decided_at = ProposalStatus.REJECTED, day, at
        self.history = [*self.history, Decision(status=self.status, on=day, at=at, by=by, text=why)]
        self.record(DirectoryChangeRejected(proposal_id=self.id, entry_id=self.entry_id, decided_on=day))


# -- entries -------------------------------------------------------------------------------------
class Place(BaseModel):
    code: str
    name: str


class SourceRef(BaseModel):
    kind: str  # membership, procurement, import
    ref: str  # organisation id, supplier id, structure id
    name: str | None = None  # the import's source name
    on: date | None = None


class MemberInfo(BaseModel):
    status: str | None
    in_good_standing: bool
    since: date | None


class SupplierInfo(BaseModel):
    supplier_id: str
    kinds: list[str]
    labels: list[str]
    sectors: list[str]
    active: bool
    profiled_on: date | None
    archived_on: date | None


class Moderated(BaseModel):
    field: str
    value: Any
    source_value: Any
    proposal_id: str
    decided_on: date


class Entry(BaseModel):
    """One structure of the directory, as it stood on ``on``."""

    id: str
    organisation_id: str | None
    structure_ids: list[str]
    name: str
    siret: str | None
    legal_family: LegalFamily | None
    legal_family_label: str | None
    legal_form: str | None
    sectors: list[str]
    commune: Place | None
    departement: Place | None
    region: str | None
    epci: Place | None
    ept: Place | None
    lat: float | None
    lon: float | None
    approximate: bool
    website: str | None
    member: bool
    membership: MemberInfo | None
    supplier: SupplierInfo | None
    sources: list[SourceRef]
    added_on: date | None
    removed_on: date | None = None
    moderated: list[Moderated] = []


@dataclass
class Sources:
    """What the directory is built from, as the projections and aggregates hold it."""

    organisations: list[dict[str, Any]] = field(default_factory=list)
    standing: dict[str, dict[str, Any]] = field(default_factory=dict)  # organisation id → member_standing doc
    suppliers: list[dict[str, Any]] = field(default_factory=list)  # directory_suppliers docs
    structures: list[DirectoryStructure] = field(default_factory=list)
    accepted: list[DirectoryProposal] = field(default_factory=list)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _place(commune_code: str | None) -> dict[str, Any]:
    c = geo.commune(commune_code) if commune_code else None
    if c is None:
        return {"commune": None, "departement": None, "region": None, "epci": None, "ept": None, "lat": None,
                "lon": None, "approximate": True}
    dep = geo.departement(c.departement)
    epci = geo.epci(c.epci) if c.epci else None
    ept = geo.epci(c.ept) if c.ept else None
    return {"commune": Place(code=c.code, name=c.name),
            "departement": Place(code=c.departement, name=dep.name if dep else c.departement),
            "region": c.region, "epci": Place(code=epci.code, name=epci.name) if epci else None,
            "ept": Place(code=ept.code, name=ept.name) if ept else None, "lat": c.lat, "lon": c.lon,
            "approximate": c.approximate}


def _union(*lists: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for values in lists:
        for v in values:
            seen.setdefault(sector_key(v), v)
    return list(seen.values())


def build_entries(sources: Sources, on: date) -> list[Entry]:
    """Every entry of the directory as it stood on ``on`` (removed ones included, with ``removed_on``)."""
    day = on.isoformat()
    orgs = {o["_id"]: o for o in sources.organisations if (o.get("registered_on") or "0000") <= day}
    by_siret = {o.get("siret"): o["_id"] for o in orgs.values() if o.get("siret")}
    suppliers: dict[str, dict[str, Any]] = {}
    for s in sources.suppliers:
        profiled = _day(s.get("profiled_on"))
        if profiled is not None and profiled <= on and s.get("organisation_id") in orgs:
            suppliers[s["organisation_id"]] = s
    structures_of: dict[str, list[tuple[DirectoryStructure, StructureVersion]]] = {}
    alone: list[tuple[DirectoryStructure, StructureVersion]] = []
    for st in sources.structures:
        version = st.version_on(on)
        if version is None:
            continue
        org_id = by_siret.get(version.siret) if version.siret else None
        if org_id:
            structures_of.setdefault(org_id, []).append((st, version))
        else:
            alone.append((st, version))
    overlays: dict[str, list[DirectoryProposal]] = {}
    for p in sorted(sources.accepted, key=lambda p: (p.decided_at or p.proposed_at)):
        if p.decided_on is not None and p.decided_on <= on:
            overlays.setdefault(p.entry_id, []).append(p)

    entries: list[Entry] = []
    for org_id, org in orgs.items():
        merged = structures_of.get(org_id, [])
        supplier = suppliers.get(org_id)
        standing = entry_on((sources.standing.get(org_id) or {}).get("history"), on)
        base = {"name": org.get("name") or "", "siret": org.get("siret"),
                "legal_family": family_of_legal_form(org.get("legal_form")),
                "sectors": _union([org["sector"]] if org.get("sector") else [],
                                  [SECTOR_LABELS.get(Sector(s), s) if s in Sector._value2member_map_ else s
                                   for s in (supplier or {}).get("sectors", [])],
                                  *(v.sectors for _, v in merged)),
                "commune": _org_commune(org, supplier, merged),
                "website": next((v.website for _, v in merged if v.website), None)}
        refs = [SourceRef(kind="membership", ref=org_id, on=_day(org.get("registered_on")))]
        if supplier is not None:
            refs.append(SourceRef(kind="procurement", ref=supplier["_id"], on=_day(supplier.get("profiled_on"))))
        refs += [SourceRef(kind="import", ref=st.id, name=", ".join(v.sources), on=st.added_on) for st, v in merged]
        added = [d for d in [_day(org.get("registered_on")), *(st.added_on for st, _ in merged)] if d]
        entries.append(_entry(org_id, org_id, [st.id for st, _ in merged], base, org.get("legal_form"), standing,
                              supplier, on, refs, min(added) if added else None,
                              [p for key in (org_id, *(st.id for st, _ in merged)) for p in overlays.get(key, [])]))
    for st, v in alone:
        base = {"name": v.name, "siret": v.siret, "legal_family": v.legal_family, "sectors": list(v.sectors),
                "commune": v.commune, "website": v.website}
        refs = [SourceRef(kind="import", ref=st.id, name=", ".join(v.sources), on=st.added_on)]
        entries.append(_entry(st.id, None, [st.id], base, None, None, None, on, refs, st.added_on,
                              overlays.get(st.id, [])))
    return entries


def _org_commune(org: dict[str, Any], supplier: dict[str, Any] | None, merged: list) -> str | None:
    found = organisation_commune(org)
    if found is not None:
        return found
    if supplier and supplier.get("base_commune"):
        return supplier["base_commune"]
    return next((v.commune for _, v in merged), None)


def _entry(entry_id: str, org_id: str | None, structure_ids: list[str], base: dict[str, Any],
           legal_form: str | None, standing: dict[str, Any] | None, supplier: dict[str, Any] | None, on: date,
           refs: list[SourceRef], added_on: date | None, overlays: list[DirectoryProposal]) -> Entry:
    values = dict(base)
    moderated: dict[str, Moderated] = {}
    for p in overlays:
        for name, value in p.changes.items():
            if name == "legal_family":
                value = LegalFamily(value)
            moderated[name] = Moderated(field=name, value=value, source_value=base.get(name), proposal_id=p.id,
                                        decided_on=p.decided_on)
            values[name] = value
    info = None
    if supplier is not None:
        archived = _day(supplier.get("archived_on"))
        info = SupplierInfo(supplier_id=supplier["_id"], kinds=list(supplier.get("kinds", [])),
                            labels=list(supplier.get("labels", [])), sectors=list(supplier.get("sectors", [])),
                            active=archived is None or archived > on, profiled_on=_day(supplier.get("profiled_on")),
                            archived_on=archived if archived is not None and archived <= on else None)
    family = values.get("legal_family")
    return Entry(
        id=entry_id, organisation_id=org_id, structure_ids=structure_ids, name=values["name"], siret=values["siret"],
        legal_family=family, legal_family_label=family.label if family else None, legal_form=legal_form,
        sectors=values["sectors"], website=values.get("website"), **_place(values.get("commune")),
        member=bool(standing and standing.get("in_good_standing")),
        membership=MemberInfo(status=standing.get("status"), in_good_standing=bool(standing.get("in_good_standing")),
                              since=_day(standing.get("on"))) if standing else None,
        supplier=info, sources=refs, added_on=added_on, moderated=list(moderated.values()))


# -- filters, facets, counts ---------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    sector: str | None = None
    legal_family: LegalFamily | None = None
    departement: str | None = None
    commune: str | None = None
    epci: str | None = None
    region: str | None = None
    member: bool | None = None
    q: str | None = None

    def tests(self) -> dict[str, Callable[[Entry], bool]]:
        """One test per filter given (facets leave their own out)."""
        out: dict[str, Callable[[Entry], bool]] = {}
        if self.sector:
            key = sector_key(self.sector)
            out["sector"] = lambda e: any(sector_key(s) == key for s in e.sectors)
        if self.legal_family:
            out["legal_family"] = lambda e: e.legal_family == self.legal_family
        if self.departement:
            out["departement"] = lambda e: e.departement is not None and e.departement.code == self.departement
        if self.commune:
            out["commune"] = lambda e: e.commune is not None and e.commune.code == self.commune
        if self.epci:
            out["epci"] = lambda e: any(p is not None and p.code == self.epci for p in (e.epci, e.ept))
        if self.region:
            out["region"] = lambda e: e.region == self.region
        if self.member is not None:
            out["member"] = lambda e: e.member == self.member
        if self.q:
            words = geo.normalise(self.q).split()
            digits = "".join(ch for ch in self.q if ch.isdigit())

            def matches(e: Entry) -> bool:
                if digits and len(digits) >= 9 and e.siret and e.siret.startswith(digits):
                    return True
                hay = geo.normalise(" ".join(filter(None, [e.name, e.commune.name if e.commune else None])))
                return all(w in hay for w in words)
            out["q"] = matches
        return out


def live(entries: Iterable[Entry]) -> list[Entry]:
    return [e for e in entries if e.removed_on is None]


def select(entries: Iterable[Entry], filters: Filters, *, leave_out: str | None = None) -> list[Entry]:
    tests = [t for name, t in filters.tests().items() if name != leave_out]
    return [e for e in entries if all(t(e) for t in tests)]


def facets(entries: list[Entry], filters: Filters) -> dict[str, dict[str, int]]:
    """Counts per legal family, sector and département of the entries matching every filter but
    the facet's own (disjunctive facets, like procurement's supplier search)."""
    out: dict[str, dict[str, int]] = {}
    fam = Counter(e.legal_family.value for e in select(entries, filters, leave_out="legal_family") if e.legal_family)
    out["legal_family"] = dict(sorted(fam.items()))
    sectors: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for e in select(entries, filters, leave_out="sector"):
        for s in {sector_key(s): s for s in e.sectors}.items():
            sectors[s[0]] += 1
            shown.setdefault(s[0], s[1])
    out["sector"] = {shown[k]: n for k, n in sorted(sectors.items(), key=lambda kv: (-kv[1], kv[0]))}
    deps = Counter(e.departement.code for e in select(entries, filters, leave_out="departement") if e.departement)
    out["departement"] = dict(sorted(deps.items()))
    return out


def sort_key(e: Entry) -> tuple:
    return (geo.normalise(e.name), e.id)


def year_counts(entries: list[Entry], year: int, on: date) -> dict[str, Any]:
    """Structures at ``on`` (the year end, or an earlier as-of) and added in the year up to ``on``,
    per legal family and département; ``entries`` built as of ``on``."""
    start = date(year, 1, 1)
    current = live(entries)
    added = [e for e in current if e.added_on is not None and start <= e.added_on <= on]

    def per(key: Callable[[Entry], str | None]) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for e in current:
            k = key(e) or "unknown"
            out.setdefault(k, {"structures": 0, "added": 0, "members": 0})
            out[k]["structures"] += 1
            out[k]["members"] += e.member
        for e in added:
            out[key(e) or "unknown"]["added"] += 1
        return dict(sorted(out.items()))
    return {"structures": len(current), "added": len(added), "members": sum(e.member for e in current),
            "by_legal_family": per(lambda e: e.legal_family.value if e.legal_family else None),
            "by_departement": per(lambda e: e.departement.code if e.departement else None)}


def territories(entries: list[Entry], level: str) -> list[dict[str, Any]]:
    """Structures and members per département or commune: [{code, name, structures, members, lat, lon}]
    (and a commune's ``departement``)."""
    groups: dict[str, dict[str, Any]] = {}
    for e in live(entries):
        place = e.departement if level == "departement" else e.commune
        if place is None:
            continue
        g = groups.setdefault(place.code, {"code": place.code, "name": place.name, "structures": 0, "members": 0})
        if level == "commune" and e.departement is not None:
            g["departement"] = e.departement.code
        g["structures"] += 1
        g["members"] += int(e.member)
    for code, g in groups.items():
        g["lat"], g["lon"] = centre(level, code)
    return sorted(groups.values(), key=lambda g: g["code"])


def centre(level: str, code: str) -> tuple[float | None, float | None]:
    """Where to draw a territory: a commune's coordinates, a département's population-weighted centre."""
    if level == "commune":
        c = geo.commune(code)
        return (c.lat, c.lon) if c else (None, None)
    return _departement_centre(code)


_CENTRES: dict[str, tuple[float | None, float | None]] = {}


def _departement_centre(code: str) -> tuple[float | None, float | None]:
    if code not in _CENTRES:
        communes = [c for c in geo.communes_of(code) if c.population > 0 and "Arrondissement" not in c.name]
        weight = sum(c.population for c in communes)
        _CENTRES[code] = ((round(sum(c.lat * c.population for c in communes) / weight, 5),
                           round(sum(c.lon * c.population for c in communes) / weight, 5)) if weight else (None, None))
    return _CENTRES[code]
