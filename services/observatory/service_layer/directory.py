"""The directory's commands: import a CSV file of structures, propose a change to an entry on an
organisation's behalf, accept or reject it.

Each step is one MongoDB transaction with its events in the outbox; an import is written in
chunks (one transaction per :attr:`DirectoryService.chunk` lines, then one for the import's
record and its ``directory-import-completed`` event). An import that stops half-way leaves the
chunks written; importing the file again completes it and changes nothing more (structures are
keyed by SIRET, or by source + name + commune: :func:`~services.observatory.domain.directory.structure_id_of`).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from runtime.aggregate import check_version, new_id
from runtime.errors import InvalidInput, NotFound
from runtime.mongo import Database, Transaction, utcnow
from runtime.rules import text
from services.observatory.adapters.directory import IMPORTS, PROPOSALS, STRUCTURES, entry_exists
from services.observatory.domain.directory import (DirectoryImport, DirectoryProposal, DirectoryStructure,
                                                   local_day, structure_id_of)
from services.observatory.domain.directory_csv import RowFault, StructureRow, check_row, read_csv

Progress = Callable[[dict[str, int]], None]


class DirectoryService:
    """Imports and moderation, bound to the database and the clock."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow, *, max_lines: int = 100_000,
                 chunk: int = 500) -> None:
        self.db = db
        self.clock = clock
        self.max_lines = max_lines
        self.chunk = chunk

    # -- imports ------------------------------------------------------------------------------------
    async def import_csv(self, content: bytes, *, source: object, file_name: str | None = None,
                         on: date | None = None, progress: Progress | None = None) -> DirectoryImport:
        """Import a CSV file's structures: good lines stored, bad lines reported (line, field, what is
        wrong). ``on`` — the business date the structures became known (default today)."""
        at = self.clock()
        today = local_day(at)
        name = text(source, "source", max_length=100)
        if on is not None and (isinstance(on, datetime) or not isinstance(on, date)):
            raise InvalidInput("on", f"on must be a date (got {on!r})")
        day = on or today
        csv_file = read_csv(content, max_lines=self.max_lines)
        faults: list[RowFault] = []
        good: list[StructureRow] = []
        seen: dict[str, int] = {}
        for line, cells in csv_file.rows:
            checked = check_row(line, cells, csv_file.columns, default_source=name)
            if isinstance(checked, list):
                faults += checked
            elif checked.key in seen:
                what = f"SIRET {checked.siret}" if checked.siret else "the same name in the same commune"
                faults.append(RowFault(line, "siret" if checked.siret else "name",
                                       f"{what} is on line {seen[checked.key]} already", checked.siret or checked.name))
            else:
                seen[checked.key] = line
                good.append(checked)
        rejected_lines = len({f.line for f in faults})
        counts = {"lines": len(csv_file.rows), "read": 0, "imported": 0, "updated": 0, "unchanged": 0,
                  "rejected": rejected_lines}
        import_id = new_id("dimp")
        for start in range(0, len(good), self.chunk):
            part = good[start:start + self.chunk]

            async def work(tx: Transaction, part: list[StructureRow] = part) -> dict[str, int]:
                done = {"imported": 0, "updated": 0, "unchanged": 0}
                for row in part:
                    structure = await tx.find(STRUCTURES, DirectoryStructure, structure_id_of(row.key))
                    if structure is None:
                        await tx.save(STRUCTURES, DirectoryStructure.imported(row, import_id=import_id, on=day))
                        done["imported"] += 1
                    elif structure.reimported(row, import_id=import_id, on=day):
                        await tx.save(STRUCTURES, structure)
                        done["updated"] += 1
                    else:
                        done["unchanged"] += 1
                return done
            done = await self.db.transaction(work)
            for k, v in done.items():
                counts[k] += v
            counts["read"] = start + len(part)
            if progress:
                progress({**counts, "good": len(good)})
        report = [{"line": f.line, "field": f.field, "message": f.message, "value": f.value} for f in faults]
        record = DirectoryImport.completed(
            import_id, at=at, on=day, source=name, file_name=file_name, file_sha256=csv_file.sha256,
            encoding=csv_file.encoding, separator=csv_file.separator, lines=counts["lines"],
            imported=counts["imported"], updated=counts["updated"], unchanged=counts["unchanged"],
            rejected=counts["rejected"], ignored_columns=[{"column": c, "why": w} for c, w in csv_file.ignored],
            faults=report[:DirectoryImport.REPORTED], faults_truncated=len(report) > DirectoryImport.REPORTED)

        async def finish(tx: Transaction) -> DirectoryImport:
            await tx.save(IMPORTS, record)
            return record
        return await self.db.transaction(finish)

    # -- moderation ---------------------------------------------------------------------------------
    async def propose(self, entry_id: str, *, changes: object, channel: object = "staff", note: object = None,
                      submitted_by: str | None = None, within: Transaction | None = None) -> DirectoryProposal:
        async def work(tx: Transaction) -> DirectoryProposal:
            organisation_id = await entry_exists(tx, entry_id)
            if organisation_id is None:
                raise NotFound(f"no directory entry {entry_id!r}", resource="entry", id=entry_id)
            proposal = DirectoryProposal.propose(new_id("dprp"), entry_id=entry_id, changes=changes, at=self.clock(),
                                                 channel=channel, note=note, organisation_id=organisation_id or None,
                                                 submitted_by=submitted_by)
            await tx.save(PROPOSALS, proposal)
            return proposal
        return await self.db.transaction(work, within=within)

    async def _decide(self, proposal_id: str, expected_version: int | None, step: Callable[[DirectoryProposal,
                      datetime], None], within: Transaction | None) -> DirectoryProposal:
        async def work(tx: Transaction) -> DirectoryProposal:
            proposal = await tx.get(PROPOSALS, DirectoryProposal, proposal_id)
            check_version(proposal, expected_version)
            step(proposal, self.clock())
            await tx.save(PROPOSALS, proposal)
            return proposal
        return await self.db.transaction(work, within=within)

    async def accept(self, proposal_id: str, *, note: object = None, by: str | None = None,
                     expected_version: int | None = None, within: Transaction | None = None) -> DirectoryProposal:
        return await self._decide(proposal_id, expected_version,
                                  lambda p, at: p.accept(at=at, note=note, by=by), within)

    async def reject(self, proposal_id: str, *, reason: object, by: str | None = None,
                     expected_version: int | None = None, within: Transaction | None = None) -> DirectoryProposal:
        return await self._decide(proposal_id, expected_version,
                                  lambda p, at: p.reject(at=at, reason=reason, by=by), within)


def import_summary(record: DirectoryImport) -> dict[str, Any]:
    return record.model_dump(mode="json")
