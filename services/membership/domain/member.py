"""The Member aggregate: an admitted organisation's membership and its yearly dues.

A member's id is its organisation id. Lifecycle::

    activate ─▶ active ──deadline missed──▶ grace_period ──grace ended, unpaid──▶ lapsed
                  ▲  ▲                          │                                   │
                  │  └──── overdue dues paid ───┘                                   │
                  └────────────── a new invoice paid in full (renewal) ─────────────┘
    withdraw (from any of them) ─▶ withdrawn
    withdrawn | lapsed ──admitted again (new application)──▶ active: a new membership period

Membership periods (``Member.periods``, :class:`MembershipPeriod`): the first starts at
activation; a withdrawal or lapse ends it (a lapsed member renewing by payment goes on in the
same period); a withdrawn or lapsed organisation admitted again through a new application starts
the next one (:meth:`Member.start_period`, ``MemberActivated`` with ``period`` n+1) on the same
member — the member id stays the organisation id, which other services key on. Each invoice
belongs to the period it was issued in: deadlines and good standing judge a period by its own
invoices; dues left unpaid by an earlier period stay owed but do not hold the new one back. A
year whose dues were paid in an earlier period is not invoiced again.

Dues: one live invoice per calendar year, its amount taken from the fee scale when issued,
its deadline and grace end from the dues terms. Payments may be partial; a payment above the
balance is rejected. Reminders go only to invoices with a balance. When the membership
lapses, its unpaid invoices are written off; the organisation renews by paying a new
invoice (of the current year, even the lapsed one's year).

Status history: every status change is appended to ``Member.status_history`` as a
:class:`StatusChange` (``status``, ``since``): ``active`` on activation, ``grace_period`` on
entering the grace period, ``lapsed`` on lapse, ``active`` again when overdue dues are paid or
a lapsed member renews, ``withdrawn`` on withdrawal. The status in force on a date is that of
the last change with ``since <= on`` (none before the membership started). Documents stored
before the history existed have an empty list; for them it is derived from ``since``, the
current ``status`` and the ``grace_entered_on`` / ``lapsed_on`` / ``withdrawn_on`` dates
(:meth:`Member.status_changes`), and that derived history seeds the list at the next change.

Good standing (:meth:`Member.in_good_standing`) — what other services ask ("is this a member
entitled to the members' discount today?", "who was a member in good standing on 31 Dec
2023?"), for any date ``on``, past or present:

- the status in force on ``on`` (:meth:`Member.status_on`) is ``active`` or
  ``grace_period`` — so never before ``since``, never while lapsed or once withdrawn;
- and no invoice had, on ``on``, a balance past its grace end: for every invoice with
  ``grace_ends_on < on``, the payments made on or before ``on`` covered its amount. An
  invoice written off after ``on`` counts by its payments as of ``on``; one written off on
  or before ``on`` is ignored (the member had lapsed then, which the status says).

So a member whose dues are late but within the grace period *is* in good standing; one past
grace is not, even before the scheduler has recorded the lapse, until the day it pays; a
member that lapsed or withdrew later was in good standing before.
"""
from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, Field

from contracts.base import DomainEvent
from contracts.membership import (DuesInvoiced, DuesPaymentRecorded, DuesReminderSent, MemberActivated,
                                  MembershipEnteredGracePeriod, MembershipLapsed, MembershipRenewed,
                                  MembershipWithdrawn, MemberStatus, PaymentMethod, WithdrawalReason)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput, NotFound

from . import _rules
from .application import ApplicationStatus, MembershipApplication
from .fee_scale import DEFAULT_DUES_TERMS, DuesTerms, FeeBracket, FeeScale
from .organisation import Organisation


class DuesPayment(BaseModel):
    payment_id: str
    amount_cents: int = Field(gt=0)
    method: PaymentMethod
    paid_on: date


