"""The MembershipApplication aggregate: the path from applying to the board's decision.

::

    submitted ──hold_welcome_meeting──▶ welcome_meeting_held ──admit / refuse──▶ admitted | refused
                                              │  (commercial companies: review first)
                                              └──review_statutes──▶ statutes_reviewed ──admit / refuse──▶
                                                   ▲     │ must_amend: review again after amendment
                                                   └─────┘

- Every application gets an individual welcome meeting first.
- Statutes review: required for ESS commercial companies (SCESS) and only for them. Reviewing
  the statutes of any other legal form is a ``Conflict`` (the step does not exist on their
  path). The outcome is ``compliant`` iff every finding is; when the statutes must be amended
  the paid advisory offer is proposed, and the statutes may be reviewed again once amended.
- Board decision: ``admit`` needs the welcome meeting and, for a commercial company, a
  compliant last review; ``refuse`` needs the same steps done (whatever the review outcome)
  and a reason. Both are final.

- Withdrawal: until the board decides, the applicant may withdraw its application (final for
  this application; the organisation may submit a new one).

Every step taken out of order raises :class:`Conflict` naming the current state and the step
expected next. Dates must not go backwards (``InvalidInput`` on ``on``).
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Iterable

from pydantic import BaseModel, Field

from contracts.membership import (ApplicationAdmitted, ApplicationRefused, ApplicationSubmitted,
                                  ApplicationWithdrawn, LegalForm, StatutesFinding, StatutesReviewed,
                                  StatutesReviewOutcome, WelcomeMeetingHeld)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput

from . import _rules
from .organisation import Organisation


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    WELCOME_MEETING_HELD = "welcome_meeting_held"
    STATUTES_REVIEWED = "statutes_reviewed"
    ADMITTED = "admitted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class StatutesReview(BaseModel):
    """One review of the statutes (a company may be reviewed again after amending)."""

    number: int = Field(ge=1)
    findings: list[StatutesFinding]
    outcome: StatutesReviewOutcome
    advisory_offer_proposed: bool
    reviewed_on: date


class MembershipApplication(Aggregate):
    """An organisation's application for membership. ``id`` is the application id."""

    organisation_id: str
    legal_form: LegalForm = Field(description="The applicant's legal form when it applied.")
    status: ApplicationStatus = ApplicationStatus.SUBMITTED
    submitted_on: date
    welcome_meeting_on: date | None = None
    reviews: list[StatutesReview] = Field(default_factory=list)
    decided_on: date | None = None
    board_meeting_ref: str | None = None
    refusal_reason: str | None = None
    withdrawn_on: date | None = None
    withdrawal_reason: str | None = None

    # -- factory -------------------------------------------------------------------------
    @classmethod
    def submit(cls, application_id: str, *, organisation: Organisation, on: date) -> MembershipApplication:
        """An organisation applies → ``ApplicationSubmitted``. The legal form is taken from the
        organisation now and decides whether the statutes are reviewed.

        (One open application per organisation, and none for a current member, is the service
        layer's check.)
        """
        application_id = _rules.text(application_id, "application_id")
        app = cls(id=application_id, organisation_id=organisation.id, legal_form=organisation.legal_form,
                  submitted_on=on)
        app.record(ApplicationSubmitted(application_id=app.id, organisation_id=app.organisation_id,
                                        legal_form=app.legal_form,
                                        statutes_review_required=app.statutes_review_required,
                                        submitted_on=on))
        return app

    # -- commands ------------------------------------------------------------------------
    def hold_welcome_meeting(self, *, on: date) -> None:
        """The individual welcome meeting took place → ``WelcomeMeetingHeld``.

        :raises Conflict: not in state ``submitted``.
        :raises InvalidInput: ``on`` before the submission.
        """
        self._expect("hold the welcome meeting", ApplicationStatus.SUBMITTED)
        _rules.not_before(on, self.submitted_on, "on", "the submission")
        self.welcome_meeting_on = on
        self.status = ApplicationStatus.WELCOME_MEETING_HELD
        self.record(WelcomeMeetingHeld(application_id=self.id, organisation_id=self.organisation_id, held_on=on))

    def review_statutes(self, findings: Iterable[StatutesFinding | dict], *, on: date) -> StatutesReview:
        """Record a review of a commercial company's statutes → ``StatutesReviewed``.

        Outcome ``compliant`` iff every finding is compliant; otherwise ``must_amend`` and the
        advisory offer is proposed. Allowed after the welcome meeting, and again after a
        ``must_amend`` review (the statutes were amended).

        :raises Conflict: the applicant is not a commercial company; or not after the welcome
            meeting / a must-amend review (e.g. already compliant, or decided).
        :raises InvalidInput: no findings, a non-compliant finding without comment, an article
            reviewed twice, ``on`` before the previous step.
        """
        if not self.statutes_review_required:
            raise Conflict(
                f"application {self.id}: the statutes of a {self.legal_form.value} are not reviewed "
                f"(only commercial companies'); application is {self.status.value}, "
                f"expected step: {self.next_step}",
                current_state=self.status.value, expected_step=self.next_step)
        last = self.last_review
        if not (self.status is ApplicationStatus.WELCOME_MEETING_HELD
                or (self.status is ApplicationStatus.STATUTES_REVIEWED
                    and last is not None and last.outcome is StatutesReviewOutcome.MUST_AMEND)):
            self._conflict("review the statutes")
        items = [f if isinstance(f, StatutesFinding) else _finding(f, i) for i, f in enumerate(findings)]
        if not items:
            raise InvalidInput("findings", "a statutes review has at least one finding")
        seen: set[str] = set()
        for i, f in enumerate(items):
            if not f.compliant and not (f.comment and f.comment.strip()):
                raise InvalidInput(f"findings.{i}.comment", f"article {f.article!r} is not compliant: say why")
            key = f.article.strip().lower()
            if key in seen:
                raise InvalidInput(f"findings.{i}.article", f"article {f.article!r} is reviewed twice")
            seen.add(key)
        previous = last.reviewed_on if last else self.welcome_meeting_on
        _rules.not_before(on, previous or self.submitted_on, "on", "the previous step")
        outcome = (StatutesReviewOutcome.COMPLIANT if all(f.compliant for f in items)
                   else StatutesReviewOutcome.MUST_AMEND)
        review = StatutesReview(number=len(self.reviews) + 1, findings=items, outcome=outcome,
                                advisory_offer_proposed=outcome is StatutesReviewOutcome.MUST_AMEND,
                                reviewed_on=on)
        self.reviews = [*self.reviews, review]
        self.status = ApplicationStatus.STATUTES_REVIEWED
        self.record(StatutesReviewed(application_id=self.id, organisation_id=self.organisation_id,
                                     review_number=review.number, findings=items, outcome=outcome,
                                     advisory_offer_proposed=review.advisory_offer_proposed, reviewed_on=on))
        return review

    def admit(self, *, on: date, board_meeting_ref: str | None = None) -> None:
        """The board admits the applicant → ``ApplicationAdmitted``.

        :raises Conflict: welcome meeting not held; for a commercial company, statutes not
            reviewed or last review ``must_amend``; already decided.
        """
        if not self.ready_for_decision:
            self._conflict("admit")
        if self.statutes_review_required and self.last_review.outcome is not StatutesReviewOutcome.COMPLIANT:
            raise Conflict(
                f"cannot admit application {self.id}: its statutes must be amended and reviewed again "
                f"(last review #{self.last_review.number}: must_amend); expected step: {self.next_step}",
                current_state=self.status.value, expected_step=self.next_step)
        self._decide(on, board_meeting_ref)
        self.status = ApplicationStatus.ADMITTED
        self.record(ApplicationAdmitted(application_id=self.id, organisation_id=self.organisation_id,
                                        legal_form=self.legal_form, decided_on=on,
                                        board_meeting_ref=self.board_meeting_ref))

    def refuse(self, reason: str, *, on: date, board_meeting_ref: str | None = None) -> None:
        """The board refuses the application → ``ApplicationRefused``.

        :raises InvalidInput: blank reason.
        :raises Conflict: the steps before the decision are not done, or already decided.
        """
        reason = _rules.text(reason, "reason", max_length=2000)
        if not self.ready_for_decision:
            self._conflict("refuse")
        self._decide(on, board_meeting_ref)
        self.refusal_reason = reason
        self.status = ApplicationStatus.REFUSED
        self.record(ApplicationRefused(application_id=self.id, organisation_id=self.organisation_id,
                                       reason=reason, decided_on=on, board_meeting_ref=self.board_meeting_ref))

    def withdraw(self, *, on: date, reason: str | None = None) -> None:
        """The applicant withdraws its application before the board decides →
        ``ApplicationWithdrawn``. The organisation may apply again later.

        :raises Conflict: already decided (admitted or refused) or withdrawn.
        :raises InvalidInput: ``on`` before the last step taken; reason too long.
        """
        if self.is_decided or self.status is ApplicationStatus.WITHDRAWN:
            self._conflict("withdraw the application")
        reason = _rules.optional_text(reason, "reason", max_length=2000)
        last = self.last_review.reviewed_on if self.last_review else self.welcome_meeting_on
        _rules.not_before(on, last or self.submitted_on, "on", "the last step of the application")
        previous = self.status
        self.status = ApplicationStatus.WITHDRAWN
        self.withdrawn_on = on
        self.withdrawal_reason = reason
        self.record(ApplicationWithdrawn(application_id=self.id, organisation_id=self.organisation_id,
                                         previous_status=previous.value, reason=reason, withdrawn_on=on))

    # -- queries -------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """Still on its way to a decision (not decided, not withdrawn)."""
        return not self.is_decided and self.status is not ApplicationStatus.WITHDRAWN

    @property
    def statutes_review_required(self) -> bool:
        return self.legal_form.is_commercial_company

    @property
    def last_review(self) -> StatutesReview | None:
        return self.reviews[-1] if self.reviews else None

    @property
    def is_decided(self) -> bool:
        return self.status in (ApplicationStatus.ADMITTED, ApplicationStatus.REFUSED)  # withdrawn: not decided

    @property
    def ready_for_decision(self) -> bool:
        """Welcome meeting held and, for a commercial company, statutes reviewed (any outcome)."""
        if self.statutes_review_required:
            return self.status is ApplicationStatus.STATUTES_REVIEWED
        return self.status is ApplicationStatus.WELCOME_MEETING_HELD

    @property
    def next_step(self) -> str:
        """The step(s) expected next, in words (used in ``Conflict`` messages)."""
        s = self.status
        if s is ApplicationStatus.SUBMITTED:
            return "hold the welcome meeting"
        if s is ApplicationStatus.WELCOME_MEETING_HELD:
            return "review the statutes" if self.statutes_review_required else "board decision (admit or refuse)"
        if s is ApplicationStatus.STATUTES_REVIEWED:
            if self.last_review and self.last_review.outcome is StatutesReviewOutcome.MUST_AMEND:
                return "review the amended statutes, or refuse"
            return "board decision (admit or refuse)"
        if s is ApplicationStatus.WITHDRAWN:
            return "none: the application was withdrawn (the organisation may apply again)"
        return "none: the application is decided"

    # -- internals -----------------------------------------------------------------------
    def _expect(self, action: str, *allowed: ApplicationStatus) -> None:
        if self.status not in allowed:
            self._conflict(action)

    def _conflict(self, action: str) -> None:
        raise Conflict(f"cannot {action}: application {self.id} is {self.status.value}; "
                       f"expected step: {self.next_step}",
                       current_state=self.status.value, expected_step=self.next_step)

    def _decide(self, on: date, board_meeting_ref: str | None) -> None:
        previous = self.last_review.reviewed_on if self.last_review else self.welcome_meeting_on
        _rules.not_before(on, previous or self.submitted_on, "on", "the previous step")
        self.decided_on = on
        self.board_meeting_ref = _rules.optional_text(board_meeting_ref, "board_meeting_ref", max_length=100)


def _finding(data: dict, index: int) -> StatutesFinding:
    try:
        return StatutesFinding.model_validate(data)
    except ValueError as exc:
        raise InvalidInput(f"findings.{index}", str(exc)) from None
