"""Request and response bodies of the suppliers, sourcing and groupings API, with examples.

Single resources are the domain's own models (``Supplier``, ``Grouping``); business rules (codes
that exist, duplicates, the esus label, years not in the future, lifecycle order) are the
domain's and come back as 422/409 problem details naming the field.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contracts.procurement.vocabulary import ReservedArticle, Sector, SupplierKind, SupplierLabel
from runtime.api import Body, partial
from services.procurement.domain.suppliers import (MAX_CENTS, MAX_COMMUNES, MAX_DEPARTEMENTS, MAX_HEADCOUNT,
                                                   MAX_PAST_CONTRACTS, MAX_RADIUS_KM, MAX_REFERENCES,
                                                   MAX_SERVICE_LENGTH, MAX_SERVICES)
from services.procurement.domain.territory import Reach

INSEE = r"^[0-9][0-9AB][0-9]{3}$"
DEPARTEMENT = r"^[0-9][0-9AB]?[0-9]?$"

_SUPPLIER_EXAMPLE = {
    "organisation_id": "org-5f1c2a9b3d7e",
    "sectors": ["circular_economy", "logistics"],
    "services": ["Collecte et réemploi de mobilier de bureau", "Déménagement de services administratifs"],
    "kinds": ["ei"], "labels": ["lucie"],
    "base_commune": "93048",
    "serves": {"departements": ["93", "94"], "communes": ["75111", "75120"], "radius_km": 30},
    "capacity": {"max_contract_cents": 15_000_000, "annual_capacity_cents": 40_000_000, "headcount_available": 12},
    "references": [{"client_name": "Ville de Montreuil", "year": 2023, "amount_cents": 4_500_000,
                    "description": "Réemploi du mobilier de l'hôtel de ville"}],
    "past_contracts": [{"buyer_name": "Département de la Seine-Saint-Denis", "year": 2022,
                        "amount_cents": 12_000_000, "reserved_article": "l2113_13",
                        "decp_id": "22930008200011_2022_00117"}],
}


class ServesIn(Body):
    departements: list[str] = Field(default_factory=list, max_length=MAX_DEPARTEMENTS,
                                    description="Départements served as a whole (codes).", examples=[["93", "94"]])
    communes: list[str] = Field(default_factory=list, max_length=MAX_COMMUNES,
                                description="Communes served (INSEE codes).", examples=[["75111"]])
    radius_km: int | None = Field(None, ge=0, le=MAX_RADIUS_KM, description="Radius served around the base "
                                                                           "commune, in km (0–300); null: none.",
                                  examples=[30])


class CapacityIn(Body):
    max_contract_cents: int | None = Field(None, ge=0, le=MAX_CENTS, description="Largest single contract it can "
                                                                                 "take, in euro cents (excl. VAT).",
                                           examples=[15_000_000])
    annual_capacity_cents: int | None = Field(None, ge=0, le=MAX_CENTS,
                                              description="New business it can take on in a year, in euro cents.",
                                              examples=[40_000_000])
    headcount_available: int | None = Field(None, ge=0, le=MAX_HEADCOUNT,
                                            description="People it can assign to new contracts.", examples=[12])


class ReferenceIn(Body):
    client_name: str = Field(min_length=1, max_length=200, description="A past client (a legal entity).",
                             examples=["Ville de Montreuil"])
    year: int = Field(ge=1900, le=2200, description="Not in the future.", examples=[2023])
    amount_cents: int | None = Field(None, ge=0, le=MAX_CENTS, examples=[4_500_000])
    description: str | None = Field(None, max_length=2000, examples=["Réemploi du mobilier de l'hôtel de ville"])


class PastContractIn(Body):
    buyer_name: str = Field(min_length=1, max_length=200, examples=["Département de la Seine-Saint-Denis"])
    year: int = Field(ge=1900, le=2200, description="Not in the future.", examples=[2022])
    amount_cents: int = Field(ge=0, le=MAX_CENTS, examples=[12_000_000])
    reserved_article: ReservedArticle | None = Field(None, description="The article it was reserved under, if any.",
                                                     examples=["l2113_13"])
    decp_id: str | None = Field(None, max_length=100, pattern=r"^[A-Za-z0-9._:/-]+$",
                                description="Its id in the DECP, when known.", examples=["22930008200011_2022_00117"])


class SupplierIn(Body):
    """A new supplier profile for an ESS organisation known from membership's events. Its identity
    (name, SIRET, legal form, ESUS agreement) comes from membership, not from this body."""

    organisation_id: str = Field(min_length=1, max_length=100, description="The organisation (membership's id).",
                                 examples=["org-5f1c2a9b3d7e"])
    sectors: list[Sector] = Field(min_length=1, max_length=len(Sector), description="Sectors (filières), at least one.",
                                  examples=[["circular_economy"]])
    services: list[str] = Field(default_factory=list, max_length=MAX_SERVICES,
                                description=f"Services offered: short texts (at most {MAX_SERVICE_LENGTH} "
                                            f"characters each).", examples=[["Collecte de mobilier"]])
    kinds: list[SupplierKind] = Field(default_factory=list, max_length=len(SupplierKind), examples=[["ei"]])
    labels: list[SupplierLabel] = Field(default_factory=list, max_length=len(SupplierLabel),
                                        description="Labels held (`esus` is derived from the organisation's ESUS "
                                                    "agreement: not accepted here).", examples=[["lucie"]])
    base_commune: str | None = Field(None, pattern=INSEE, description="INSEE code of the commune it works from "
                                                                      "(default: the organisation's commune).",
                                     examples=["93048"])
    serves: ServesIn = Field(default_factory=ServesIn, description="Territories served beyond the base département.")
    capacity: CapacityIn = Field(default_factory=CapacityIn)
    references: list[ReferenceIn] = Field(default_factory=list, max_length=MAX_REFERENCES)
    past_contracts: list[PastContractIn] = Field(default_factory=list, max_length=MAX_PAST_CONTRACTS,
                                                 description="Public contracts won.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_SUPPLIER_EXAMPLE]})


SupplierPatch = partial(SupplierIn, name="SupplierPatch", exclude=("organisation_id",),
                        examples=[{"sectors": ["circular_economy", "sustainable_construction"],
                                   "serves": {"departements": ["93"], "communes": [], "radius_km": 40}}])


# -- search ------------------------------------------------------------------------------------------

class HitBase(BaseModel):
    commune: str = Field(examples=["93048"])
    commune_name: str = Field(examples=["Montreuil"])
    departement: str = Field(examples=["93"])
    approximate: bool = Field(description="Coordinates are an intercommunality's or département's centre.")


class HitServes(BaseModel):
    departements: list[str]
    communes: list[str]
    radius_km: int | None


class ScoreDetails(BaseModel):
    sector: float = Field(description="0–30: the share of the sectors asked it works in.")
    distance: float = Field(description="0–25 (a commune searched): 25 × (1 − km / 100).")
    territory: float = Field(description="0–20: names the commune 20, the département 15, its radius covers the "
                                         "place (or part of a département) 10, within the search radius only 0.")
    labels: float = Field(description="0–9: 3 per label.")
    member: float = Field(description="0 or 10: member in good standing now.")
    track_record: float = Field(description="0–15: 2 per past public contract (≤ 10) + 1 per reference (≤ 5).")


class SupplierHit(BaseModel):
    supplier_id: str = Field(examples=["sup-3f9a1c2b7d4e"])
    organisation_id: str = Field(examples=["org-5f1c2a9b3d7e"])
    name: str = Field(examples=["Les Ateliers Solidaires"])
    legal_form: str = Field(examples=["association"])
    sectors: list[Sector]
    kinds: list[SupplierKind]
    labels: list[SupplierLabel]
    services: list[str]
    base: HitBase
    serves: HitServes
    member: bool = Field(description="Its organisation is a member in good standing now.")
    reach: Reach | None = Field(description="How it reaches the place searched: commune, departement, radius, part "
                                            "(communes of the département), nearby (search radius only).")
    distance_km: float | None = Field(description="From its base commune to the commune searched.")
    score: float = Field(description="Relevance (see `score_details`).", examples=[71.5])
    score_details: ScoreDetails
    references: int = Field(description="References given.")
    past_contracts: int = Field(description="Past public contracts given.")
    max_contract_cents: int | None
    headcount_available: int | None


class MemberFacet(BaseModel):
    in_good_standing: int
    not_in_good_standing: int


class Facets(BaseModel):
    """Counts of the suppliers matching every filter except the facet's own (disjunctive facets)."""

    sectors: dict[str, int] = Field(description="Per sector code (every code, zeros included).")
    kinds: dict[str, int] = Field(description="Per kind code.")
    labels: dict[str, int] = Field(description="Per label code.")
    departements: dict[str, int] = Field(description="Per département *served* (what the territory filter with that "
                                                     "département finds); only those above zero.")
    member: MemberFacet


