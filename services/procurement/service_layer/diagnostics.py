"""Purchase diagnostics: open one for a buyer, import spend files into it, compute its report.

An import, from the API's upload or the CLI (``python -m services.procurement.diagnostics_cli``),
runs the same code:

1. :meth:`DiagnosticsService.start_import` reads the whole file (:mod:`~services.procurement.
   adapters.spend_files`: format, encoding, separator, header, data lines — a file that cannot be
   imported is refused here, 422 naming ``file``), then, in one transaction, records the import
   on the diagnostic (``SpendImportStarted``; the same file twice is a 409) and writes its
   progress document (state ``running``). It returns at once; an asyncio task of this process
   does the rest.
2. The task checks the lines chunk by chunk (in a worker thread: the event loop keeps serving),
   stores the good lines and the faults of the bad ones in bulk (``insert_many`` of chunk
   documents, unordered, idempotent ids), and writes its progress and a heartbeat.
3. Completion is one small transaction: the diagnostic records ``SpendFileImported`` and
   ``DiagnosticReportComputed``, the import's state becomes ``completed``, the report is
   replaced. Before it, no line of the import counts anywhere; after it, all of them do.
   The report is computed just before, from the completed imports plus this one; if another
   import completed meanwhile (the diagnostic's version moved) it is computed again.
4. Anything failing midway fails the import (``SpendImportFailed``) and purges its staged lines.
   A process that dies midway leaves its import ``running`` without heartbeat: the
   ``diagnostic-imports-reaper`` job, and the next import into the same diagnostic, fail it
   after ``diagnostic_stale_import_seconds`` (never an import of this process: several processes
   may serve the service).

Re-importing a file (same SHA-256) that completed or is running into the same diagnostic is
refused with 409 naming that import (its spend would count twice); after a failure it is
allowed.
"""
from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import BulkWriteError

from runtime.aggregate import check_version, new_id
from runtime.errors import ConcurrencyConflict, Conflict, InvalidInput, NotFound
from runtime.mongo import Database, Transaction, stored_instant, utcnow
from services.procurement.adapters import diagnostics as store
from services.procurement.adapters.diagnostics import DIAGNOSTICS, IMPORTS, REJECTIONS, REPORTS, SPEND
from services.procurement.adapters.spend_files import SpendFile, read_spend_file
from services.procurement.domain.diagnostic_report import DiagnosticReport, build_report
from services.procurement.domain.diagnostics import Diagnostic, ImportFigures, ImportState, ReportSummary
from services.procurement.domain.spend import Fault, SpendLine, parse_lines

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
CHUNKS_PER_WRITE = 5  # chunks checked, then stored in one insert_many
MAX_FILE_NAME = 200

Progress = Callable[[dict[str, Any]], None]  # called with the import's progress document after each write


