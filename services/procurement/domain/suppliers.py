"""The Supplier aggregate: the sourcing profile of an ESS organisation known from membership's events.

Staff create and edit it; its **identity** (name, SIRET, legal form, ESUS agreement) is a copy of
the organisation's profile as membership's events gave it — never typed by staff — kept here for
search and display, and refreshed when membership says the organisation changed
(:meth:`Supplier.refresh_identity`). The ``esus`` label is derived from that ESUS agreement:
staff cannot add or remove it.

What staff edit: sectors (at least one), services offered (short texts), the territories served
(départements, communes by INSEE code, a radius around the base commune, 0–300 km), the base
commune, capacity, kinds, labels, references and past public contracts.

The stored document keeps the shape other areas query (``suppliers``: ``organisation_id``,
``sectors``, ``kinds``, ``labels`` (with ``esus`` when agreed), ``base {commune, departement,
lat, lon}``, ``serves {departements, communes, radius_km}``, ``status``).

Pure: codes are checked against :mod:`reference.geo` (shipped data); time is passed in.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from contracts.procurement.suppliers import (ProfileChangeSource, SupplierArchived, SupplierProfiled,
                                             SupplierProfileUpdated, SupplierStatus)
from contracts.procurement.vocabulary import ReservedArticle, Sector, SupplierKind, SupplierLabel
from reference import geo
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput
from runtime.rules import enum_value, optional_text, text

MAX_RADIUS_KM = 300
MAX_CENTS = 100_000_000_000_00  # 100 billion euros: beyond any public contract
MAX_HEADCOUNT = 1_000_000
MAX_SERVICES, MAX_SERVICE_LENGTH = 30, 200
MAX_DEPARTEMENTS, MAX_COMMUNES = 120, 1000
MAX_REFERENCES, MAX_PAST_CONTRACTS = 50, 100
EARLIEST_YEAR = 1900

_UNSET: Any = object()

#: The fields :meth:`Supplier.update` may change (staff's), in the order changes are reported.
EDITABLE = ("sectors", "services", "kinds", "labels", "base_commune", "serves", "capacity", "references",
            "past_contracts")


class Identity(BaseModel):
    """The organisation's identity as membership's events gave it (a copy; never typed here)."""

    name: str
    siret: str
    legal_form: str
    esus_agreed: bool
    departement: str = Field(description="Département of the registered office.")
    commune_name: str = Field(description="Commune of the registered office, as membership stores it (a name).")
    as_of: datetime = Field(description="Time of the membership event this copy comes from.")

    @classmethod
    def of(cls, organisation: dict[str, Any]) -> Identity:
        """From an ``organisations`` projection document (or an organisation event's data)."""
        return cls(name=organisation["name"], siret=organisation["siret"], legal_form=str(organisation["legal_form"]),
                   esus_agreed=bool(organisation["esus_agreed"]), departement=organisation["departement"],
                   commune_name=organisation["commune"], as_of=organisation["as_of"])


class Base(BaseModel):
    """The commune the supplier works from."""

    commune: str = Field(description="INSEE code.", examples=["93048"])
    commune_name: str = Field(examples=["Montreuil"])
    departement: str = Field(examples=["93"])
    lat: float = Field(examples=[48.86415])
    lon: float = Field(examples=[2.44322])
    approximate: bool = Field(description="The coordinates are the centre of the commune's intercommunality or "
                                          "département (the dataset lacks the commune's own): distances to it "
                                          "are good to ten kilometres or so.", examples=[False])

    @classmethod
    def at(cls, code: object, field: str = "base_commune") -> Base:
        commune = _commune(code, field)
        return cls(commune=commune.code, commune_name=commune.name, departement=commune.departement,
                   lat=commune.lat, lon=commune.lon, approximate=commune.approximate)


class Serves(BaseModel):
    """The territories served beyond the base département."""

    departements: list[str] = Field(default_factory=list, description="Départements served as a whole (codes).",
                                    examples=[["93", "94"]])
    communes: list[str] = Field(default_factory=list, description="Communes served (INSEE codes).",
                                examples=[["75111", "92050"]])
    radius_km: int | None = Field(None, ge=0, le=MAX_RADIUS_KM, description="Radius served around the base "
                                                                           "commune, in km (0–300); null: none.",
                                  examples=[30])


class Capacity(BaseModel):
    """What the supplier can take on."""

    max_contract_cents: int | None = Field(None, ge=0, le=MAX_CENTS, description="Largest single contract it can "
                                                                                 "take, in euro cents (excl. VAT).",
                                           examples=[15_000_000])
    annual_capacity_cents: int | None = Field(None, ge=0, le=MAX_CENTS, description="New business it can take on "
                                                                                    "in a year, in euro cents.",
                                              examples=[40_000_000])
    headcount_available: int | None = Field(None, ge=0, le=MAX_HEADCOUNT, description="People it can assign to "
                                                                                      "new contracts.",
                                            examples=[12])


class Reference(BaseModel):
    """A past client (a legal entity) and what was done for it."""

    client_name: str = Field(examples=["Ville de Montreuil"])
    year: int = Field(examples=[2023])
    amount_cents: int | None = Field(None, examples=[4_500_000])
    description: str | None = Field(None, examples=["Collecte et réemploi du mobilier de bureau"])


class PastContract(BaseModel):
    """A public contract the supplier won."""

    buyer_name: str = Field(examples=["Département de la Seine-Saint-Denis"])
    year: int = Field(examples=[2022])
    amount_cents: int = Field(examples=[12_000_000])
    reserved_article: ReservedArticle | None = Field(None, description="The article the contract was reserved "
                                                                       "under, if it was.", examples=["l2113_13"])
    decp_id: str | None = Field(None, description="Its id in the DECP (données essentielles de la commande "
                                                  "publique), when known.", examples=["21930048000015_2022_00117"])


# -- rules ------------------------------------------------------------------------------------------

def _commune(code: object, field: str) -> geo.Commune:
    commune = geo.commune(code.strip()) if isinstance(code, str) else None
    if commune is None:
        raise InvalidInput(field, f"{code!r} is not the INSEE code of a French commune")
    return commune


def departement_code(value: object, field: str) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    if geo.departement(code) is None:
        raise InvalidInput(field, f"{value!r} is not a French département code (01–95, 2A, 2B, 971–976…)")
    return code


def _list(value: object, field: str, *, max_items: int, at_least: int = 0) -> list:
    if not isinstance(value, (list, tuple)):
        raise InvalidInput(field, f"{field} must be a list")
    if len(value) < at_least:
        raise InvalidInput(field, f"{field} needs at least {at_least} item{'s' if at_least > 1 else ''}")
    if len(value) > max_items:
        raise InvalidInput(field, f"{field} has more than {max_items} items")
    return list(value)


def _unique(items: list, field: str, key=lambda v: v) -> list:
    seen: set = set()
    for i, item in enumerate(items):
        k = key(item)
        if k in seen:
            raise InvalidInput(f"{field}.{i}", f"{item!r} is given twice in {field}")
        seen.add(k)
    return items


def _codes(enum: type[StrEnum], value: object, field: str, *, at_least: int = 0) -> list:
    items = _list(value, field, max_items=len(enum) * 2, at_least=at_least)
    return _unique([enum_value(enum, v, f"{field}.{i}") for i, v in enumerate(items)], field)


def _amount(value: object, field: str, *, required: bool = False) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CENTS:
        raise InvalidInput(field, f"{field} must be a whole number of euro cents from 0 to {MAX_CENTS}")
    return value


def _year(value: object, field: str, at: datetime) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not EARLIEST_YEAR <= value <= at.year:
        raise InvalidInput(field, f"{field} must be a year from {EARLIEST_YEAR} to {at.year} (not in the future)")
    return value


def _model_input(value: object, field: str) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if not isinstance(value, dict):
        raise InvalidInput(field, f"{field} must be an object")
    return value


def check_sectors(value: object) -> list[Sector]:
    return _codes(Sector, value, "sectors", at_least=1)


def check_kinds(value: object) -> list[SupplierKind]:
    return _codes(SupplierKind, value, "kinds")


def check_labels(value: object) -> list[SupplierLabel]:
    labels = _codes(SupplierLabel, value, "labels")
    for i, label in enumerate(labels):
        if label is SupplierLabel.ESUS:
            raise InvalidInput(f"labels.{i}", "the esus label comes from the organisation's ESUS agreement "
                                              "(membership's events): it cannot be set here")
    return labels


def check_services(value: object) -> list[str]:
    items = _list(value, "services", max_items=MAX_SERVICES)
    out = [text(v, f"services.{i}", max_length=MAX_SERVICE_LENGTH) for i, v in enumerate(items)]
    return _unique(out, "services", key=str.casefold)


def check_serves(value: object) -> Serves:
    data = _model_input(value, "serves")
    unknown = set(data) - {"departements", "communes", "radius_km"}
    if unknown:
        raise InvalidInput(f"serves.{sorted(unknown)[0]}", "unknown field")
    departements = _list(data.get("departements") or [], "serves.departements", max_items=MAX_DEPARTEMENTS)
    departements = _unique([departement_code(v, f"serves.departements.{i}") for i, v in enumerate(departements)],
                           "serves.departements")
    communes = _list(data.get("communes") or [], "serves.communes", max_items=MAX_COMMUNES)
    communes = _unique([_commune(v, f"serves.communes.{i}").code for i, v in enumerate(communes)], "serves.communes")
    radius = data.get("radius_km")
    if radius is not None and (isinstance(radius, bool) or not isinstance(radius, int)
                               or not 0 <= radius <= MAX_RADIUS_KM):
        raise InvalidInput("serves.radius_km", f"serves.radius_km must be a whole number of km from 0 to "
                                               f"{MAX_RADIUS_KM}, or null")
    return Serves(departements=departements, communes=communes, radius_km=radius)


def check_capacity(value: object) -> Capacity:
    data = _model_input(value, "capacity")
    unknown = set(data) - set(Capacity.model_fields)
    if unknown:
        raise InvalidInput(f"capacity.{sorted(unknown)[0]}", "unknown field")
    headcount = data.get("headcount_available")
    if headcount is not None and (isinstance(headcount, bool) or not isinstance(headcount, int)
                                  or not 0 <= headcount <= MAX_HEADCOUNT):
        raise InvalidInput("capacity.headcount_available", f"capacity.headcount_available must be a whole number "
                                                           f"from 0 to {MAX_HEADCOUNT}")
    return Capacity(max_contract_cents=_amount(data.get("max_contract_cents"), "capacity.max_contract_cents"),
                    annual_capacity_cents=_amount(data.get("annual_capacity_cents"), "capacity.annual_capacity_cents"),
                    headcount_available=headcount)


def check_references(value: object, at: datetime) -> list[Reference]:
    out = []
    for i, item in enumerate(_list(value, "references", max_items=MAX_REFERENCES)):
        field = f"references.{i}"
        data = _model_input(item, field)
        out.append(Reference(client_name=text(data.get("client_name"), f"{field}.client_name"),
                             year=_year(data.get("year"), f"{field}.year", at),
                             amount_cents=_amount(data.get("amount_cents"), f"{field}.amount_cents"),
                             description=optional_text(data.get("description"), f"{field}.description",
                                                       max_length=2000)))
    return out


def check_past_contracts(value: object, at: datetime) -> list[PastContract]:
    out = []
    for i, item in enumerate(_list(value, "past_contracts", max_items=MAX_PAST_CONTRACTS)):
        field = f"past_contracts.{i}"
        data = _model_input(item, field)
        article = data.get("reserved_article")
        decp_id = optional_text(data.get("decp_id"), f"{field}.decp_id", max_length=100)
        out.append(PastContract(buyer_name=text(data.get("buyer_name"), f"{field}.buyer_name"),
                                year=_year(data.get("year"), f"{field}.year", at),
                                amount_cents=_amount(data.get("amount_cents"), f"{field}.amount_cents", required=True),
                                reserved_article=None if article is None else enum_value(
                                    ReservedArticle, article, f"{field}.reserved_article"),
                                decp_id=decp_id))
    return _unique(out, "past_contracts", key=lambda c: c.decp_id or id(c))


def _aware(at: datetime) -> datetime:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("at", "the time of a change must be a timezone-aware datetime")
    return at


# -- the aggregate ------------------------------------------------------------------------------------

class Supplier(Aggregate):
    """A supplier profile (``id`` "sup-…"): one per organisation."""

    organisation_id: str
    identity: Identity
    sectors: list[Sector]
    services: list[str] = Field(default_factory=list)
    kinds: list[SupplierKind] = Field(default_factory=list)
    labels: list[SupplierLabel] = Field(default_factory=list, description="The labels held: those staff "
                                                                           "declared, and esus when the "
                                                                           "organisation holds the ESUS agreement.")
    declared_labels: list[SupplierLabel] = Field(default_factory=list, description="The labels staff declared.")
    base: Base
    serves: Serves = Field(default_factory=Serves)
    capacity: Capacity = Field(default_factory=Capacity)
    references: list[Reference] = Field(default_factory=list)
    past_contracts: list[PastContract] = Field(default_factory=list)
    status: SupplierStatus = SupplierStatus.ACTIVE
    profiled_at: datetime
    updated_at: datetime
    archived_at: datetime | None = None

    # -- factory --------------------------------------------------------------------------------------
    @classmethod
    def profile(cls, supplier_id: str, *, organisation_id: str, identity: Identity, sectors: list,
                base_commune: str, services: list | None = None, kinds: list | None = None,
                labels: list | None = None, serves: Serves | dict | None = None,
                capacity: Capacity | dict | None = None, references: list | None = None,
                past_contracts: list | None = None, at: datetime) -> Supplier:
        """A new profile for an organisation → ``SupplierProfiled``.

        :raises InvalidInput: naming the field — no sector, an unknown sector, kind or label code,
            the esus label (membership's), an unknown commune or département code, a radius
            outside 0–300 km, duplicates, amounts or years out of range.
        """
        at = _aware(at)
        declared = check_labels(labels or [])
        supplier = cls(id=text(supplier_id, "supplier_id", max_length=100),
                       organisation_id=text(organisation_id, "organisation_id", max_length=100),
                       identity=identity, sectors=check_sectors(sectors), services=check_services(services or []),
                       kinds=check_kinds(kinds or []), declared_labels=declared,
                       labels=_labels(declared, identity.esus_agreed), base=Base.at(base_commune),
                       serves=check_serves(serves if serves is not None else {}),
                       capacity=check_capacity(capacity if capacity is not None else {}),
                       references=check_references(references or [], at),
                       past_contracts=check_past_contracts(past_contracts or [], at), profiled_at=at, updated_at=at)
        supplier.record(SupplierProfiled(**supplier.matching_profile(), profiled_at=at))
        return supplier

    # -- commands -------------------------------------------------------------------------------------
    def update(self, *, at: datetime, sectors: list = _UNSET, services: list = _UNSET, kinds: list = _UNSET,
               labels: list = _UNSET, base_commune: str = _UNSET, serves: Serves | dict = _UNSET,
               capacity: Capacity | dict = _UNSET, references: list = _UNSET,
               past_contracts: list = _UNSET) -> list[str]:
        """Change what staff edit (omitted fields keep their value) → ``SupplierProfileUpdated``
        naming the fields that changed. Returns those names; changing nothing records nothing.

        :raises Conflict: the profile is archived.
        :raises InvalidInput: as for :meth:`profile`.
        """
        at = _aware(at)
        self._check_active("change")
        new: dict[str, Any] = {}
        if sectors is not _UNSET:
            new["sectors"] = check_sectors(sectors)
        if services is not _UNSET:
            new["services"] = check_services(services)
        if kinds is not _UNSET:
            new["kinds"] = check_kinds(kinds)
        if labels is not _UNSET:
            new["declared_labels"] = check_labels(labels)
        if base_commune is not _UNSET:
            new["base"] = Base.at(base_commune)
        if serves is not _UNSET:
            new["serves"] = check_serves(serves)
        if capacity is not _UNSET:
            new["capacity"] = check_capacity(capacity)
        if references is not _UNSET:
            new["references"] = check_references(references, at)
        if past_contracts is not _UNSET:
            new["past_contracts"] = check_past_contracts(past_contracts, at)
        changed = [name for name, value in new.items() if getattr(self, name) != value]
        if not changed:
            return []
        for name in changed:
            setattr(self, name, new[name])
        if "declared_labels" in changed:
            self.labels = _labels(self.declared_labels, self.identity.esus_agreed)
        reported = [_REPORTED.get(name, name) for name in changed]
        self.updated_at = max(at, self.updated_at)
        self.record(SupplierProfileUpdated(**self.matching_profile(), changed_fields=reported,
                                           source=ProfileChangeSource.STAFF, updated_at=self.updated_at))
        return reported

    def refresh_identity(self, identity: Identity, *, at: datetime) -> list[str]:
        """Take the organisation's identity from a newer membership event (an older one changes
        nothing). A change of the ESUS agreement adds or removes the ``esus`` label →
        ``SupplierProfileUpdated`` (source ``membership``); a name or SIRET change is a copy of
        membership's own event and records nothing. Returns the identity fields that changed
        (``labels`` too when the label did). Archived profiles keep their copy up to date too."""
        at = _aware(at)
        if identity.as_of < self.identity.as_of:
            return []
        changed = [name for name in Identity.model_fields
                   if name != "as_of" and getattr(self.identity, name) != getattr(identity, name)]
        self.identity = identity
        labels = _labels(self.declared_labels, identity.esus_agreed)
        if labels != self.labels:
            self.labels = labels
            changed.append("labels")
            self.updated_at = max(at, self.updated_at)
            self.record(SupplierProfileUpdated(**self.matching_profile(), changed_fields=["labels"],
                                               source=ProfileChangeSource.MEMBERSHIP, updated_at=self.updated_at))
        return changed

    def archive(self, *, at: datetime) -> None:
        """Archive the profile → ``SupplierArchived``.

        :raises Conflict: it is archived already.
        """
        at = _aware(at)
        self._check_active("archive")
        self.status = SupplierStatus.ARCHIVED
        self.archived_at = max(at, self.updated_at)
        self.record(SupplierArchived(supplier_id=self.id, organisation_id=self.organisation_id,
                                     archived_at=self.archived_at))

    # -- queries --------------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.status is SupplierStatus.ACTIVE

    def matching_profile(self) -> dict[str, Any]:
        """What the supplier events carry: ids and codes, no free text."""
        return {"supplier_id": self.id, "organisation_id": self.organisation_id, "sectors": list(self.sectors),
                "kinds": list(self.kinds), "labels": list(self.labels), "base_commune": self.base.commune,
                "base_departement": self.base.departement, "departements": list(self.serves.departements),
                "communes": list(self.serves.communes), "radius_km": self.serves.radius_km}

    def _check_active(self, action: str) -> None:
        if not self.active:
            raise Conflict(f"supplier {self.id} is archived: cannot {action} it", current_state=self.status.value)


_REPORTED = {"declared_labels": "labels", "base": "base_commune"}


def _labels(declared: list[SupplierLabel], esus_agreed: bool) -> list[SupplierLabel]:
    """The labels held: ``esus`` first when agreed, then those declared, in their order."""
    return ([SupplierLabel.ESUS] if esus_agreed else []) + [label for label in declared
                                                            if label is not SupplierLabel.ESUS]