class SearchPage(BaseModel):
    items: list[SupplierHit]
    total: int = Field(description="How many match, over all pages.")
    limit: int
    offset: int
    facets: Facets


# -- groupings ---------------------------------------------------------------------------------------

class GroupingIn(Body):
    need_id: str = Field(min_length=1, max_length=100, description="The buyer's need answered (the needs area's id; "
                                                                   "stored as given).", examples=["need-5a2c90e1b7f3"])
    lead_supplier_id: str = Field(min_length=1, max_length=100, examples=["sup-3f9a1c2b7d4e"])
    member_supplier_ids: list[str] = Field(min_length=1, max_length=50, description="The other suppliers (at least "
                                                                                    "one; not the lead).",
                                           examples=[["sup-71aa0e9c3d21"]])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"need_id": "need-5a2c90e1b7f3", "lead_supplier_id": "sup-3f9a1c2b7d4e",
         "member_supplier_ids": ["sup-71aa0e9c3d21", "sup-9b2c4d6e8f10"]}]})


class JoinIn(Body):
    supplier_id: str = Field(min_length=1, max_length=100, examples=["sup-9b2c4d6e8f10"])


class DissolutionIn(Body):
    reason: str | None = Field(None, max_length=2000, description="Why (kept here; not in events).",
                               examples=["Le lot a été attribué à un seul titulaire."])
