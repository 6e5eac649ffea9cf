"""A notified supplier's funnel for one need (one row per need × supplier, like le marché de
l'inclusion's TenderSiae), and the reminder rule.

::

    notified ─▶ opened ─▶ viewed ─▶ interested ⇄ not interested
                                         └──────▶ answered ─▶ awarded

- Each step is dated once, when first taken (opening and viewing again change nothing); steps
  need not come in order (a supplier may say it is interested without opening the e-mail).
- Interested and not interested are the supplier's *stance*: it may change its mind until it
  answers. Answering says it is interested; a supplier whose stance is "not interested" says it
  is interested first (409 otherwise). Once it answered, "not interested" is a 409.
- Interest, disinterest and answers are taken only while the need takes answers (dispatching or
  dispatched): after it closed they are a 409 naming the need's state. Opening and viewing are
  facts and are recorded whatever the need's state.
- "awarded" is recorded by the need's award, not by the supplier.
- Reminders (:func:`reminder_due`): to a notified supplier that has not answered and whose stance
  is not "not interested" (le marché #1158, #1161), the first one some time after the
  notification, then at an interval, at most a number of them; never once the need has closed
  (#1850: the need's own state decides, see :meth:`~.needs.Need.remind`).

Every step taken records ``FunnelStepRecorded`` (one per step and supplier: small events).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import AwareDatetime

from contracts.procurement.needs import FunnelStep, FunnelStepRecorded, NeedStatus, SupplierNotified
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput

from . import need_rules as rules
from .needs import TAKING_ANSWERS

MAX_FEEDBACK = 2_000
SUPPLIER_STEPS = (FunnelStep.OPENED, FunnelStep.VIEWED, FunnelStep.INTERESTED, FunnelStep.NOT_INTERESTED,
                  FunnelStep.ANSWERED)
"""The steps a supplier (or staff for it) takes; ``awarded`` comes with the need's award."""


def funnel_id(need_id: str, supplier_id: str) -> str:
    """The row's id: one per need and supplier (the unique key that makes a dispatch idempotent)."""
    return f"{need_id}:{supplier_id}"


@dataclass(frozen=True)
class ReminderPolicy:
    """When notified suppliers are reminded."""

    first_after: timedelta = timedelta(days=2)
    """The first reminder, this long after the notification."""
    interval: timedelta = timedelta(days=3)
    """The next ones, at least this long after the previous."""
    max_reminders: int = 2


