"""Request and response bodies of the directory API."""
from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.observatory.directory import ProposalStatus
from runtime.api import Body
from services.observatory.domain.directory import Entry


class Facets(BaseModel):
    """Counts of the entries matching every filter except the facet's own (disjunctive facets)."""

    legal_family: dict[str, int] = Field(description="Entries per legal family (code).")
    sector: dict[str, int] = Field(description="Entries per sector (as the sources word it).")
    departement: dict[str, int] = Field(description="Entries per département (code).")


class DirectoryPage(BaseModel):
    items: list[Entry]
    total: int = Field(description="How many entries match, over all pages.")
    limit: int
    offset: int
    as_of: date = Field(description="The directory as it stood on this date.")
    facets: Facets


class CountLine(BaseModel):
    structures: int = Field(description="Structures on the date.")
    added: int = Field(description="Structures added in the year, up to the date.")
    members: int = Field(description="Of the structures, members in good standing on the date.")


class CountsView(BaseModel):
    year: int
    on: date = Field(description="The date counted: December 31 of the year, or the as_of date if earlier.")
    structures: int
    added: int
    members: int
    by_legal_family: dict[str, CountLine]
    by_departement: dict[str, CountLine]


class Territory(BaseModel):
    code: str
    name: str
    structures: int
    members: int = Field(description="Members in good standing on the date.")
    lat: float | None
    lon: float | None


class TerritoriesView(BaseModel):
    level: str
    as_of: date
    territories: list[Territory]


class FaultView(BaseModel):
    line: int = Field(description="Line number in the file (the header is line 1).")
    field: str = Field(description="The column at fault (name, siret, legal_family, sector, commune, departement, "
                                   "website, source).")
    message: str
    value: str | None


class ImportView(BaseModel):
    id: str
    source: str
    file_name: str | None
    file_sha256: str
    encoding: str = Field(description="Encoding detected: utf-8, utf-8-sig (UTF-8 with BOM) or cp1252.")
    separator: str
    imported_on: date
    lines: int
    imported: int
    updated: int
    unchanged: int
    rejected: int = Field(description="Lines not imported (see faults).")
    ignored_columns: list[dict[str, str]] = Field(description="Columns not read, and why (personal data, unknown).")
    faults: list[FaultView] = Field(description="The line report: each bad line's faults (the first 1,000).")
    faults_truncated: bool


class ProposalIn(Body):
    changes: dict[str, Any] = Field(description="The entry's new values: name, legal_family (code or label), sectors "
                                                "(list), commune (INSEE code), website (null clears it).")
    channel: str = Field("staff", description="How the organisation sent it: email, form, phone, meeting, letter, "
                                              "staff.")
    note: str | None = Field(None, max_length=4000, description="What the organisation wrote (no personal data).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"changes": {"website": "https://ateliers.example.org", "sectors": ["réemploi", "textile"]},
         "channel": "email", "note": "Courriel de la structure du 3 mars."}]})


class AcceptIn(Body):
    note: str | None = Field(None, max_length=4000, description="A comment on the decision.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "Vérifié sur le site."}]})


class RejectIn(Body):
    reason: str = Field(min_length=1, max_length=2000, description="Why the change is rejected (kept in history).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "Le siège n'a pas déménagé : le SIRET est toujours celui de Montreuil."}]})


class ProposalView(BaseModel):
    id: str
    version: int
    entry_id: str
    organisation_id: str | None
    changes: dict[str, Any]
    channel: str
    note: str | None
    status: ProposalStatus
    proposed_on: date
    decided_on: date | None
    history: list[dict[str, Any]]
