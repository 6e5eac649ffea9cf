"""The register import's service: each line of the file in its own transaction (the aggregates
it changes and their events, marked imported, commit together), bad lines reported, the rest
going on. Importing the same file again changes nothing (organisations by SIRET, members by
organisation, invoices by year, payments by payment id)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from runtime.aggregate import new_id
from runtime.errors import DomainError, NotFound
from runtime.mongo import Transaction, from_document
from services.membership.adapters.repository import MEMBERS, ORGANISATIONS
from services.membership.domain import Member, Organisation
from services.membership.domain import register as reg

MAX_FAULTS = 1_000


async def import_register(svc: Any, content: bytes, *,
                          progress: Callable[[dict[str, int]], None] | None = None) -> dict[str, Any]:
    """Import a register file (see :mod:`services.membership.domain.register`); returns the
    counts and the line report (``faults``: line, field, message; the first ``MAX_FAULTS``)."""
    lines, faults = reg.read_register(content)
    counts = {"lines": len(lines) + len(faults), "organisations": 0, "members": 0, "invoices": 0, "payments": 0,
              "unchanged": 0, "rejected": len(faults), "done": len(faults)}

    async def organisation_of(tx: Transaction, siret: str) -> Organisation:
        doc = await tx.collection(ORGANISATIONS).find_one({"siret": siret}, session=tx.session)
        if doc is None:
            raise NotFound(f"no organisation with SIRET {siret} (its organisation line is missing or bad)",
                           field="siret")
        return from_document(Organisation, doc)

    async def apply(tx: Transaction, line: reg.RegisterLine) -> list[str]:
        done: list[str] = []
        if line.kind == "organisation":
            profile, registered_on = reg.organisation_profile(line)
            since = line.day("member_since", required=False)
            doc = await tx.collection(ORGANISATIONS).find_one({"siret": profile["siret"]}, session=tx.session)
            if doc is None:
                org = Organisation.register(new_id("org"), on=registered_on, **profile)
                reg.mark_imported(org)
                await tx.save(ORGANISATIONS, org)
                done.append("organisations")
            else:
                org = from_document(Organisation, doc)
            if since is not None and await tx.find(MEMBERS, Member, org.id) is None:
                await tx.save(MEMBERS, reg.import_member(org, since=since))
                done.append("members")
            return done
        org = await organisation_of(tx, line.siret)
        member = await tx.find(MEMBERS, Member, org.id)
        if member is None:
            raise NotFound(f"organisation {line.siret} is not a member (give member_since on its line)",
                           field="member_since")
        changed = (reg.import_invoice(member, line, svc.terms) is not None if line.kind == "invoice"
                   else reg.import_payment(member, line))
        if changed:
            await tx.save(MEMBERS, member)
            done.append("invoices" if line.kind == "invoice" else "payments")
        return done

    for line in reg.ordered(lines):
        try:
            done = await svc.db.transaction(lambda tx, line=line: apply(tx, line))
        except DomainError as exc:
            counts["rejected"] += 1
            faults.append({"line": line.line, "field": exc.extra.get("field") or line.kind, "message": exc.detail})
        else:
            for what in done:
                counts[what] += 1
            if not done:
                counts["unchanged"] += 1
        counts["done"] += 1
        if progress is not None:
            progress(counts)
    faults.sort(key=lambda f: f["line"])
    return {"counts": counts, "faults": faults[:MAX_FAULTS], "faults_truncated": len(faults) > MAX_FAULTS,
            "imported_on": date.today().isoformat()}