class DiagnosticsService:
    """Purchase diagnostics, bound to the database."""

    def __init__(self, db: Database, *, max_lines: int = 100_000, chunk_lines: int = 1000,
                 stale_after: float = 60.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.max_lines = max_lines
        self.chunk_lines = chunk_lines
        self.stale_after = timedelta(seconds=stale_after)
        self.clock = clock
        self.process_id = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.running: dict[str, asyncio.Task] = {}  # this process's imports in progress

    # -- the diagnostic ---------------------------------------------------------------------------------
    async def open_diagnostic(self, buyer_id: str, *, within: Transaction | None = None) -> Diagnostic:
        """Open a diagnostic for a known buyer (422 naming ``buyer_id`` otherwise)."""
        if not isinstance(buyer_id, str) or not buyer_id.strip() or len(buyer_id) > 100:
            raise InvalidInput("buyer_id", "buyer_id is required (the id of a buyer, e.g. buy-81d2e0)")

        async def work(tx: Transaction) -> Diagnostic:
            found = await tx.db[store.BUYERS].find_one({"_id": buyer_id}, {"_id": 1}, session=tx.session)
            if found is None:
                raise InvalidInput("buyer_id", f"no buyer {buyer_id!r} is known to procurement")
            diagnostic = Diagnostic.open(new_id("diag"), buyer_id=buyer_id, at=self.clock())
            await tx.save(DIAGNOSTICS, diagnostic)
            return diagnostic
        return await self.db.transaction(work, within=within)

    async def close_diagnostic(self, diagnostic_id: str, *, expected_version: int | None = None,
                               within: Transaction | None = None) -> Diagnostic:
        async def work(tx: Transaction) -> Diagnostic:
            diagnostic = await tx.get(DIAGNOSTICS, Diagnostic, diagnostic_id)
            check_version(diagnostic, expected_version)
            diagnostic.close(at=self.clock())
            await tx.save(DIAGNOSTICS, diagnostic)
            return diagnostic
        return await self.db.transaction(work, within=within)

    # -- imports -------------------------------------------------------------------------------------------
    async def start_import(self, diagnostic_id: str, content: bytes, *, file_name: str | None = None,
                           progress: Progress | None = None, max_lines: int | None = None) -> dict[str, Any]:
        """Accept a spend file for import and start importing it in the background; returns the
        import's progress document (see the module's docstring). ``await wait(import_id)`` waits
        for the end."""
        await self.db.get(DIAGNOSTICS, Diagnostic, diagnostic_id)  # 404 before reading a large file
        spend_file = await asyncio.to_thread(read_spend_file, content, max_lines=max_lines or self.max_lines)
        await self.reap_stale_imports(diagnostic_id)
        import_id = new_id("imp")
        name = (file_name or "").strip()[:MAX_FILE_NAME] or None

        async def work(tx: Transaction) -> dict[str, Any]:
            now = self.clock()
            diagnostic = await tx.get(DIAGNOSTICS, Diagnostic, diagnostic_id)
            diagnostic.start_import(import_id, file_sha256=spend_file.sha256, file_format=spend_file.format,
                                    lines=len(spend_file.rows), at=now)
            await tx.save(DIAGNOSTICS, diagnostic)
            doc = {"_id": import_id, "diagnostic_id": diagnostic_id, "file_name": name,
                   "file_sha256": spend_file.sha256, "file_format": spend_file.format, "file_size": spend_file.size,
                   "encoding": spend_file.encoding, "separator": spend_file.separator, "sheet": spend_file.sheet,
                   "columns": {f.value: h for f, h in spend_file.columns.headers.items()},
                   "state": ImportState.RUNNING.value, "lines_total": len(spend_file.rows), "lines_read": 0,
                   "lines_imported": 0, "lines_rejected": 0, "total_spend_cents": 0, "years": [],
                   "started_at": stored_instant(now), "heartbeat_at": stored_instant(now), "finished_at": None,
                   "error": None, "process_id": self.process_id}
            await tx.db[IMPORTS].insert_one(doc, session=tx.session)
            return doc

        doc = await self.db.transaction(work)
        task = asyncio.create_task(self._run(import_id, diagnostic_id, spend_file, progress),
                                   name=f"spend-import-{import_id}")
        self.running[import_id] = task
        task.add_done_callback(lambda _: self.running.pop(import_id, None))
        return doc

    async def wait(self, import_id: str) -> dict[str, Any]:
        """Wait for this process's import to end; its progress document."""
        task = self.running.get(import_id)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        return await self.import_progress(import_id)

    async def wait_for_imports(self) -> None:
        while self.running:
            await asyncio.gather(*list(self.running.values()), return_exceptions=True)

    async def import_progress(self, import_id: str, diagnostic_id: str | None = None) -> dict[str, Any]:
        query: dict[str, Any] = {"_id": import_id}
        if diagnostic_id is not None:
            query["diagnostic_id"] = diagnostic_id
        doc = await self.db[IMPORTS].find_one(query)
        if doc is None:
            raise NotFound(f"import {import_id!r} not found" + (f" in diagnostic {diagnostic_id}" if diagnostic_id
                                                                else ""), resource="import", id=import_id)
        return doc

    async def _run(self, import_id: str, diagnostic_id: str, spend_file: SpendFile, progress: Progress | None) -> None:
        beating = asyncio.create_task(self._heartbeat(import_id))
        try:
            figures = await self._stage(import_id, diagnostic_id, spend_file, progress)
        except Exception as exc:  # noqa: BLE001 — whatever stopped it, the import fails and nothing of it counts
            beating.cancel()
            log.warning("import %s of diagnostic %s failed: %r", import_id, diagnostic_id, exc)
            reason = exc.detail if isinstance(exc, Conflict) else type(exc).__name__  # never a line of the file
            await self._fail_quietly(import_id, diagnostic_id, f"the import stopped: {reason}")
            return
        beating.cancel()
        try:
            await self._complete(import_id, diagnostic_id, figures)
        except Conflict as exc:  # failed by a reaper meanwhile, or the diagnostic changed state
            log.warning("import %s of diagnostic %s could not complete: %s", import_id, diagnostic_id, exc.detail)
            await self._fail_quietly(import_id, diagnostic_id, f"the import could not complete: {exc.detail}")
        except Exception as exc:  # noqa: BLE001
            log.exception("import %s of diagnostic %s could not complete", import_id, diagnostic_id)
            await self._fail_quietly(import_id, diagnostic_id, f"the import could not complete: {type(exc).__name__}")
        finally:
            if progress is not None:
                try:
                    progress(await self.import_progress(import_id))
                except Exception:  # noqa: BLE001 — a progress display must not fail the import
                    pass

    async def _stage(self, import_id: str, diagnostic_id: str, spend_file: SpendFile,
                     progress: Progress | None) -> ImportFigures:
        """Check every line and store the good ones and the faults, chunk by chunk: while one batch
        of chunks is written, the next one is checked (in a worker thread)."""
        rows, size = spend_file.rows, self.chunk_lines
        read = imported = rejected = total = 0
        years: set[int] = set()
        seq = 0
        step = size * CHUNKS_PER_WRITE
        writing: asyncio.Task | None = None
        try:
            for start in range(0, len(rows), step):
                chunks = await asyncio.to_thread(_check_chunks, rows[start:start + step], spend_file, size)
                spend_docs, fault_docs = [], []
                for good, bad in chunks:
                    if good:
                        spend_docs.append(_spend_doc(import_id, diagnostic_id, seq, good))
                    if bad:
                        fault_docs.append(_fault_doc(import_id, seq, bad))
                    seq += 1
                    read += len(good) + len(bad)
                    imported += len(good)
                    rejected += len(bad)
                    total += sum(line.amount_cents for line in good)
                    years.update(line.on.year for line in good)
                if writing is not None:
                    await writing
                counts = {"lines_read": read, "lines_imported": imported, "lines_rejected": rejected,
                          "total_spend_cents": total, "years": sorted(years)}
                writing = asyncio.create_task(self._write(import_id, spend_docs, fault_docs, counts, progress))
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
        return ImportFigures(lines_read=read, lines_imported=imported, lines_rejected=rejected,
                             total_spend_cents=total, years=sorted(years))

    async def _write(self, import_id: str, spend_docs: list[dict[str, Any]], fault_docs: list[dict[str, Any]],
                     counts: dict[str, Any], progress: Progress | None) -> None:
        await _insert(self.db, SPEND, spend_docs)
        await _insert(self.db, REJECTIONS, fault_docs)
        doc = await self.db[IMPORTS].find_one_and_update(
            {"_id": import_id, "state": ImportState.RUNNING.value},
            {"$set": {**counts, "heartbeat_at": stored_instant(self.clock())}}, return_document=True)
        if doc is None:
            raise Conflict(f"import {import_id} is no longer running (failed by the reaper?)")
        if progress is not None:
            progress(doc)

    async def _heartbeat(self, import_id: str) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.db[IMPORTS].update_one({"_id": import_id, "state": ImportState.RUNNING.value},
                                                  {"$set": {"heartbeat_at": stored_instant(self.clock())}})
            except Exception:  # noqa: BLE001 — a missed beat is tolerated; the reaper waits much longer
                log.warning("heartbeat of import %s failed", import_id)

    async def _complete(self, import_id: str, diagnostic_id: str, figures: ImportFigures) -> None:
        for _ in range(10):
            diagnostic = await self.db.get(DIAGNOSTICS, Diagnostic, diagnostic_id)
            ids = [*diagnostic.completed_import_ids, import_id]
            report = await self._report(diagnostic, ids)
            try:
                await self._commit(diagnostic_id, diagnostic.version, report, import_id=import_id, figures=figures)
                return
            except ConcurrencyConflict:
                continue  # another import completed meanwhile: count it too
        raise Conflict(f"diagnostic {diagnostic_id} kept changing; import {import_id} could not complete")

    async def _commit(self, diagnostic_id: str, version: int, report: DiagnosticReport, *,
                      import_id: str | None = None, figures: ImportFigures | None = None) -> Diagnostic:
        async def work(tx: Transaction) -> Diagnostic:
            now = self.clock()
            diagnostic = await tx.get(DIAGNOSTICS, Diagnostic, diagnostic_id)
            if diagnostic.version != version:
                raise ConcurrencyConflict(f"diagnostic {diagnostic_id} changed while its report was computed")
            if import_id is not None:
                diagnostic.complete_import(import_id, figures, at=now)
                done = await tx.db[IMPORTS].update_one(
                    {"_id": import_id, "state": ImportState.RUNNING.value},
                    {"$set": {"state": ImportState.COMPLETED.value, "finished_at": stored_instant(now),
                              "heartbeat_at": stored_instant(now)}}, session=tx.session)
                if done.matched_count != 1:
                    raise Conflict(f"import {import_id} is no longer running", state="failed")
            totals = report.totals
            diagnostic.record_report(ReportSummary(
                imports=len(report.import_ids), total_spend_cents=totals.total_spend_cents,
                ess_spend_cents=totals.ess_spend_cents, ess_share_percent=totals.ess_share_percent,
                categories=totals.categories, suppliers=totals.suppliers, ess_suppliers=totals.ess_suppliers,
                years=totals.years), at=now)
            await tx.save(DIAGNOSTICS, diagnostic)
            await tx.db[REPORTS].replace_one(
                {"_id": diagnostic_id},
                {"_id": diagnostic_id, **report.model_dump(mode="json"), "computed_at": stored_instant(now),
                 "diagnostic_version": diagnostic.version}, upsert=True, session=tx.session)
            return diagnostic
        return await self.db.transaction(work)

    async def _report(self, diagnostic: Diagnostic, import_ids: list[str]) -> DiagnosticReport:
        buyer = await store.buyer(self.db, diagnostic.buyer_id)
        cells = await store.spend_cells(self.db, import_ids)
        orgs = await store.organisations(self.db)
        profiles = await store.supplier_profiles(self.db)
        ess = store.ess_matches({c.siret for c in cells}, orgs, profiles)
        return await asyncio.to_thread(
            build_report, diagnostic.id, diagnostic.buyer_id, (buyer or {}).get("departement"), import_ids, cells,
            ess, store.profiles_of(profiles, orgs))

    async def compute_report(self, diagnostic_id: str) -> dict[str, Any]:
        """Compute the report again from the completed imports (after membership's or the supplier
        profiles' news); 409 when no import has completed yet."""
        for _ in range(10):
            diagnostic = await self.db.get(DIAGNOSTICS, Diagnostic, diagnostic_id)
            if not diagnostic.completed_import_ids:
                raise Conflict(f"diagnostic {diagnostic_id} has no completed import: nothing to report",
                               state="no_completed_import")
            report = await self._report(diagnostic, diagnostic.completed_import_ids)
            try:
                await self._commit(diagnostic_id, diagnostic.version, report)
                return await self.report(diagnostic_id)
            except ConcurrencyConflict:
                continue
        raise Conflict(f"diagnostic {diagnostic_id} kept changing; try again")

    async def report(self, diagnostic_id: str) -> dict[str, Any]:
        await self.db.get(DIAGNOSTICS, Diagnostic, diagnostic_id)
        doc = await self.db[REPORTS].find_one({"_id": diagnostic_id})
        if doc is None:
            raise NotFound(f"diagnostic {diagnostic_id} has no report yet: no import has completed",
                           resource="report", id=diagnostic_id)
        return doc

    # -- failures ------------------------------------------------------------------------------------------
    async def fail_import(self, import_id: str, diagnostic_id: str, reason: str) -> bool:
        """Record the import as failed (on the diagnostic and its progress document) and purge its
        staged lines; False when it was no longer running."""
        async def work(tx: Transaction) -> bool:
            now = self.clock()
            doc = await tx.db[IMPORTS].find_one({"_id": import_id}, session=tx.session)
            if doc is None or doc["state"] != ImportState.RUNNING.value:
                return False
            diagnostic = await tx.get(DIAGNOSTICS, Diagnostic, diagnostic_id)
            record = diagnostic.import_record(import_id)
            if record is not None and record.state is ImportState.RUNNING:
                diagnostic.fail_import(import_id, reason, lines_read=doc.get("lines_read", 0), at=now)
                await tx.save(DIAGNOSTICS, diagnostic)
            await tx.db[IMPORTS].update_one({"_id": import_id}, {"$set": {
                "state": ImportState.FAILED.value, "finished_at": stored_instant(now), "error": reason[:500]}},
                session=tx.session)
            return True
        failed = await self.db.transaction(work, conflict_retries=10)
        await self.db[SPEND].delete_many({"import_id": import_id})
        return failed

    async def _fail_quietly(self, import_id: str, diagnostic_id: str, reason: str) -> None:
        try:
            await self.fail_import(import_id, diagnostic_id, reason)
        except Exception:  # noqa: BLE001 — the database is gone: the reaper will fail it
            log.exception("import %s could not be recorded as failed", import_id)

    async def reap_stale_imports(self, diagnostic_id: str | None = None) -> int:
        """Fail the imports whose process stopped (no heartbeat for ``stale_after``), except this
        process's own; returns how many. Idempotent (the job and each new import call it)."""
        threshold = stored_instant(self.clock() - self.stale_after)
        query: dict[str, Any] = {"state": ImportState.RUNNING.value, "heartbeat_at": {"$lt": threshold}}
        if diagnostic_id is not None:
            query["diagnostic_id"] = diagnostic_id
        reaped = 0
        async for doc in self.db[IMPORTS].find(query, {"_id": 1, "diagnostic_id": 1, "heartbeat_at": 1}):
            if doc["_id"] in self.running:
                continue
            if await self.fail_import(doc["_id"], doc["diagnostic_id"],
                                      f"abandoned: the process importing it stopped (no heartbeat since "
                                      f"{doc['heartbeat_at']})"):
                reaped += 1
        return reaped


def _check_chunks(rows: list[tuple[int, list[Any]]], spend_file: SpendFile,
                  size: int) -> list[tuple[list[SpendLine], list[list[Fault]]]]:
    """(In a worker thread) the good lines and the faults of each chunk of ``size`` rows."""
    return [parse_lines(rows[i:i + size], spend_file.columns) for i in range(0, len(rows), size)]


def _spend_doc(import_id: str, diagnostic_id: str, seq: int, lines: list[SpendLine]) -> dict[str, Any]:
    labels: dict[str, int] = {}
    return {"_id": f"{import_id}:{seq:06d}", "import_id": import_id, "diagnostic_id": diagnostic_id, "seq": seq,
            "line": [ln.line for ln in lines], "siret": [ln.siret for ln in lines],
            "amount_cents": [ln.amount_cents for ln in lines],
            "category": [labels.setdefault(ln.category, len(labels)) for ln in lines],
            "on": [ln.on.isoformat() for ln in lines], "categories": list(labels)}


def _fault_doc(import_id: str, seq: int, bad: list[list[Fault]]) -> dict[str, Any]:
    return {"_id": f"{import_id}:{seq:06d}", "import_id": import_id, "seq": seq,
            "faults": [{"line": f.line, "column": f.column, "field": f.field.value, "reason": f.reason.value,
                        "message": f.message, "value": f.value} for faults in bad for f in faults]}


async def _insert(db: Database, collection: str, docs: list[dict[str, Any]]) -> None:
    """Insert unordered; documents already there (a retried write: same ids) are fine."""
    if not docs:
        return
    try:
        await db[collection].insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
            raise
