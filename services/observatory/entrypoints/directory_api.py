"""The directory of ESS structures (Carteco-like): list with filters and facets, one entry, counts
at year end, the map's territories, CSV imports, and moderation of changes proposed on an
organisation's behalf.

Roles: reads ``staff:observatory`` or ``reader``; writes ``staff:observatory`` (or ``admin``).
There is no organisation role in the platform's tokens (:mod:`runtime.auth` has admin, staff,
partner, reader and no organisation claim): an organisation sends its change (e-mail, form…) and
staff enter it on its behalf (``channel`` says how it came); other staff — or the same — accept or
reject it.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, File, Query, Request, Response, UploadFile, status

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from contracts.observatory.directory import LegalFamily, ProposalStatus
from runtime.api import ONE, READ, WRITE, IfMatch, Limit, Offset, PlatformDep, body_limit, errors, expected, \
    router, tagged, today
from runtime.auth import READER, Principal, allow, staff
from runtime.errors import InvalidInput, NotFound
from runtime.mongo import from_document
from services.observatory.adapters.directory import IMPORTS, PROPOSALS, entries_on, territory_counts
from services.observatory.domain.directory import (DirectoryImport, DirectoryProposal, Entry, Filters, facets,
                                                   live, select, sort_key, year_counts)
from services.observatory.entrypoints.directory_schemas import (AcceptIn, CountsView, DirectoryPage, ImportView,
                                                                ProposalIn, ProposalView, RejectIn, TerritoriesView)
from services.observatory.service_layer.directory import DirectoryService

TEAM = "observatory"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
Reader = Annotated[Principal, Depends(allow(staff(TEAM), READER))]
Writer = Annotated[Principal, Depends(allow(staff(TEAM)))]


def _service(platform: PlatformDep) -> DirectoryService:
    return platform.commands.directory


Service = Annotated[DirectoryService, Depends(_service)]
directory = router("/directory", tags=["directory"])

AsOf = Annotated[date | None, Query(description="The directory as it stood on this date (YYYY-MM-DD; default today).")]
Sector = Annotated[str | None, Query(max_length=100, description="A sector (as worded, or a procurement code).")]
Family = Annotated[LegalFamily | None, Query(description="association, cooperative, mutual, foundation, ess_company.")]
Dep = Annotated[str | None, Query(max_length=3, pattern=r"^(\d{2,3}|2[AB])$", description="Département code.")]
Commune = Annotated[str | None, Query(max_length=5, pattern=r"^(\d{5}|2[AB]\d{3})$", description="INSEE code.")]
Epci = Annotated[str | None, Query(max_length=20, description="EPCI SIREN or EPT code (reference.geo).")]
Member = Annotated[bool | None, Query(description="Members in good standing on the date (true) or not (false).")]
Q = Annotated[str | None, Query(max_length=200, description="Words of the name or commune, or a SIRET/SIREN.")]


def _filters(sector, legal_family, departement, commune, epci, member, q) -> Filters:
    return Filters(sector=sector, legal_family=legal_family, departement=departement, commune=commune, epci=epci,
                   member=member, q=q)


@directory.get("", response_model=DirectoryPage, dependencies=[], responses=READ,
               summary="The directory of ESS structures (members or not) as of a date: filters, paging, facet "
                       "counts per legal family, sector and département")
async def list_entries(platform: PlatformDep, _: Reader, limit: Limit = 50, offset: Offset = 0, as_of: AsOf = None,
                       sector: Sector = None, legal_family: Family = None, departement: Dep = None,
                       commune: Commune = None, epci: Epci = None, member: Member = None, q: Q = None
                       ) -> DirectoryPage:
    on = as_of or today()
    entries = live(await entries_on(platform.db, on))
    filters = _filters(sector, legal_family, departement, commune, epci, member, q)
    chosen = sorted(select(entries, filters), key=sort_key)
    return DirectoryPage(items=chosen[offset:offset + limit], total=len(chosen), limit=limit, offset=offset,
                         as_of=on, facets=facets(entries, filters))


@directory.get("/counts", response_model=CountsView, responses=READ,
               summary="Structures at year end (December 31, or the as_of date if earlier) and added this year, "
                       "per legal family and département")
async def counts(platform: PlatformDep, _: Reader,
                 year: Annotated[int, Query(ge=EARLIEST_YEAR, le=LATEST_YEAR, description="The year.")],
                 as_of: AsOf = None) -> CountsView:
    on = min(date(year, 12, 31), as_of or today())
    if on < date(year, 1, 1):
        raise InvalidInput("query.as_of", f"as_of {on} is before the year {year}")
    return CountsView(year=year, on=on, **year_counts(await entries_on(platform.db, on), year, on))


@directory.get("/territories", response_model=TerritoriesView, responses=READ,
               summary="The map's data: structures and members per département or commune of the region, as of "
                       "a date, with where to draw them")
async def territories(platform: PlatformDep, _: Reader,
                      level: Annotated[str, Query(pattern=r"^(departement|commune)$",
                                                  description="departement or commune.")] = "departement",
                      as_of: AsOf = None, sector: Sector = None, legal_family: Family = None, departement: Dep = None,
                      member: Member = None) -> TerritoriesView:
    on = as_of or today()
    found = await territory_counts(platform.db, on, level, sector=sector, legal_family=legal_family,
                                   departement=departement, member=member)
    return TerritoriesView(level=level, as_of=on, territories=found)


# -- imports ----------------------------------------------------------------------------------------
def _import_view(record: DirectoryImport) -> ImportView:
    return ImportView(**record.model_dump(exclude={"version", "imported_at"}))


@directory.post(
    "/imports", status_code=status.HTTP_201_CREATED, response_model=ImportView,
    responses=errors(401, 403, 413, 422, c413=f"The file is over {MAX_UPLOAD_BYTES:,} bytes (use the CLI: "
                                              "python -m services.observatory.directory_cli import FILE)",
                     c422="The file cannot be imported (field `file`: empty, not UTF-8/Windows-1252 text, no header "
                          "with name, legal family and commune, no data line), or `source`/`on` is wrong"),
    summary="Import a CSV file of structures (multipart `file`, or the body as text/csv): good lines stored, "
            "bad ones in the line report; importing the same file again changes nothing")
@body_limit(MAX_UPLOAD_BYTES)
async def upload(request: Request, response: Response, svc: Service, principal: Writer,
                 source: Annotated[str, Query(min_length=1, max_length=100,
                                              description="Where the file comes from (e.g. `Carteco 2024`); a "
                                                          "`source` column overrides it line by line.")],
                 on: Annotated[date | None, Query(description="The business date the structures became known "
                                                              "(default today).")] = None,
                 file: Annotated[UploadFile | None, File(description="The CSV file (; or , separated; UTF-8 with or "
                                                                     "without BOM, or Windows-1252) with a header "
                                                                     "row: nom;siret;famille;secteur;commune;"
                                                                     "departement;site;source")] = None
                 ) -> ImportView:
    if file is not None:
        content, name = await file.read(), file.filename
    elif request.headers.get("content-type", "").split(";")[0].strip() in ("text/csv", "text/plain"):
        content, name = await request.body(), None
    else:
        raise InvalidInput("file", "send the CSV as multipart/form-data (part `file`) or as the body with "
                                   "Content-Type: text/csv")
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInput("file", f"the file is over {MAX_UPLOAD_BYTES:,} bytes")
    record = await svc.import_csv(content, source=source, file_name=name, on=on)
    response.headers["Location"] = f"/directory/imports/{record.id}"
    return _import_view(record)


@directory.get("/imports/{import_id}", response_model=ImportView, responses=ONE,
               summary="One import: its counts and its line report of bad rows")
async def get_import(import_id: str, platform: PlatformDep, _: Reader) -> ImportView:
    return _import_view(await platform.db.get(IMPORTS, DirectoryImport, import_id))


# -- moderation -------------------------------------------------------------------------------------
def _proposal(p: DirectoryProposal, response: Response | None = None) -> ProposalView:
    if response is not None:
        tagged(response, p)
    return ProposalView(**p.model_dump(mode="json", exclude={"submitted_by", "proposed_at", "decided_at"}))


@directory.get("/proposals", response_model=list[ProposalView], responses=READ,
               summary="Proposed changes, oldest first (status=pending: those waiting for moderation)")
async def proposals(platform: PlatformDep, _: Reader, limit: Limit = 50, offset: Offset = 0,
                    status_: Annotated[ProposalStatus | None, Query(alias="status")] = None,
                    entry_id: Annotated[str | None, Query(max_length=100)] = None) -> list[ProposalView]:
    query: dict = {}
    if status_:
        query["status"] = status_.value
    if entry_id:
        query["entry_id"] = entry_id
    docs = await platform.db[PROPOSALS].find(query).sort([("proposed_at", 1), ("_id", 1)]).skip(offset) \
        .limit(limit).to_list()
    return [_proposal(from_document(DirectoryProposal, d)) for d in docs]


@directory.post("/{entry_id}/proposals", status_code=status.HTTP_201_CREATED, response_model=ProposalView,
                responses=errors(401, 403, 404, 422),
                summary="Propose a change to an entry on the organisation's behalf (staff enter what it sent)")
async def propose(entry_id: str, body: ProposalIn, response: Response, svc: Service,
                  principal: Writer) -> ProposalView:
    proposal = await svc.propose(entry_id, changes=body.changes, channel=body.channel, note=body.note,
                                 submitted_by=principal.subject)
    tagged(response, proposal, f"/directory/proposals/{proposal.id}")
    return _proposal(proposal)


@directory.get("/proposals/{proposal_id}", response_model=ProposalView, responses=ONE,
               summary="One proposal, with its history")
async def get_proposal(proposal_id: str, platform: PlatformDep, response: Response, _: Reader) -> ProposalView:
    return _proposal(await platform.db.get(PROPOSALS, DirectoryProposal, proposal_id), response)


@directory.post("/proposals/{proposal_id}/acceptance", response_model=ProposalView, responses=WRITE,
                summary="Accept a proposed change: its values apply to the entry from today, over the source data")
async def accept(proposal_id: str, body: AcceptIn, response: Response, svc: Service, principal: Writer,
                 if_match: IfMatch = None) -> ProposalView:
    return _proposal(await svc.accept(proposal_id, note=body.note, by=principal.subject,
                                      expected_version=expected(if_match)), response)


@directory.post("/proposals/{proposal_id}/rejection", response_model=ProposalView, responses=WRITE,
                summary="Reject a proposed change, with the reason")
async def reject(proposal_id: str, body: RejectIn, response: Response, svc: Service, principal: Writer,
                 if_match: IfMatch = None) -> ProposalView:
    return _proposal(await svc.reject(proposal_id, reason=body.reason, by=principal.subject,
                                      expected_version=expected(if_match)), response)


# -- one entry (last: its path would shadow the others) ---------------------------------------------
@directory.get("/{entry_id}", response_model=Entry, responses=ONE,
               summary="One entry of the directory as of a date (an imported structure merged into an "
                       "organisation answers with the organisation's entry)")
async def get_entry(entry_id: str, platform: PlatformDep, _: Reader, as_of: AsOf = None) -> Entry:
    on = as_of or today()
    for entry in await entries_on(platform.db, on):
        if entry.id == entry_id or entry_id in entry.structure_ids:
            return entry
    raise NotFound(f"no directory entry {entry_id!r} on {on}", resource="entry", id=entry_id)


ROUTERS = (directory,)