class DuesInvoice(BaseModel):
    """A year's dues. ``written_off_on`` is set when the membership lapsed with it unpaid."""

    invoice_id: str
    year: int
    period: int = Field(default=1, ge=1, description="The membership period the invoice was issued in.")
    amount_cents: int = Field(ge=0)
    fee_bracket: str
    issued_on: date
    due_on: date
    grace_ends_on: date
    payments: list[DuesPayment] = Field(default_factory=list)
    reminders_sent: int = Field(default=0, ge=0)
    last_reminder_on: date | None = None
    written_off_on: date | None = None

    @property
    def paid_cents(self) -> int:
        return sum(p.amount_cents for p in self.payments)

    @property
    def balance_cents(self) -> int:
        """What remains due (0 once paid or written off)."""
        return 0 if self.written_off_on else self.amount_cents - self.paid_cents

    @property
    def is_paid(self) -> bool:
        return self.written_off_on is None and self.paid_cents >= self.amount_cents

    @property
    def is_open(self) -> bool:
        """Still expecting money: not paid and not written off."""
        return self.balance_cents > 0

    def is_overdue(self, on: date) -> bool:
        return self.is_open and on > self.due_on

    def is_beyond_grace(self, on: date) -> bool:
        return self.is_open and on > self.grace_ends_on

    def paid_cents_on(self, on: date) -> int:
        """What had been paid by the end of ``on``."""
        return sum(p.amount_cents for p in self.payments if p.paid_on <= on)

    def was_beyond_grace(self, on: date) -> bool:
        """Whether, as of ``on``, the invoice had a balance past its grace end: the grace had
        ended (``grace_ends_on < on``), it was not yet written off (``written_off_on`` after
        ``on`` or never) and the payments made by ``on`` did not cover it. For ``on`` on or
        after every recorded date this is :meth:`is_beyond_grace`."""
        if on <= self.grace_ends_on:
            return False
        if self.written_off_on is not None and self.written_off_on <= on:
            return False
        return self.paid_cents_on(on) < self.amount_cents


class StatusChange(BaseModel):
    """The member's status became ``status`` on ``since``."""

    status: MemberStatus
    since: date


class MembershipPeriod(BaseModel):
    """One membership of the organisation: from an admission to its withdrawal or lapse.

    ``end_reason`` is the withdrawal reason's code, or ``lapsed``; a lapsed member that renews
    by paying goes on in the same period (its end is cleared: the lapse stays in the status
    history)."""

    number: int = Field(ge=1)
    application_id: str
    start_on: date
    end_on: date | None = None
    end_reason: str | None = None