class SupplierFunnel(Aggregate):
    """One supplier's funnel for one need; ``id`` = :func:`funnel_id`."""

    need_id: str
    supplier_id: str
    organisation_id: str | None = None
    batch: int
    notified_at: AwareDatetime
    opened_at: AwareDatetime | None = None
    viewed_at: AwareDatetime | None = None
    interested_at: AwareDatetime | None = None
    not_interested_at: AwareDatetime | None = None
    stance: FunnelStep | None = None
    """None, ``interested`` or ``not_interested``: the supplier's current say."""
    not_interested_feedback: str | None = None
    answered_at: AwareDatetime | None = None
    awarded_at: AwareDatetime | None = None
    step: str = "notified"
    """The furthest step taken (what a list shows): notified, opened, viewed, interested,
    not_interested, answered, awarded."""
    reminders: int = 0
    last_reminded_at: AwareDatetime | None = None

    @classmethod
    def notify(cls, *, need_id: str, supplier_id: str, organisation_id: str | None, batch: int,
               at: datetime) -> SupplierFunnel:
        """The row of a supplier just notified → ``SupplierNotified``."""
        at = rules.instant(at, "at")
        row = cls(id=funnel_id(need_id, supplier_id), need_id=need_id, supplier_id=supplier_id,
                  organisation_id=organisation_id, batch=batch, notified_at=at)
        row.record(SupplierNotified(need_id=need_id, supplier_id=supplier_id, batch=batch, notified_at=at))
        return row

    def take(self, step: FunnelStep | str, *, need_status: NeedStatus, at: datetime, by_staff: bool,
             feedback: str | None = None) -> bool:
        """Take a supplier's step → ``FunnelStepRecorded``; False (nothing recorded) when it changes
        nothing (opened again, interested again…).

        :raises InvalidInput: ``step`` unknown or ``awarded``; ``feedback`` with another step than
            not interested, or too long.
        :raises Conflict: interest, disinterest or an answer while the need does not take answers;
            not interested after answering; answering while not interested.
        """
        step = rules.enum_value(FunnelStep, step, "step")
        if step not in SUPPLIER_STEPS:
            raise InvalidInput("step", "a supplier is awarded by the need's award, not by a funnel step")
        if feedback is not None and step is not FunnelStep.NOT_INTERESTED:
            raise InvalidInput("feedback", "feedback goes with the step not_interested only")
        feedback = rules.optional_text(feedback, "feedback", max_length=MAX_FEEDBACK)
        at = rules.instant(at, "at")
        if at < self.notified_at:
            raise InvalidInput("at", f"at {at.isoformat()} is before the notification ({self.notified_at.isoformat()})")
        if step is FunnelStep.OPENED:
            if self.opened_at is not None:
                return False
            self.opened_at = at
        elif step is FunnelStep.VIEWED:
            if self.viewed_at is not None:
                return False
            self.viewed_at = at
        else:
            self._takes_answers(need_status, step)
            if step is FunnelStep.INTERESTED:
                if self.stance is FunnelStep.INTERESTED:
                    return False
                self.stance, self.interested_at = FunnelStep.INTERESTED, at
            elif step is FunnelStep.NOT_INTERESTED:
                if self.answered_at is not None:
                    raise Conflict(f"supplier {self.supplier_id} answered need {self.need_id} already: it cannot "
                                   f"say it is not interested", current_state="answered",
                                   expected_step="none: the offer is submitted")
                if self.stance is FunnelStep.NOT_INTERESTED:
                    if feedback is not None:
                        self.not_interested_feedback = feedback
                    return False
                self.stance, self.not_interested_at = FunnelStep.NOT_INTERESTED, at
                self.not_interested_feedback = feedback
            else:  # answered
                if self.answered_at is not None:
                    return False
                if self.stance is FunnelStep.NOT_INTERESTED:
                    raise Conflict(f"supplier {self.supplier_id} said it is not interested in need {self.need_id}: "
                                   f"it says it is interested before answering", current_state="not_interested",
                                   expected_step="interested, then answered")
                if self.interested_at is None:
                    self.interested_at = at
                self.stance, self.answered_at = FunnelStep.INTERESTED, at
        self._furthest()
        self.record(FunnelStepRecorded(need_id=self.need_id, supplier_id=self.supplier_id, step=step,
                                       by_staff=by_staff, recorded_at=at))
        return True

    def mark_awarded(self, *, at: datetime) -> bool:
        """The need was awarded to this supplier (or its grouping) → ``FunnelStepRecorded`` awarded."""
        if self.awarded_at is not None:
            return False
        at = rules.instant(at, "at")
        self.awarded_at = at
        self._furthest()
        self.record(FunnelStepRecorded(need_id=self.need_id, supplier_id=self.supplier_id, step=FunnelStep.AWARDED,
                                       by_staff=True, recorded_at=at))
        return True

    def _takes_answers(self, need_status: NeedStatus, step: FunnelStep) -> None:
        if need_status not in TAKING_ANSWERS:
            raise rules.conflict(f"need {self.need_id}", f"record '{step.value}'", need_status.value,
                                 "a need dispatched and not closed (interest and answers are taken until it closes)",
                                 need_status=need_status.value)

    def _furthest(self) -> None:
        if self.awarded_at is not None:
            self.step = "awarded"
        elif self.answered_at is not None:
            self.step = "answered"
        elif self.stance is not None:
            self.step = self.stance.value
        elif self.viewed_at is not None:
            self.step = "viewed"
        elif self.opened_at is not None:
            self.step = "opened"
        else:
            self.step = "notified"


def reminder_due(row: SupplierFunnel, at: datetime, policy: ReminderPolicy) -> bool:
    """Whether the supplier of ``row`` is due a reminder at ``at``: it has not answered, did not say
    "not interested", has had fewer than ``max_reminders``, and the first delay (after notification)
    or the interval (after the last reminder) has passed. The need's state is checked by the need."""
    if row.answered_at is not None or row.stance is FunnelStep.NOT_INTERESTED:
        return False
    if row.reminders >= policy.max_reminders:
        return False
    if row.last_reminded_at is None:
        return at >= row.notified_at + policy.first_after
    return at >= row.last_reminded_at + policy.interval


def remind(row: SupplierFunnel, at: datetime) -> int:
    """Note a reminder on the row; returns its number (the event is the need's)."""
    row.reminders += 1
    row.last_reminded_at = at
    return row.reminders
