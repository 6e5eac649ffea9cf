"""Events of the directory of ESS structures (Carteco-like) and its vocabulary.

The directory lists the region's ESS structures, members or not. Most of it is learnt from the
other services' events (membership's organisations, procurement's supplier profiles); what the
observatory itself changes is evented here:

- ``structure`` (key ``structure_id``): a structure imported from a CSV file (a legal entity:
  name, SIRET, legal family, sectors, commune, website — never a person's name, e-mail or phone);
  first imported, then updated when a later import says something else;
- ``directory_import`` (key ``import_id``): one import of a file, with its counts;
- ``directory_proposal`` (key ``proposal_id``): a change to an entry proposed on an
  organisation's behalf, then accepted (the changes apply on top of the source data) or rejected
  by staff. The free texts (note, reason) stay in the observatory's database.
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import Field

from contracts.base import DomainEvent

__all__ = ["LegalFamily", "LEGAL_FAMILY_LABELS", "ProposalStatus", "StructureImported", "StructureImportUpdated",
           "DirectoryImportCompleted", "DirectoryChangeProposed", "DirectoryChangeAccepted",
           "DirectoryChangeRejected"]


class LegalFamily(StrEnum):
    """The families of the ESS (law of 31 July 2014, article 1)."""

    ASSOCIATION = "association"
    COOPERATIVE = "cooperative"
    MUTUAL = "mutual"
    FOUNDATION = "foundation"
    ESS_COMPANY = "ess_company"
    """Entreprise commerciale de l'ESS (société commerciale de l'ESS, SCESS)."""

    @property
    def label(self) -> str:
        return LEGAL_FAMILY_LABELS[self]


LEGAL_FAMILY_LABELS: dict[LegalFamily, str] = {
    LegalFamily.ASSOCIATION: "Association",
    LegalFamily.COOPERATIVE: "Coopérative",
    LegalFamily.MUTUAL: "Mutuelle",
    LegalFamily.FOUNDATION: "Fondation",
    LegalFamily.ESS_COMPANY: "Entreprise commerciale de l'ESS",
}


class ProposalStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


def _structure_id() -> Any:
    return Field(description="Id of the imported structure (derived from its import key).",
                 examples=["str-5b1f0c9e2a7d"])


def _import_id() -> Any:
    return Field(description="Id of the import.", examples=["dimp-0a1b2c3d4e5f"])


def _proposal_id() -> Any:
    return Field(description="Id of the proposal.", examples=["dprp-7c1d2e3f4a5b"])


def _entry_id() -> Any:
    return Field(description="The directory entry: an organisation id (org-…) or an imported structure id (str-…).",
                 examples=["org-5f1c2a9b3d7e"])


class _StructureValues(DomainEvent):
    structure_id: str = _structure_id()
    import_id: str = _import_id()
    source: str = Field(description="The source the file came from (its name, as given at import).",
                        examples=["Carteco 2024"])
    siret: str | None = Field(description="SIRET (14 digits, checksum valid), when the file gives one.",
                              examples=["73282932000074"])
    name: str = Field(description="Name of the structure (a legal entity: not personal data).",
                      examples=["Recyclerie du Canal"])
    legal_family: LegalFamily = Field(description="ESS family (code).", examples=["association"])
    sectors: list[str] = Field(description="Sectors of activity, as the file words them.", examples=[["réemploi"]])
    commune: str = Field(description="INSEE code of the commune.", examples=["93048"])
    departement: str = Field(description="Département code of the commune.", examples=["93"])
    website: str | None = Field(description="Website, if given.", examples=["https://recyclerie.example.org"])


class StructureImported(_StructureValues, event_type="org.cress.observatory.structure-imported.v1",
                        aggregate_type="structure", aggregate_id_field="structure_id"):
    """A structure unknown to the directory's imports entered it from a CSV file."""

    added_on: date = Field(description="The business date it became known (the import's date).",
                           examples=["2024-02-01"])


class StructureImportUpdated(_StructureValues, event_type="org.cress.observatory.structure-import-updated.v1",
                             aggregate_type="structure", aggregate_id_field="structure_id"):
    """A later import said something else of an imported structure; carries its values after it."""

    changed_fields: list[str] = Field(description="Names of the fields that changed (or `sources` when only a "
                                                  "new source names it).", examples=[["website"]])
    updated_on: date = Field(description="The import's date.", examples=["2024-09-01"])


class DirectoryImportCompleted(DomainEvent, event_type="org.cress.observatory.directory-import-completed.v1",
                               aggregate_type="directory_import", aggregate_id_field="import_id"):
    """A CSV file of structures was imported: its good rows stored, its bad rows reported."""

    import_id: str = _import_id()
    source: str = Field(description="The source the file came from.", examples=["Carteco 2024"])
    file_sha256: str = Field(description="SHA-256 of the file's bytes.", examples=["9f86d081884c7d65…"])
    encoding: str = Field(description="The encoding detected: utf-8, utf-8-sig (with BOM) or cp1252.",
                          examples=["utf-8-sig"])
    lines: int = Field(ge=0, description="Data lines read.", examples=[120])
    imported: int = Field(ge=0, description="Structures new to the directory.", examples=[100])
    updated: int = Field(ge=0, description="Structures known already whose values changed.", examples=[5])
    unchanged: int = Field(ge=0, description="Structures known already, nothing changed.", examples=[10])
    rejected: int = Field(ge=0, description="Bad lines, not imported (the line report says why).", examples=[5])
    ignored_columns: list[str] = Field(description="Columns not imported (personal data, unknown).",
                                       examples=[["E-mail du contact"]])
    imported_on: date = Field(description="The import's business date.", examples=["2024-02-01"])


class DirectoryChangeProposed(DomainEvent, event_type="org.cress.observatory.directory-change-proposed.v1",
                              aggregate_type="directory_proposal", aggregate_id_field="proposal_id"):
    """A change to a directory entry was proposed on the organisation's behalf; staff will moderate it."""

    proposal_id: str = _proposal_id()
    entry_id: str = _entry_id()
    fields: list[str] = Field(description="The entry's fields the proposal changes.", examples=[["website"]])
    channel: str = Field(description="How the organisation sent it (e-mail, form, phone, meeting, staff).",
                         examples=["email"])
    proposed_on: date = Field(description="Date it was proposed (server's date).", examples=["2024-03-01"])


class DirectoryChangeAccepted(DomainEvent, event_type="org.cress.observatory.directory-change-accepted.v1",
                              aggregate_type="directory_proposal", aggregate_id_field="proposal_id"):
    """Staff accepted a proposed change: its values apply to the entry from ``decided_on``, over the
    source data."""

    proposal_id: str = _proposal_id()
    entry_id: str = _entry_id()
    changes: dict[str, str | list[str] | None] = Field(
        description="The values that apply (fields: name, legal_family, sectors, commune (INSEE code), website).",
        examples=[{"website": "https://ateliers.example.org"}])
    decided_on: date = Field(description="Date of the decision (server's date).", examples=["2024-03-05"])


class DirectoryChangeRejected(DomainEvent, event_type="org.cress.observatory.directory-change-rejected.v1",
                              aggregate_type="directory_proposal", aggregate_id_field="proposal_id"):
    """Staff rejected a proposed change (the reason stays in the observatory)."""

    proposal_id: str = _proposal_id()
    entry_id: str = _entry_id()
    decided_on: date = Field(description="Date of the decision (server's date).", examples=["2024-03-05"])