class Member(Aggregate):
    """A member organisation. ``id`` is the organisation id. ``status_history`` lists every
    status change in the order recorded (empty for documents stored before it existed)."""

    application_id: str
    since: date
    status: MemberStatus = MemberStatus.ACTIVE
    status_history: list[StatusChange] = Field(default_factory=list)
    periods: list[MembershipPeriod] = Field(
        default_factory=list, description="The membership periods, first one first (empty for documents stored "
                                          "before periods existed: see membership_periods()).")
    invoices: list[DuesInvoice] = Field(default_factory=list)
    grace_entered_on: date | None = None
    lapsed_on: date | None = None
    withdrawn_on: date | None = None
    withdrawal_reason: WithdrawalReason | None = None
    withdrawal_detail: str | None = None

    # -- factory -------------------------------------------------------------------------
    @classmethod
    def activate(cls, *, application: MembershipApplication, organisation: Organisation, fee_scale: FeeScale,
                 terms: DuesTerms = DEFAULT_DUES_TERMS, on: date) -> Member:
        """Make an admitted applicant a member → ``MemberActivated`` then ``DuesInvoiced`` (the
        dues of ``on.year``, from the fee scale and the organisation's current size).

        :raises Conflict: the application is not admitted.
        :raises InvalidInput: the application is another organisation's; ``on`` before the decision.
        """
        if application.status is not ApplicationStatus.ADMITTED:
            raise Conflict(f"cannot activate a member from application {application.id}: it is "
                           f"{application.status.value}, not admitted; expected step: {application.next_step}",
                           current_state=application.status.value, expected_step=application.next_step)
        if application.organisation_id != organisation.id:
            raise InvalidInput("organisation_id", f"application {application.id} is organisation "
                                                  f"{application.organisation_id}'s, not {organisation.id}'s")
        _rules.not_before(on, application.decided_on, "on", "the board decision")
        member = cls(id=organisation.id, application_id=application.id, since=on,
                     status_history=[StatusChange(status=MemberStatus.ACTIVE, since=on)],
                     periods=[MembershipPeriod(number=1, application_id=application.id, start_on=on)])
        bracket = fee_scale.bracket_for(organisation.headcount, organisation.annual_budget_cents)
        member.record(MemberActivated(
            organisation_id=member.id, application_id=application.id, legal_form=organisation.legal_form,
            departement=organisation.departement, sector=organisation.sector,
            esus_agreed=organisation.esus_agreed, since=on, year=on.year, dues_cents=bracket.dues_cents))
        member._issue(on.year, bracket, terms, on, None)
        return member

    def start_period(self, *, application: MembershipApplication, organisation: Organisation, fee_scale: FeeScale,
                     terms: DuesTerms = DEFAULT_DUES_TERMS, on: date) -> MembershipPeriod:
        """A withdrawn or lapsed organisation, admitted again, starts a new membership period →
        ``MemberActivated`` (``period`` n+1) then ``DuesInvoiced`` for ``on.year`` — unless that
        year's dues were paid in the previous period (no second invoice for a year already paid).

        The member keeps its id, its status history and its invoices. Invoices still open from an
        earlier period stay owed (payments may still be recorded on them) but do not count in
        this period's standing or deadlines.

        :raises Conflict: the member is active or in grace; the application is not admitted, or
            is the one a period already started from.
        :raises InvalidInput: another organisation's application; ``on`` before the board
            decision or before the end of the previous period.
        """
        if self.status not in (MemberStatus.WITHDRAWN, MemberStatus.LAPSED):
            self._conflict("start a new membership period", "only a withdrawn or lapsed member may join again")
        if application.status is not ApplicationStatus.ADMITTED:
            raise Conflict(f"cannot start a membership period from application {application.id}: it is "
                           f"{application.status.value}, not admitted; expected step: {application.next_step}",
                           current_state=application.status.value, expected_step=application.next_step)
        if application.organisation_id != self.id or organisation.id != self.id:
            raise InvalidInput("organisation_id", f"application {application.id} is organisation "
                                                  f"{application.organisation_id}'s, not member {self.id}'s")
        periods = self.membership_periods()
        if any(p.application_id == application.id for p in periods):
            raise Conflict(f"member {self.id}: a membership period already started from application "
                           f"{application.id}", application_id=application.id)
        _rules.not_before(on, application.decided_on, "on", "the board decision")
        last_change = self.status_changes()[-1]
        _rules.not_before(on, last_change.since, "on", f"the member's {last_change.status.value} status")
        self._not_before_facts(on, "start a new membership period")
        period = MembershipPeriod(number=periods[-1].number + 1, application_id=application.id, start_on=on)
        self.periods = [*periods, period]
        self.application_id = application.id
        self.since = on
        self._change_status(MemberStatus.ACTIVE, on)
        self.grace_entered_on = self.lapsed_on = self.withdrawn_on = None
        self.withdrawal_reason = self.withdrawal_detail = None
        paid = next((inv for inv in self.invoices if inv.year == on.year and inv.is_paid), None)
        bracket = fee_scale.bracket_for(organisation.headcount, organisation.annual_budget_cents)
        self.record(MemberActivated(
            organisation_id=self.id, application_id=application.id, legal_form=organisation.legal_form,
            departement=organisation.departement, sector=organisation.sector,
            esus_agreed=organisation.esus_agreed, since=on, year=on.year,
            dues_cents=0 if paid else bracket.dues_cents, period=period.number))
        if paid is None:
            self._issue(on.year, bracket, terms, on, None)
        return period

    # -- dues ----------------------------------------------------------------------------
    def invoice_dues(self, year: int, *, organisation: Organisation, fee_scale: FeeScale,
                     terms: DuesTerms = DEFAULT_DUES_TERMS, on: date, invoice_id: str | None = None) -> DuesInvoice:
        """Invoice a year's dues → ``DuesInvoiced``. Allowed while active, in grace or lapsed
        (invoicing a lapsed member is how it renews). ``invoice_id`` defaults to
        ``<organisation id>-<year>`` (``-2``, ``-3``… when that year was invoiced before and
        written off).

        :raises Conflict: withdrawn; the year already has a live (paid or open) invoice;
            ``invoice_id`` already used.
        :raises InvalidInput: another organisation; year before the membership started or
            more than one year ahead of ``on``; ``on`` before ``since``.
        """
        self._not_withdrawn("invoice dues")
        if organisation.id != self.id:
            raise InvalidInput("organisation_id", f"member {self.id} cannot be invoiced on organisation "
                                                  f"{organisation.id}'s size")
        _rules.not_before(on, self.since, "on", "the start of the membership")
        if not isinstance(year, int) or year < self.since.year or year > on.year + 1:
            raise InvalidInput("year", f"year {year} is outside {self.since.year}–{on.year + 1}")
        if self.live_invoice(year) is not None:
            raise Conflict(f"member {self.id}: the {year} dues are already invoiced "
                           f"({self.live_invoice(year).invoice_id})", year=year)
        bracket = fee_scale.bracket_for(organisation.headcount, organisation.annual_budget_cents)
        return self._issue(year, bracket, terms, on, invoice_id)

    def record_payment(self, year: int, *, amount_cents: int, payment_id: str, on: date,
                       method: PaymentMethod | str = PaymentMethod.TRANSFER) -> DuesInvoice:
        """A payment of the ``year`` dues was received on ``on`` → ``DuesPaymentRecorded``; when
        it settles the invoice and either the year is after the first one or the member gets
        back to active (from grace or lapsed), also ``MembershipRenewed``.

        :raises InvalidInput: amount not above 0, above the balance (overpayment), unknown
            method, ``on`` before the invoice was issued.
        :raises NotFound: no invoice for that year.
        :raises Conflict: withdrawn; the invoice is already paid or written off; ``payment_id``
            already recorded for another year, amount or method.

        Replaying a payment (same ``payment_id``, year, amount and method) records nothing and
        returns its invoice: the first record stands, its date included (a client retrying a
        request, or sending it again the next day without ``on``, gets the same answer).
        """
        _rules.positive(amount_cents, "amount_cents")
        method = _rules.enum_value(PaymentMethod, method, "method")
        payment_id = _rules.text(payment_id, "payment_id")
        replayed = self.recorded_payment(payment_id)
        if replayed is not None:
            return self._replay(replayed, year=year, amount_cents=amount_cents, method=method)
        self._not_withdrawn("record a payment")
        invoice = self._open_invoice(year, "record a payment")
        _rules.not_before(on, invoice.issued_on, "on", f"the issue of invoice {invoice.invoice_id}")
        if amount_cents > invoice.balance_cents:
            raise InvalidInput("amount_cents", f"overpayment: {amount_cents} cents paid but only "
                                               f"{invoice.balance_cents} cents due on {invoice.invoice_id}")
        if (amount_cents == invoice.balance_cents and self.status in (MemberStatus.GRACE_PERIOD, MemberStatus.LAPSED)
                and not any(inv.is_overdue(on) for inv in self.current_invoices() if inv is not invoice)):
            self._not_before_facts(on, "record a payment that brings the member back to active")
        invoice.payments.append(DuesPayment(payment_id=payment_id, amount_cents=amount_cents, method=method,
                                            paid_on=on))
        self.record(DuesPaymentRecorded(
            organisation_id=self.id, invoice_id=invoice.invoice_id, payment_id=payment_id, year=invoice.year,
            amount_cents=amount_cents, method=method, paid_on=on, balance_cents=invoice.balance_cents,
            fully_paid=invoice.is_paid))
        if invoice.is_paid:
            previous = self.status
            if previous in (MemberStatus.GRACE_PERIOD, MemberStatus.LAPSED) and not self._overdue(on):
                self._change_status(MemberStatus.ACTIVE, on)
                if previous is MemberStatus.LAPSED:  # reinstated: the same period goes on
                    self.periods = [*self.membership_periods()[:-1],
                                    self.membership_periods()[-1].model_copy(update={"end_on": None,
                                                                                     "end_reason": None})]
                self.grace_entered_on = None
                self.lapsed_on = None
            if invoice.year > self.since.year or self.status is not previous:
                self.record(MembershipRenewed(organisation_id=self.id, year=invoice.year,
                                              invoice_id=invoice.invoice_id, previous_status=previous,
                                              status=self.status, renewed_on=on))
        return invoice

    def send_dues_reminder(self, year: int, *, on: date) -> int:
        """A reminder for the unpaid ``year`` dues was sent → ``DuesReminderSent``. Returns the
        number of reminders sent for that invoice so far.

        :raises NotFound: no invoice for that year.
        :raises Conflict: withdrawn; the invoice is paid or written off.
        :raises InvalidInput: ``on`` before the issue.
        """
        self._not_withdrawn("send a dues reminder")
        invoice = self._open_invoice(year, "send a reminder")
        _rules.not_before(on, invoice.issued_on, "on", f"the issue of invoice {invoice.invoice_id}")
        invoice.reminders_sent += 1
        invoice.last_reminder_on = on
        self.record(DuesReminderSent(organisation_id=self.id, invoice_id=invoice.invoice_id, year=invoice.year,
                                     reminder_number=invoice.reminders_sent, balance_cents=invoice.balance_cents,
                                     sent_on=on))
        return invoice.reminders_sent

    # -- deadlines -----------------------------------------------------------------------
    def enter_grace_period(self, *, on: date) -> None:
        """Dues are past their deadline → ``MembershipEnteredGracePeriod`` (for the oldest
        overdue invoice).

        :raises Conflict: not active, or no invoice overdue on ``on``.
        """
        if self.status is not MemberStatus.ACTIVE:
            self._conflict("enter the grace period", "only an active member enters the grace period")
        self._not_before_facts(on, "enter the grace period")
        overdue = self._overdue(on)
        if not overdue:
            raise Conflict(f"member {self.id} has no dues overdue on {on}", current_state=self.status.value)
        invoice = overdue[0]
        self._change_status(MemberStatus.GRACE_PERIOD, on)
        self.grace_entered_on = on
        self.record(MembershipEnteredGracePeriod(
            organisation_id=self.id, invoice_id=invoice.invoice_id, year=invoice.year,
            balance_cents=invoice.balance_cents, due_on=invoice.due_on, grace_ends_on=invoice.grace_ends_on,
            entered_on=on))

    def lapse(self, *, on: date) -> None:
        """Dues still unpaid after the grace period → ``MembershipLapsed``; every open invoice
        is written off. Allowed from active too (a late scheduler), as long as a grace
        period has ended unpaid.

        :raises Conflict: lapsed or withdrawn already; no invoice unpaid beyond its grace end.
        """
        if self.status not in (MemberStatus.ACTIVE, MemberStatus.GRACE_PERIOD):
            self._conflict("lapse", "only an active member or one in its grace period can lapse")
        self._not_before_facts(on, "lapse")
        late = [inv for inv in self.current_invoices() if inv.is_beyond_grace(on)]
        if not late:
            raise Conflict(f"member {self.id} has no dues unpaid beyond their grace period on {on}",
                           current_state=self.status.value)
        written_off = [inv for inv in self.current_invoices() if inv.is_open]
        total = sum(inv.balance_cents for inv in written_off)
        for inv in written_off:
            inv.written_off_on = on
        self._change_status(MemberStatus.LAPSED, on)
        self._end_period(on, "lapsed")
        self.lapsed_on = on
        self.grace_entered_on = None
        first = min(late, key=lambda inv: inv.due_on)
        self.record(MembershipLapsed(organisation_id=self.id, year=first.year,
                                     invoice_ids=[inv.invoice_id for inv in written_off], written_off_cents=total,
                                     grace_ended_on=first.grace_ends_on, lapsed_on=on))

    def apply_deadlines(self, *, on: date) -> list[DomainEvent]:
        """What the daily scheduler calls: enter the grace period and/or lapse if due on
        ``on``. Idempotent: nothing due, nothing recorded. Returns the events it recorded.

        Decided from the facts as of ``on``: when the member has facts dated after ``on`` (a
        back-dated run), what was due on ``on`` is judged by the status and the payments of that
        day; if nothing was due, nothing happens; if something was (the member should have
        entered its grace period or lapsed that day), it is refused — a ``Conflict`` naming the
        later fact — rather than recorded out of order into a state the later facts cannot
        resolve (a lapse written after the payment that settled it, a grace period entered after
        a renewal).
        """
        later = self.latest_fact()
        if later is not None and later[0] > on:
            due = self.deadline_due_as_of(on)
            if due is not None:
                self._not_before_facts(on, due)
            return []
        before = len(self.pending_events)
        if self.status is MemberStatus.ACTIVE and self._overdue(on):
            self.enter_grace_period(on=on)
        if (self.status in (MemberStatus.ACTIVE, MemberStatus.GRACE_PERIOD)
                and any(inv.is_beyond_grace(on) for inv in self.current_invoices())):
            self.lapse(on=on)
        return list(self.pending_events[before:])

    # -- end -----------------------------------------------------------------------------
    def withdraw(self, reason: WithdrawalReason | str, *, on: date, detail: str | None = None) -> None:
        """The membership ends for good → ``MembershipWithdrawn``. Open invoices stay as they
        are (``outstanding_cents`` in the event).

        :raises Conflict: already withdrawn.
        :raises InvalidInput: unknown reason; ``on`` before ``since``.
        """
        self._not_withdrawn("withdraw")
        reason = _rules.enum_value(WithdrawalReason, reason, "reason")
        detail = _rules.optional_text(detail, "detail", max_length=2000)
        _rules.not_before(on, self.since, "on", "the start of the membership")
        self._not_before_facts(on, "withdraw")
        previous = self.status
        self._change_status(MemberStatus.WITHDRAWN, on)
        self._end_period(on, reason.value)
        self.withdrawn_on = on
        self.withdrawal_reason = reason
        self.withdrawal_detail = detail
        self.record(MembershipWithdrawn(organisation_id=self.id, reason=reason, detail=detail,
                                        previous_status=previous, outstanding_cents=self.outstanding_cents,
                                        withdrawn_on=on))

    # -- queries -------------------------------------------------------------------------
    @property
    def organisation_id(self) -> str:
        return self.id

    @property
    def outstanding_cents(self) -> int:
        """Total still due on open invoices."""
        return sum(inv.balance_cents for inv in self.invoices)

    def membership_periods(self) -> list[MembershipPeriod]:
        """The membership periods: ``periods``, or for a document stored without them, the one
        period derived from ``application_id``, ``since`` and the withdrawal or lapse date."""
        if self.periods:
            return list(self.periods)
        end_on, reason = None, None
        if self.status is MemberStatus.WITHDRAWN:
            end_on, reason = self.withdrawn_on, (self.withdrawal_reason.value if self.withdrawal_reason else None)
        elif self.status is MemberStatus.LAPSED:
            end_on, reason = self.lapsed_on, "lapsed"
        return [MembershipPeriod(number=1, application_id=self.application_id, start_on=self.since,
                                 end_on=end_on, end_reason=reason)]

    @property
    def period(self) -> int:
        """The number of the current (or last) membership period."""
        return self.membership_periods()[-1].number

    def period_on(self, on: date) -> MembershipPeriod | None:
        """The period started last on or before ``on`` (None before the first one)."""
        started = [p for p in self.membership_periods() if p.start_on <= on]
        return started[-1] if started else None

    def current_invoices(self) -> list[DuesInvoice]:
        """The invoices of the current period (those the deadlines judge)."""
        period = self.period
        return [inv for inv in self.invoices if inv.period == period]

    def latest_fact(self) -> tuple[date, str] | None:
        """The member's last recorded fact: its date and what it was (a status change, an
        invoice issued, a payment, a reminder), the latest date first recorded on a tie."""
        facts: list[tuple[date, str]] = [(c.since, f"{c.status.value} since {c.since}") for c in self.status_changes()]
        for inv in self.invoices:
            facts.append((inv.issued_on, f"invoice {inv.invoice_id} issued on {inv.issued_on}"))
            facts += [(p.paid_on, f"payment {p.payment_id} of invoice {inv.invoice_id} on {p.paid_on}")
                      for p in inv.payments]
            if inv.last_reminder_on is not None:
                facts.append((inv.last_reminder_on, f"reminder {inv.reminders_sent} of invoice {inv.invoice_id} "
                                                     f"on {inv.last_reminder_on}"))
        return max(facts, key=lambda fact: fact[0]) if facts else None

    def deadline_due_as_of(self, on: date) -> str | None:
        """What the deadlines asked of the member on ``on``, judged by the facts of that day
        (status in force, invoices issued and payments made by then): ``"lapse"``, ``"enter
        the grace period"``, or None."""
        status = self.status_on(on)
        if status not in (MemberStatus.ACTIVE, MemberStatus.GRACE_PERIOD):
            return None
        period = self.period_on(on)
        number = period.number if period else 1
        invoices = [inv for inv in self.invoices if inv.period == number and inv.issued_on <= on
                    and (inv.written_off_on is None or inv.written_off_on > on)]
        unpaid = [inv for inv in invoices if inv.paid_cents_on(on) < inv.amount_cents]
        if any(on > inv.grace_ends_on for inv in unpaid):
            return "lapse"
        if status is MemberStatus.ACTIVE and any(on > inv.due_on for inv in unpaid):
            return "enter the grace period"
        return None

    def recorded_payment(self, payment_id: str) -> tuple[DuesInvoice, DuesPayment] | None:
        """The invoice and payment recorded under ``payment_id``, if any."""
        return next(((inv, p) for inv in self.invoices for p in inv.payments if p.payment_id == payment_id), None)

    def live_invoice(self, year: int) -> DuesInvoice | None:
        """The year's invoice that is not written off: the current period's (paid or open), or
        one paid in an earlier period (a year's dues are paid once), if any."""
        period = self.period
        return next((inv for inv in self.invoices if inv.year == year and inv.written_off_on is None
                     and (inv.period == period or inv.is_paid)), None)

    def status_changes(self) -> list[StatusChange]:
        """The status history: ``status_history``, or for a document stored without one, a
        history derived from ``since``, the current status and the dates kept on the member
        (``grace_entered_on``, ``lapsed_on``, ``withdrawn_on``); when those do not account for
        the current status, that status is taken as in force since ``since``."""
        if self.status_history:
            return list(self.status_history)
        changes = [StatusChange(status=MemberStatus.ACTIVE, since=self.since)]
        dated = ((MemberStatus.GRACE_PERIOD, self.grace_entered_on, (MemberStatus.GRACE_PERIOD,
                                                                     MemberStatus.WITHDRAWN)),
                 (MemberStatus.LAPSED, self.lapsed_on, (MemberStatus.LAPSED, MemberStatus.WITHDRAWN)),
                 (MemberStatus.WITHDRAWN, self.withdrawn_on, (MemberStatus.WITHDRAWN,)))
        for status, since, when in dated:
            if since is not None and self.status in when:
                changes.append(StatusChange(status=status, since=since))
        if changes[-1].status is not self.status:
            changes.append(StatusChange(status=self.status, since=self.since))
        return changes

    def status_on(self, on: date) -> MemberStatus | None:
        """The status in force on ``on``: that of the last change (in recorded order) with
        ``since <= on``; ``None`` before the membership started."""
        status = None
        for change in self.status_changes():
            if change.since <= on:
                status = change.status
        return status

    def in_good_standing(self, on: date) -> bool:
        """Whether the member was (or is) in good standing on ``on``, any date, past included
        (see the module docstring): the status in force on ``on`` is active or grace period,
        and no invoice had on ``on`` a balance past its grace end."""
        if self.status_on(on) not in (MemberStatus.ACTIVE, MemberStatus.GRACE_PERIOD):
            return False
        period = self.period_on(on)
        number = period.number if period else 1
        return not any(inv.was_beyond_grace(on) for inv in self.invoices if inv.period == number)

    # -- internals -----------------------------------------------------------------------
    def _issue(self, year: int, bracket: FeeBracket, terms: DuesTerms, on: date,
               invoice_id: str | None) -> DuesInvoice:
        used = {inv.invoice_id for inv in self.invoices}
        if invoice_id is None:
            invoice_id, n = f"{self.id}-{year}", 1
            while invoice_id in used:
                n += 1
                invoice_id = f"{self.id}-{year}-{n}"
        else:
            invoice_id = _rules.text(invoice_id, "invoice_id", max_length=100)
            if invoice_id in used:
                raise Conflict(f"invoice id {invoice_id} is already used for member {self.id}")
        due_on = on + timedelta(days=terms.payment_terms_days)
        invoice = DuesInvoice(invoice_id=invoice_id, year=year, period=self.period, amount_cents=bracket.dues_cents,
                              fee_bracket=bracket.label, issued_on=on, due_on=due_on,
                              grace_ends_on=due_on + timedelta(days=terms.grace_period_days))
        self.invoices = [*self.invoices, invoice]
        self.record(DuesInvoiced(organisation_id=self.id, invoice_id=invoice.invoice_id, year=year,
                                 amount_cents=invoice.amount_cents, fee_bracket=invoice.fee_bracket,
                                 issued_on=on, due_on=invoice.due_on, grace_ends_on=invoice.grace_ends_on))
        return invoice

    def _replay(self, recorded: tuple[DuesInvoice, DuesPayment], *, year: int, amount_cents: int,
                method: PaymentMethod) -> DuesInvoice:
        """A payment sent again: the first record if it is the same payment, else a ``Conflict``
        naming each difference."""
        invoice, payment = recorded
        differences = [f"{name} {given} (recorded: {first})" for name, given, first in (
            ("year", year, invoice.year), ("amount_cents", amount_cents, payment.amount_cents),
            ("method", method.value, payment.method.value)) if given != first]
        if differences:
            raise Conflict(f"payment {payment.payment_id} is already recorded for member {self.id} "
                           f"({invoice.invoice_id}, {payment.paid_on}) with other values: {'; '.join(differences)}",
                           payment_id=payment.payment_id)
        return invoice

    def _open_invoice(self, year: int, action: str) -> DuesInvoice:
        invoice = self.live_invoice(year) or next(  # or dues still owed from an earlier period
            (inv for inv in self.invoices if inv.year == year and inv.is_open), None)
        if invoice is None:
            if any(inv.year == year for inv in self.invoices):
                raise Conflict(f"cannot {action}: the {year} dues of member {self.id} were written off when the "
                               f"membership lapsed; invoice them again", year=year)
            raise NotFound(f"member {self.id} has no {year} dues invoice", year=year)
        if not invoice.is_open:
            raise Conflict(f"cannot {action}: invoice {invoice.invoice_id} is already paid", year=year)
        return invoice

    def _change_status(self, status: MemberStatus, on: date) -> None:
        """Set ``status`` and append the change to the history (first seeding the history
        derived for a document stored without one)."""
        history = self.status_changes()
        self.status = status
        self.status_history = [*history, StatusChange(status=status, since=on)]

    def _overdue(self, on: date) -> list[DuesInvoice]:
        return sorted((inv for inv in self.current_invoices() if inv.is_overdue(on)), key=lambda inv: inv.due_on)

    def _end_period(self, on: date, reason: str) -> None:
        periods = self.membership_periods()
        self.periods = [*periods[:-1], periods[-1].model_copy(update={"end_on": on, "end_reason": reason})]

    def _not_before_facts(self, on: date, action: str) -> None:
        """A status change dated before the member's last recorded fact is refused, naming it."""
        later = self.latest_fact()
        if later is not None and later[0] > on:
            raise Conflict(f"cannot {action} on {on}: member {self.id} has a later recorded fact ({later[1]}); "
                           f"a status change is not recorded before facts that followed it — date it "
                           f"{later[0]} or later", current_state=self.status.value,
                           later_fact=later[1], later_fact_on=later[0].isoformat())

    def _not_withdrawn(self, action: str) -> None:
        if self.status is MemberStatus.WITHDRAWN:
            self._conflict(action, "the membership was withdrawn (a new application may start a new period)")

    def _conflict(self, action: str, why: str) -> None:
        raise Conflict(f"cannot {action}: member {self.id} is {self.status.value}; {why}",
                       current_state=self.status.value)
