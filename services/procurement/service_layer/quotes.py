"""The commands of Prom'ESS Europe: individual diagnostics and quotes (with the member discount).

Each command is one MongoDB transaction; each takes ``within=``.

The member discount is decided when a quote is **sent**, in the sending's transaction: the
quote's date is the server's date then (Europe/Paris), and
``runtime.members.in_good_standing(tx, organisation, on=that date)`` — this service's copy of
membership's events, as of that date — decides it. The standing found (status, the date it was
checked for, the membership event's time) is kept on the quote and published in ``QuoteSent``.

The organisation must be known from membership's events (``organisations`` projection): an unknown
one is a 422 naming ``organisation_id``.

Expiry: :meth:`QuotesService.expire_due` (the ``expire-quotes`` job) records, once, the expiry of
every sent quote past its ``valid_until``; it may run in several processes at once (each quote
expires in its own transaction; a quote already expired is left alone).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from contracts.procurement.quotes import QuoteStatus
from runtime import members
from runtime.aggregate import check_version, new_id
from runtime.errors import ConcurrencyConflict, InvalidInput
from runtime.mongo import Database, Transaction, utcnow
from services.procurement.adapters.quotes import INDIVIDUAL_DIAGNOSTICS, QUOTES
from services.procurement.domain.buyers import local_day
from services.procurement.domain.quotes import IndividualDiagnostic, Quote


class QuotesService:
    """Quotes and individual diagnostics, bound to the database and the quote settings."""

    def __init__(self, db: Database, *, vat_rate_bp: int, validity_days: int,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.vat_rate_bp = vat_rate_bp
        self.validity_days = validity_days
        self.clock = clock

    def today(self) -> date:
        return local_day(self.clock())

    @staticmethod
    async def _known(tx: Transaction, organisation_id: Any) -> str:
        if not isinstance(organisation_id, str) or not organisation_id.strip():
            raise InvalidInput("organisation_id", "organisation_id is required")
        if await members.organisation(tx, organisation_id) is None:
            raise InvalidInput("organisation_id", f"organisation {organisation_id!r} is unknown to procurement "
                                                  f"(no membership event named it)")
        return organisation_id

    # -- quotes -----------------------------------------------------------------------------------------
    async def draft(self, *, organisation_id: Any, offer: Any, amount_cents: Any, description: Any = None,
                    within: Transaction | None = None) -> Quote:
        async def work(tx: Transaction) -> Quote:
            org = await self._known(tx, organisation_id)
            quote = Quote.draft(new_id("quo"), organisation_id=org, offer=offer, amount_cents=amount_cents,
                                description=description, at=self.clock())
            await tx.save(QUOTES, quote)
            return quote
        return await self.db.transaction(work, within=within)

    async def _step(self, quote_id: str, expected_version: int | None, step, within: Transaction | None) -> Quote:
        async def work(tx: Transaction) -> Quote:
            quote = await tx.get(QUOTES, Quote, quote_id)
            check_version(quote, expected_version)
            await step(tx, quote, self.clock())
            if quote.pending_events:
                await tx.save(QUOTES, quote)
            return quote
        return await self.db.transaction(work, within=within)

    async def revise(self, quote_id: str, changes: dict[str, Any], *, expected_version: int | None = None,
                     within: Transaction | None = None) -> Quote:
        async def step(tx: Transaction, quote: Quote, now: datetime) -> None:
            quote.revise(at=now, **changes)
        return await self._step(quote_id, expected_version, step, within)

    async def send(self, quote_id: str, *, expected_version: int | None = None,
                   within: Transaction | None = None) -> Quote:
        """Send the quote: dated today (server), priced with the member discount when the
        organisation is a member in good standing today."""
        async def step(tx: Transaction, quote: Quote, now: datetime) -> None:
            quoted_on = local_day(now)
            good = await members.in_good_standing(tx, quote.organisation_id, on=quoted_on)
            doc = await tx.db[members.STANDING].find_one({"_id": quote.organisation_id}, session=tx.session)
            entry = members.standing_on(doc, quoted_on)
            quote.send(at=now, in_good_standing=good, member_status=entry["status"] if entry else None,
                       status_as_of=entry["at"] if entry else None, vat_rate_bp=self.vat_rate_bp,
                       validity_days=self.validity_days)
        return await self._step(quote_id, expected_version, step, within)

    async def accept(self, quote_id: str, *, expected_version: int | None = None,
                     within: Transaction | None = None) -> Quote:
        async def step(tx: Transaction, quote: Quote, now: datetime) -> None:
            quote.accept(at=now)
        return await self._step(quote_id, expected_version, step, within)

    async def decline(self, quote_id: str, *, reason: Any = None, expected_version: int | None = None,
                      within: Transaction | None = None) -> Quote:
        async def step(tx: Transaction, quote: Quote, now: datetime) -> None:
            quote.decline(at=now, reason=reason)
        return await self._step(quote_id, expected_version, step, within)

    async def expire_due(self) -> int:
        """Record the expiry of every sent quote past its validity; return how many expired now."""
        today = self.today()
        due = await self.db[QUOTES].find({"status": QuoteStatus.SENT.value,
                                          "valid_until": {"$lt": today.isoformat()}}, {"_id": 1}).to_list()
        expired = 0
        for doc in due:
            async def work(tx: Transaction, quote_id: str = doc["_id"]) -> bool:
                quote = await tx.get(QUOTES, Quote, quote_id)
                if not quote.expire(at=self.clock()):
                    return False
                await tx.save(QUOTES, quote)
                return True
            try:
                expired += await self.db.transaction(work)
            except ConcurrencyConflict:
                continue  # accepted, declined or expired meanwhile (another process's job): its state stands
        return expired

    # -- individual diagnostics ---------------------------------------------------------------------------
    async def hold_diagnostic(self, *, organisation_id: Any, held_on: date | None = None, outcome_notes: Any = None,
                              within: Transaction | None = None) -> IndividualDiagnostic:
        async def work(tx: Transaction) -> IndividualDiagnostic:
            now = self.clock()
            org = await self._known(tx, organisation_id)
            diagnostic = IndividualDiagnostic.hold(new_id("idg"), organisation_id=org,
                                                   held_on=local_day(now) if held_on is None else held_on,
                                                   outcome_notes=outcome_notes, at=now)
            await tx.save(INDIVIDUAL_DIAGNOSTICS, diagnostic)
            return diagnostic
        return await self.db.transaction(work, within=within)
