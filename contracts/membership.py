"""Events of the membership service ("Vie interne"), and the vocabulary they share.

Three aggregates, three topics (:mod:`contracts.topics`):

- ``organisation`` (key: ``organisation_id``): an ESS organisation known to the chamber and
  its contacts. Contacts are personal data (GDPR): events reference them by id and role
  only — never a name, e-mail or phone number.
- ``application`` (key: ``application_id``): the membership application workflow —
  submitted → welcome meeting held → statutes reviewed (commercial companies only) →
  admitted or refused by the board.
- ``member`` (key: ``organisation_id``: a member *is* an organisation): activation, yearly
  dues (invoice, payments, reminders), grace period, lapse, renewal, withdrawal.

Conventions: dates are ``date`` (ISO 8601) and named ``*_on``; money is an integer number of
euro cents named ``*_cents``; enumerations travel as their lower-case code (the French label
is for display only and is not part of the contract).
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EARLIEST_YEAR, LATEST_YEAR, DomainEvent
from contracts.privacy import AGGREGATE, SUBJECT_REF_PATTERN, PersonalDataErased
from contracts.topics import Topic

SERVICE = "membership"

TOPICS: tuple[Topic, ...] = (
    Topic("membership.organisation", SERVICE, "organisation",
          description="ESS organisations known to the chamber and their contacts (ids only: no personal data)."),
    Topic("membership.application", SERVICE, "application",
          description="Membership applications: submission, welcome meeting, statutes review, board decision."),
    Topic("membership.member", SERVICE, "member",
          description="Members' lifecycle and dues: activation, invoices, payments, reminders, grace, lapse, "
                      "renewal, withdrawal. Key: the member's organisation id."),
)


# -- shared vocabulary -----------------------------------------------------------------------

class LegalForm(StrEnum):
    """Legal form of an ESS organisation (law of 31 July 2014, article 1)."""

    ASSOCIATION = "association"
    FOUNDATION = "foundation"
    MUTUAL = "mutual"
    SCOP = "scop"
    SCIC = "scic"
    CAE = "cae"
    COOPERATIVE = "cooperative"
    SCESS = "scess"

    @property
    def label(self) -> str:
        """The French label, for display."""
        return LEGAL_FORM_LABELS[self]

    @property
    def is_commercial_company(self) -> bool:
        """True for an ESS commercial company (SCESS): its statutes are checked on application."""
        return self is LegalForm.SCESS


LEGAL_FORM_LABELS: dict[LegalForm, str] = {
    LegalForm.ASSOCIATION: "Association (loi 1901)",
    LegalForm.FOUNDATION: "Fondation",
    LegalForm.MUTUAL: "Mutuelle",
    LegalForm.SCOP: "SCOP — société coopérative et participative",
    LegalForm.SCIC: "SCIC — société coopérative d'intérêt collectif",
    LegalForm.CAE: "CAE — coopérative d'activité et d'emploi",
    LegalForm.COOPERATIVE: "Autre coopérative",
    LegalForm.SCESS: "Société commerciale de l'ESS (loi du 31 juillet 2014)",
}


class ContactRole(StrEnum):
    """What a contact person is to the chamber."""

    LEGAL_REPRESENTATIVE = "legal_representative"
    DIRECTOR = "director"
    MEMBERSHIP_CONTACT = "membership_contact"
    FINANCE = "finance"
    COMMUNICATION = "communication"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CONTACT_ROLE_LABELS[self]


CONTACT_ROLE_LABELS: dict[ContactRole, str] = {
    ContactRole.LEGAL_REPRESENTATIVE: "Représentant·e légal·e",
    ContactRole.DIRECTOR: "Direction",
    ContactRole.MEMBERSHIP_CONTACT: "Référent·e adhésion",
    ContactRole.FINANCE: "Finances / comptabilité",
    ContactRole.COMMUNICATION: "Communication",
    ContactRole.OTHER: "Autre",
}


class StatutesReviewOutcome(StrEnum):
    """Result of checking a commercial company's statutes against the law of 2014."""

    COMPLIANT = "compliant"
    MUST_AMEND = "must_amend"


class MemberStatus(StrEnum):
    """Where a member is in its lifecycle."""

    ACTIVE = "active"
    GRACE_PERIOD = "grace_period"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"


class PaymentMethod(StrEnum):
    TRANSFER = "transfer"
    CHEQUE = "cheque"
    CARD = "card"
    DIRECT_DEBIT = "direct_debit"
    CASH = "cash"


class WithdrawalReason(StrEnum):
    """Why a membership ended at the member's or the board's initiative."""

    RESIGNATION = "resignation"
    DISSOLUTION = "dissolution"
    MERGER = "merger"
    EXCLUSION = "exclusion"
    OTHER = "other"

    @property
    def label(self) -> str:
        return WITHDRAWAL_REASON_LABELS[self]


WITHDRAWAL_REASON_LABELS: dict[WithdrawalReason, str] = {
    WithdrawalReason.RESIGNATION: "Démission",
    WithdrawalReason.DISSOLUTION: "Dissolution / liquidation de la structure",
    WithdrawalReason.MERGER: "Fusion / absorption",
    WithdrawalReason.EXCLUSION: "Radiation par le conseil d'administration",
    WithdrawalReason.OTHER: "Autre",
}


class StatutesFinding(BaseModel):
    """The reviewer's finding on one article of the statutes."""

    model_config = ConfigDict(frozen=True)

    article: str = Field(min_length=1, max_length=200,
                         description="The article reviewed, as numbered in the statutes.",
                         examples=["Article 3 — Objet social"])
    compliant: bool = Field(description="Whether the article meets the law of 31 July 2014.",
                            examples=[False])
    comment: str | None = Field(default=None, max_length=4000,
                                description="What the article lacks or must say; required when not compliant.",
                                examples=["Add the limited profit-sharing rule (art. 1, II, 2° of the 2014 law)."])


# -- common field definitions ---------------------------------------------------------------

def _organisation_id(description: str = "Id of the organisation.") -> Any:
    return Field(description=description, examples=["org-5f1c2a"])


def _application_id() -> Any:
    return Field(description="Id of the membership application.", examples=["app-8d2e41"])


def _siret() -> Any:
    return Field(description="SIRET of the organisation's establishment: 14 digits, checksum verified.",
                 examples=["73282932000074"])


# -- organisation ---------------------------------------------------------------------------

class _OrganisationProfile(DomainEvent):
    """The public profile of an organisation (no personal data)."""

    organisation_id: str = _organisation_id()
    siret: str = _siret()
    name: str = Field(description="Name of the organisation (a legal entity: not personal data).",
                      examples=["Les Ateliers Solidaires"])
    legal_form: LegalForm = Field(description="Legal form (code).", examples=["association"])
    esus_agreed: bool = Field(description="Whether the organisation holds the ESUS agreement.",
                              examples=[True])
    esus_agreed_on: date | None = Field(description="Date the ESUS agreement was granted; null iff not agreed.",
                                        examples=["2021-06-15"])
    departement: str = Field(description="French département code (01–95, 2A, 2B, 971–976).",
                             examples=["93"])
    commune: str = Field(description="Commune of the registered office.", examples=["Montreuil"])
    sector: str = Field(description="Sector of activity (filière).", examples=["économie circulaire"])
    headcount: int = Field(ge=0, description="Number of employees.", examples=[12])
    annual_budget_cents: int = Field(ge=0, description="Annual budget or turnover, in euro cents.",
                                     examples=[45_000_000])


class OrganisationRegistered(_OrganisationProfile,
                             event_type="org.cress.membership.organisation-registered.v1",
                             aggregate_type="organisation", aggregate_id_field="organisation_id"):
    """An ESS organisation became known to the chamber."""

    registered_on: date = Field(description="Date of registration.", examples=["2024-01-15"])
    imported: bool = Field(False, description="True when brought in by the register import (a fact of the "
                                                 "chamber's past, recorded as it happened), not recorded live.",
                           examples=[False])


class OrganisationUpdated(_OrganisationProfile,
                          event_type="org.cress.membership.organisation-updated.v1",
                          aggregate_type="organisation", aggregate_id_field="organisation_id"):
    """An organisation's profile changed. Carries the whole profile after the change."""

    updated_on: date = Field(description="Date of the change.", examples=["2024-03-02"])
    changed_fields: list[str] = Field(description="Names of the profile fields that changed.",
                                      examples=[["headcount", "annual_budget_cents"]])


class ContactAdded(DomainEvent, event_type="org.cress.membership.contact-added.v1",
                   aggregate_type="organisation", aggregate_id_field="organisation_id"):
    """A contact person was added to an organisation. Personal data stay in the service (GDPR)."""

    organisation_id: str = _organisation_id()
    contact_id: str = Field(description="Id of the contact, to ask the membership service for details.",
                            examples=["ct-41b7"])
    role: ContactRole = Field(description="The contact's role (code).", examples=["membership_contact"])
    added_on: date = Field(description="Date the contact was added.", examples=["2024-01-15"])


class ContactRemoved(DomainEvent, event_type="org.cress.membership.contact-removed.v1",
                     aggregate_type="organisation", aggregate_id_field="organisation_id"):
    """A contact person was removed and their personal data erased from the organisation."""

    organisation_id: str = _organisation_id()
    contact_id: str = Field(description="Id of the removed contact.", examples=["ct-41b7"])
    role: ContactRole = Field(description="The role the contact had (code).", examples=["finance"])
    removed_on: date = Field(description="Date of removal.", examples=["2024-09-30"])


# -- application ----------------------------------------------------------------------------

class ApplicationSubmitted(DomainEvent, event_type="org.cress.membership.application-submitted.v1",
                           aggregate_type="application", aggregate_id_field="application_id"):
    """An organisation applied for membership."""

    application_id: str = _application_id()
    organisation_id: str = _organisation_id("Id of the applying organisation.")
    legal_form: LegalForm = Field(description="Legal form of the applicant when it applied.",
                                  examples=["scess"])
    statutes_review_required: bool = Field(
        description="True for commercial companies (SCESS): their statutes are checked before the board decides.",
        examples=[True])
    submitted_on: date = Field(description="Date of the application.", examples=["2024-02-01"])


class WelcomeMeetingHeld(DomainEvent, event_type="org.cress.membership.welcome-meeting-held.v1",
                         aggregate_type="application", aggregate_id_field="application_id"):
    """The individual welcome meeting with the applicant took place (systematic since 2023)."""

    application_id: str = _application_id()
    organisation_id: str = _organisation_id("Id of the applying organisation.")
    held_on: date = Field(description="Date of the meeting.", examples=["2024-02-12"])


class StatutesReviewed(DomainEvent, event_type="org.cress.membership.statutes-reviewed.v1",
                       aggregate_type="application", aggregate_id_field="application_id"):
    """A commercial company's statutes were checked against the law of 31 July 2014."""

    application_id: str = _application_id()
    organisation_id: str = _organisation_id("Id of the applying organisation.")
    review_number: int = Field(ge=1, description="1 for the first review, 2+ after the statutes were amended.",
                               examples=[1])
    findings: list[StatutesFinding] = Field(
        description="One finding per article reviewed.",
        examples=[[{"article": "Article 2 — Objet", "compliant": True, "comment": None},
                   {"article": "Article 12 — Affectation des bénéfices", "compliant": False,
                    "comment": "At least 50 % of profits must go to development reserves."}]])
    outcome: StatutesReviewOutcome = Field(description="compliant iff every finding is compliant.",
                                           examples=["must_amend"])
    advisory_offer_proposed: bool = Field(
        description="Whether the paid advisory offer (appui-conseil SCESS/ESUS) was proposed; "
                    "it is whenever the statutes must be amended.",
        examples=[True])
    reviewed_on: date = Field(description="Date of the review.", examples=["2024-02-20"])


class ApplicationAdmitted(DomainEvent, event_type="org.cress.membership.application-admitted.v1",
                          aggregate_type="application", aggregate_id_field="application_id"):
    """The board admitted the applicant: it can now be activated as a member."""

    application_id: str = _application_id()
    organisation_id: str = _organisation_id("Id of the admitted organisation.")
    legal_form: LegalForm = Field(description="Legal form of the applicant.", examples=["association"])
    decided_on: date = Field(description="Date of the board decision.", examples=["2024-03-14"])
    board_meeting_ref: str | None = Field(description="Reference of the board meeting (minutes), if any.",
                                          examples=["CA-2024-03"])


class ApplicationRefused(DomainEvent, event_type="org.cress.membership.application-refused.v1",
                         aggregate_type="application", aggregate_id_field="application_id"):
    """The board refused the application, for a stated reason."""

    application_id: str = _application_id()
    organisation_id: str = _organisation_id("Id of the refused organisation.")
    reason: str = Field(min_length=1, description="The board's reason for refusing.",
                        examples=["Statutes not amended to meet the 2014 law."])
    decided_on: date = Field(description="Date of the board decision.", examples=["2024-03-14"])
    board_meeting_ref: str | None = Field(description="Reference of the board meeting (minutes), if any.",
                                          examples=["CA-2024-03"])


# -- member ---------------------------------------------------------------------------------

def _year() -> Any:
    return Field(ge=EARLIEST_YEAR, le=LATEST_YEAR, description="The membership year (calendar year) the dues are for.",
                 examples=[2024])


class MemberActivated(DomainEvent, event_type="org.cress.membership.member-activated.v1",
                      aggregate_type="member", aggregate_id_field="organisation_id"):
    """An admitted organisation became an active member — for the first time (``period`` 1), or
    again after its membership was withdrawn or lapsed (``period`` 2, 3…: a new membership
    period of the same member, its history kept). Its dues of the year are invoiced at once (a
    ``dues-invoiced`` event follows) unless that year's dues were already paid in the previous
    period (then ``dues_cents`` is 0)."""

    organisation_id: str = _organisation_id("Id of the member organisation (the member's id).")
    application_id: str = Field(description="The admitted application.", examples=["app-8d2e41"])
    legal_form: LegalForm = Field(description="Legal form (code).", examples=["scic"])
    departement: str = Field(description="French département code.", examples=["75"])
    sector: str = Field(description="Sector of activity (filière).", examples=["alimentation durable"])
    esus_agreed: bool = Field(description="Whether the member holds the ESUS agreement.", examples=[False])
    since: date = Field(description="Date the membership started.", examples=["2024-03-20"])
    year: int = _year()
    dues_cents: int = Field(ge=0, description="Dues of the first year, in euro cents, from the fee scale.",
                            examples=[15_000])
    period: int = Field(1, ge=1, description="Which membership period of the organisation this starts: 1 when it "
                                             "first joins, 2+ when a withdrawn or lapsed organisation is admitted "
                                             "again (same member id; ``since`` is the start of this period). "
                                             "Absent from events published before periods existed: 1.",
                        examples=[2])
    imported: bool = Field(False, description="True when brought in by the register import (a fact of the "
                                                 "chamber's past, recorded as it happened), not recorded live.",
                           examples=[False])


class DuesInvoiced(DomainEvent, event_type="org.cress.membership.dues-invoiced.v1",
                   aggregate_type="member", aggregate_id_field="organisation_id"):
    """A year's dues were invoiced to a member."""

    organisation_id: str = _organisation_id("Id of the member organisation.")
    invoice_id: str = Field(description="Id of the dues invoice.", examples=["org-5f1c2a-2024"])
    year: int = _year()
    amount_cents: int = Field(ge=0, description="Amount due, in euro cents.", examples=[15_000])
    fee_bracket: str = Field(description="Label of the fee-scale bracket applied.", examples=["B2"])
    issued_on: date = Field(description="Date of issue.", examples=["2024-01-10"])
    due_on: date = Field(description="Payment deadline.", examples=["2024-02-09"])
    grace_ends_on: date = Field(description="Last day of the grace period; unpaid after it, the membership lapses.",
                                examples=["2024-04-09"])
    imported: bool = Field(False, description="True when brought in by the register import (a fact of the "
                                                 "chamber's past, recorded as it happened), not recorded live.",
                           examples=[False])


class DuesPaymentRecorded(DomainEvent, event_type="org.cress.membership.dues-payment-recorded.v1",
                          aggregate_type="member", aggregate_id_field="organisation_id"):
    """A payment (possibly partial) of a dues invoice was received."""

    organisation_id: str = _organisation_id("Id of the member organisation.")
    invoice_id: str = Field(description="Id of the invoice paid.", examples=["org-5f1c2a-2024"])
    payment_id: str = Field(description="Id of the payment (idempotency key).", examples=["pay-7731"])
    year: int = _year()
    amount_cents: int = Field(gt=0, description="Amount received, in euro cents.", examples=[10_000])
    method: PaymentMethod = Field(description="Means of payment (code).", examples=["transfer"])
    paid_on: date = Field(description="Date the payment was received.", examples=["2024-02-01"])
    balance_cents: int = Field(ge=0, description="What remains due on the invoice after this payment.",
                               examples=[5_000])
    fully_paid: bool = Field(description="True when this payment settles the invoice.", examples=[False])
    imported: bool = Field(False, description="True when brought in by the register import (a fact of the "
                                                 "chamber's past, recorded as it happened), not recorded live.",
                           examples=[False])


class DuesReminderSent(DomainEvent, event_type="org.cress.membership.dues-reminder-sent.v1",
                       aggregate_type="member", aggregate_id_field="organisation_id"):
    """A reminder was sent for an unpaid dues invoice."""

    organisation_id: str = _organisation_id("Id of the member organisation.")
    invoice_id: str = Field(description="Id of the unpaid invoice.", examples=["org-5f1c2a-2024"])
    year: int = _year()
    reminder_number: int = Field(ge=1, description="1 for the first reminder of this invoice, then 2, 3…",
                                 examples=[2])
    balance_cents: int = Field(gt=0, description="Amount still due, in euro cents.", examples=[15_000])
    sent_on: date = Field(description="Date the reminder was sent.", examples=["2024-02-20"])


class MembershipEnteredGracePeriod(DomainEvent,
                                   event_type="org.cress.membership.membership-entered-grace-period.v1",
                                   aggregate_type="member", aggregate_id_field="organisation_id"):
    """Dues are past their deadline: the member is still in good standing until the grace period ends."""

    organisation_id: str = _organisation_id("Id of the member organisation.")
    invoice_id: str = Field(description="The overdue invoice.", examples=["org-5f1c2a-2024"])
    year: int = _year()
    balance_cents: int = Field(gt=0, description="Amount overdue, in euro cents.", examples=[15_000])
    due_on: date = Field(description="The missed deadline.", examples=["2024-02-09"])
    grace_ends_on: date = Field(description="Last day of the grace period.", examples=["2024-04-09"])
    entered_on: date = Field(description="Date the grace period was recorded.", examples=["2024-02-10"])


class MembershipLapsed(DomainEvent, event_type="org.cress.membership.membership-lapsed.v1",
                       aggregate_type="member", aggregate_id_field="organisation_id"):
    """Dues stayed unpaid past the grace period: the membership lapsed. The unpaid invoices are
    written off; paying a new invoice renews the membership."""

    organisation_id: str = _organisation_id("Id of the member organisation.")
    year: int = _year()
    invoice_ids: list[str] = Field(description="The unpaid invoices written off.",
                                   examples=[["org-5f1c2a-2024"]])
    written_off_cents: int = Field(ge=0, description="Total unpaid amount written off, in euro cents.",
                                   examples=[15_000])
    grace_ended_on: date = Field(description="Last day of the grace period that was missed.",
                                 examples=["2024-04-09"])
    lapsed_on: date = Field(description="Date the lapse was recorded.", examples=["2024-04-10"])


class MembershipRenewed(DomainEvent, event_type="org.cress.membership.membership-renewed.v1",
                        aggregate_type="member", aggregate_id_field="organisation_id"):
    """A year's dues were paid in full: the membership runs for that year. Recorded for every
    year after the first, and for any payment that brings a member in grace or lapsed back to
    active."""

    organisation_id: str = _organisation_id("Id of the member organisation.")
    year: int = _year()
    invoice_id: str = Field(description="The invoice settled.", examples=["org-5f1c2a-2025"])
    previous_status: MemberStatus = Field(description="Status before the payment.", examples=["lapsed"])
    status: MemberStatus = Field(description="Status after the payment (active unless other dues are overdue).",
                                 examples=["active"])
    renewed_on: date = Field(description="Date of the settling payment.", examples=["2025-01-20"])
    imported: bool = Field(False, description="True when brought in by the register import (a fact of the "
                                                 "chamber's past, recorded as it happened), not recorded live.",
                           examples=[False])


class MembershipWithdrawn(DomainEvent, event_type="org.cress.membership.membership-withdrawn.v1",
                          aggregate_type="member", aggregate_id_field="organisation_id"):
    """The membership ended for good (resignation, dissolution, exclusion…)."""

    organisation_id: str = _organisation_id("Id of the former member organisation.")
    reason: WithdrawalReason = Field(description="Why the membership ended (code).", examples=["resignation"])
    detail: str | None = Field(description="Free-text precision on the reason (no personal data).",
                               examples=["Activity transferred to a partner SCIC."])
    previous_status: MemberStatus = Field(description="Status before withdrawal.", examples=["active"])
    outstanding_cents: int = Field(ge=0, description="Dues still unpaid at withdrawal, in euro cents.",
                                   examples=[0])
    withdrawn_on: date = Field(description="Date the withdrawal takes effect.", examples=["2024-11-30"])


# -- lifecycle additions (issue 10) ----------------------------------------------------------

class ApplicationWithdrawn(DomainEvent, event_type="org.cress.membership.application-withdrawn.v1",
                           aggregate_type="application", aggregate_id_field="application_id"):
    """The applicant withdrew its application before the board decided; it may apply again."""

    application_id: str = _application_id()
    organisation_id: str = _organisation_id("Id of the organisation that withdrew its application.")
    previous_status: str = Field(description="Where the application stood (submitted, welcome_meeting_held, "
                                             "statutes_reviewed).", examples=["welcome_meeting_held"])
    reason: str | None = Field(description="Why, as the applicant said it (no personal data).",
                               examples=["Projet de fusion en cours ; nous reviendrons l'an prochain."])
    withdrawn_on: date = Field(description="Date of the withdrawal.", examples=["2024-02-15"])


TOPICS = TOPICS + (
    Topic("membership.fee-scale", SERVICE, "fee_scale",
          description="The fee scale (barème) voted for each dues year, and its replacements. Key: the dues year."),
)


class FeeScaleBracket(BaseModel):
    """One line of a fee scale, as the events carry it."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(min_length=1, description="Short name of the bracket, shown on invoices.", examples=["B2"])
    max_headcount: int | None = Field(description="Largest headcount of the bracket; null: unbounded.",
                                      examples=[10])
    max_budget_cents: int | None = Field(description="Largest annual budget or turnover, in euro cents; null: "
                                                     "unbounded.", examples=[20_000_000])
    dues_cents: int = Field(ge=0, description="Yearly dues of the bracket, in euro cents.", examples=[15_000])


class FeeScaleAdopted(DomainEvent, event_type="org.cress.membership.fee-scale-adopted.v1",
                      aggregate_type="fee_scale", aggregate_id_field="year"):
    """The fee scale of a dues year was set (revision 1) or replaced (revision 2+). Invoices
    issued before keep their amount; those issued after for that year use this scale."""

    year: int = Field(ge=EARLIEST_YEAR, le=LATEST_YEAR, description="The dues year the scale is for.",
                      examples=[2027])
    revision: int = Field(ge=1, description="1 for the first scale of the year, 2+ for each replacement.",
                          examples=[1])
    brackets: list[FeeScaleBracket] = Field(
        description="The brackets, smallest first (the first one an organisation's headcount and budget both fit).",
        examples=[[{"label": "B1", "max_headcount": 2, "max_budget_cents": 5_000_000, "dues_cents": 5_000},
                   {"label": "B2", "max_headcount": None, "max_budget_cents": None, "dues_cents": 15_000}]])
    adopted_on: date = Field(description="Date of the decision (e.g. the general assembly's vote).",
                             examples=["2026-06-12"])
    reference: str | None = Field(description="Reference of the decision (AG resolution, minutes), if any.",
                                  examples=["AG-2026 résolution 4"])
    forced: bool = Field(description="True when it replaced a scale some of the year's invoices were already "
                                     "issued under (those keep their amount).", examples=[False])
    invoices_already_issued: int = Field(ge=0, description="How many invoices of that year existed when it was "
                                                           "adopted.", examples=[0])


__all__ = [
    "SERVICE", "TOPICS", "LegalForm", "LEGAL_FORM_LABELS", "ContactRole", "CONTACT_ROLE_LABELS",
    "StatutesReviewOutcome", "MemberStatus", "PaymentMethod", "WithdrawalReason",
    "WITHDRAWAL_REASON_LABELS", "StatutesFinding",
    "OrganisationRegistered", "OrganisationUpdated", "ContactAdded", "ContactRemoved",
    "ApplicationSubmitted", "WelcomeMeetingHeld", "StatutesReviewed", "ApplicationAdmitted",
    "ApplicationRefused",
    "MemberActivated", "DuesInvoiced", "DuesPaymentRecorded", "DuesReminderSent",
    "MembershipEnteredGracePeriod", "MembershipLapsed", "MembershipRenewed", "MembershipWithdrawn",
    "ApplicationWithdrawn", "FeeScaleBracket", "FeeScaleAdopted",
]


# == governance ("instances"): colleges, general assembly, board, commissions =================
# Four more aggregates, four more topics (added to ``TOPICS`` below):
#
# - ``college_assignment`` (key ``organisation_id``): staff's explicit college of a member
#   organisation, overriding the college its legal form gives under the statutes;
# - ``assembly`` (key ``assembly_id``): a general assembly (AG): convocation with its frozen roll
#   of voting rights, second convocation, attendance and proxies, quorum, ballots, resolutions
#   adopted or rejected (results per college), board candidacies, closing (the record is then
#   immutable);
# - ``board`` (key ``board_id``, one board per chamber): the board (CA) elected by the AG and
#   its mandates (start, end);
# - ``commission`` (key ``commission_id``): commissions and members' seminars, and which member
#   organisations take part (join / leave dates).
#
# Ids only: an organisation is a legal entity; no person's name, e-mail or phone ever enters
# these events. How a member voted is not published either (ballots are counted in the record):
# ``ballot-cast`` says who voted on what item, the results come with ``resolution-adopted`` /
# ``resolution-rejected`` and ``board-elected``.

TOPICS = TOPICS + (
    Topic("membership.college-assignment", SERVICE, "college_assignment",
          description="Colleges (collèges) staff assigned explicitly to member organisations, overriding "
                      "the college their legal form gives. Key: the organisation id."),
    Topic("membership.assembly", SERVICE, "assembly",
          description="General assemblies (AG): convocation and roll of voting rights, attendance, proxies, "
                      "quorum, ballots, resolutions adopted or rejected per college, closing."),
    Topic("membership.board", SERVICE, "board",
          description="The board (CA): elections by the general assembly and mandates started and ended."),
    Topic("membership.commission", SERVICE, "commission",
          description="Commissions and members' seminars: creation, member organisations joining and leaving."),
)


class Attendance(StrEnum):
    """How a member on an assembly's roll takes part in a session."""

    PRESENT = "present"
    REPRESENTED = "represented"  # gave a proxy (pouvoir) to a member present
    EXCUSED = "excused"
    ABSENT = "absent"


class VoteChoice(StrEnum):
    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class ResolutionKind(StrEnum):
    """Which majority of the statutes applies: ordinary, or extraordinary (statutes, dissolution…)."""

    ORDINARY = "ordinary"
    EXTRAORDINARY = "extraordinary"


class VotingRightsWithheld(StrEnum):
    """Why a member on an assembly's roll has no voting rights on the reference date."""

    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"
    NOT_IN_GOOD_STANDING = "not_in_good_standing"  # dues unpaid past their grace period
    DUES_UNPAID = "dues_unpaid"  # the reference year's dues not paid by the reference date (statutes)


class MandateEndReason(StrEnum):
    TERM_EXPIRED = "term_expired"
    RESIGNED = "resigned"
    MEMBERSHIP_ENDED = "membership_ended"
    OTHER = "other"


class CommissionKind(StrEnum):
    COMMISSION = "commission"
    SEMINAR = "seminar"  # a members' seminar (its sessions' attendance lives in the events service)


class CollegeResult(BaseModel):
    """The votes of one college on one resolution: counts of ballots and their weights."""

    model_config = ConfigDict(frozen=True)

    college: str = Field(description="College code.", examples=["associations"])
    for_count: int = Field(ge=0, description="Members voting for (the represented included).", examples=[12])
    against_count: int = Field(ge=0, description="Members voting against.", examples=[3])
    abstain_count: int = Field(ge=0, description="Members abstaining.", examples=[1])
    for_weight: int = Field(ge=0, description="Weighted votes for (count × the college's weight).", examples=[24])
    against_weight: int = Field(ge=0, description="Weighted votes against.", examples=[6])
    abstain_weight: int = Field(ge=0, description="Weighted abstentions.", examples=[2])


class ElectedSeat(BaseModel):
    """A board seat filled by an election."""

    model_config = ConfigDict(frozen=True)

    mandate_id: str = Field(description="Id of the mandate.", examples=["mdt-3b9e01c2d4f5"])
    organisation_id: str = Field(description="The elected member organisation.", examples=["org-5f1c2a"])
    college: str = Field(description="College of the seat.", examples=["cooperatives"])
    votes_weight: int = Field(ge=0, description="Weighted votes the candidate received.", examples=[31])
    end_on: date = Field(description="Last day of the mandate.", examples=["2054-06-11"])


def _assembly_id() -> Any:
    return Field(description="Id of the general assembly.", examples=["ag-7c1d2e3f4a5b"])


def _convocation_number() -> Any:
    return Field(ge=1, le=2, description="1 for the first convocation, 2 for the second (quorum not met).",
                 examples=[1])


class CollegeAssigned(DomainEvent, event_type="org.cress.membership.college-assigned.v1",
                      aggregate_type="college_assignment", aggregate_id_field="organisation_id"):
    """Staff set a member organisation's college explicitly from a date (or, with ``college``
    null, gave it back the college its legal form gives under the statutes)."""

    organisation_id: str = _organisation_id("Id of the member organisation.")
    college: str | None = Field(description="College code; null: back to the legal form's college.",
                                examples=["networks"])
    since_on: date = Field(description="First day the assignment holds.", examples=["2050-01-10"])


class AssemblyConvened(DomainEvent, event_type="org.cress.membership.assembly-convened.v1",
                       aggregate_type="assembly", aggregate_id_field="assembly_id"):
    """A general assembly was convened; its roll of voting rights (as of ``reference_on``) is frozen."""

    assembly_id: str = _assembly_id()
    meeting_on: date = Field(description="Date of the assembly.", examples=["2051-06-12"])
    convened_on: date = Field(description="Date the convocation was sent.", examples=["2051-05-20"])
    reference_on: date = Field(description="Date the voting rights are assessed on.", examples=["2051-05-20"])
    notice_days: int = Field(ge=0, description="Minimum notice the statutes require, in days.", examples=[15])
    resolution_ids: list[str] = Field(description="The agenda's resolutions, in order.", examples=[["r1", "r2"]])
    voters: int = Field(ge=0, description="Members with voting rights on the reference date.", examples=[40])
    non_voters: int = Field(ge=0, description="Members on the roll without voting rights.", examples=[3])
    voters_per_college: dict[str, int] = Field(description="Members with voting rights per college.",
                                               examples=[{"associations": 25, "cooperatives": 15}])


class AssemblyReconvened(DomainEvent, event_type="org.cress.membership.assembly-reconvened.v1",
                         aggregate_type="assembly", aggregate_id_field="assembly_id"):
    """The quorum was not met: the assembly was convened a second time (same roll)."""

    assembly_id: str = _assembly_id()
    convocation_number: int = _convocation_number()
    meeting_on: date = Field(description="Date of the second session.", examples=["2051-06-26"])
    convened_on: date = Field(description="Date the second convocation was sent.", examples=["2051-06-12"])
    notice_days: int = Field(ge=0, description="Minimum notice of a second convocation, in days.", examples=[7])


class AttendanceRecorded(DomainEvent, event_type="org.cress.membership.attendance-recorded.v1",
                         aggregate_type="assembly", aggregate_id_field="assembly_id"):
    """A member's attendance at a session was recorded (present, excused, absent). A proxy
    records ``represented`` with ``proxy-given`` instead."""

    assembly_id: str = _assembly_id()
    organisation_id: str = _organisation_id("The member organisation.")
    attendance: Attendance = Field(description="Attendance (code).", examples=["present"])
    convocation_number: int = _convocation_number()
    recorded_on: date = Field(description="Date recorded.", examples=["2051-06-12"])


class ProxyGiven(DomainEvent, event_type="org.cress.membership.proxy-given.v1",
                 aggregate_type="assembly", aggregate_id_field="assembly_id"):
    """A member gave its proxy (pouvoir) to a member present with voting rights: it is represented."""

    assembly_id: str = _assembly_id()
    grantor_id: str = Field(description="The represented member organisation.", examples=["org-11aa22"])
    holder_id: str = Field(description="The member organisation holding the proxy.", examples=["org-33bb44"])
    convocation_number: int = _convocation_number()
    given_on: date = Field(description="Date recorded.", examples=["2051-06-12"])


class _QuorumFigures(DomainEvent):
    assembly_id: str = _assembly_id()
    convocation_number: int = _convocation_number()
    counted: int = Field(ge=0, description="Voters present or represented (their weights if the quorum is weighted).",
                         examples=[18])
    voters: int = Field(ge=0, description="All voters of the roll (their weights if weighted).", examples=[40])
    required: int = Field(ge=0, description="The least ``counted`` that meets the quorum.", examples=[10])
    weighted: bool = Field(description="Whether the quorum counts weights.", examples=[False])
    opened_on: date = Field(description="Date of the session.", examples=["2051-06-12"])


class AssemblyOpened(_QuorumFigures, event_type="org.cress.membership.assembly-opened.v1",
                     aggregate_type="assembly", aggregate_id_field="assembly_id"):
    """The session opened with its quorum met (or no quorum required): votes may be cast."""


class AssemblyQuorumNotReached(_QuorumFigures, event_type="org.cress.membership.assembly-quorum-not-reached.v1",
                               aggregate_type="assembly", aggregate_id_field="assembly_id"):
    """The quorum was not met: the assembly cannot deliberate; a second convocation may follow."""


class BallotCast(DomainEvent, event_type="org.cress.membership.ballot-cast.v1",
                 aggregate_type="assembly", aggregate_id_field="assembly_id"):
    """A member voted on an agenda item, for itself and the members it represents. The choice is
    not published (see the results in ``resolution-adopted`` / ``resolution-rejected`` / ``board-elected``)."""

    assembly_id: str = _assembly_id()
    item_id: str = Field(description="The resolution's id, or ``board-election``.", examples=["r1"])
    voter_id: str = Field(description="The member organisation voting.", examples=["org-33bb44"])
    represented_ids: list[str] = Field(description="The members it voted for by proxy.", examples=[["org-11aa22"]])
    cast_on: date = Field(description="Date of the vote.", examples=["2051-06-12"])


class _ResolutionDecided(DomainEvent):
    assembly_id: str = _assembly_id()
    resolution_id: str = Field(description="The resolution's id on the agenda.", examples=["r1"])
    kind: ResolutionKind = Field(description="Which majority applied (code).", examples=["ordinary"])
    majority: str = Field(description="The statutes' majority rule applied, in words.",
                          examples=["more than 1/2 of the weighted votes for or against (abstentions not counted)"])
    results: list[CollegeResult] = Field(description="Votes per college.",
                                         examples=[[{"college": "associations", "for_count": 12, "against_count": 3,
                                                     "abstain_count": 1, "for_weight": 24, "against_weight": 6,
                                                     "abstain_weight": 2}]])
    for_weight: int = Field(ge=0, description="Votes for, weighted if the majority is.", examples=[24])
    against_weight: int = Field(ge=0, description="Votes against, weighted if the majority is.", examples=[6])
    abstain_weight: int = Field(ge=0, description="Abstentions, weighted if the majority is.", examples=[2])
    decided_on: date = Field(description="Date of the decision.", examples=["2051-06-12"])


class ResolutionAdopted(_ResolutionDecided, event_type="org.cress.membership.resolution-adopted.v1",
                        aggregate_type="assembly", aggregate_id_field="assembly_id"):
    """A resolution was adopted by the statutes' majority."""


class ResolutionRejected(_ResolutionDecided, event_type="org.cress.membership.resolution-rejected.v1",
                         aggregate_type="assembly", aggregate_id_field="assembly_id"):
    """A resolution did not get the statutes' majority."""


class CandidacyRegistered(DomainEvent, event_type="org.cress.membership.candidacy-registered.v1",
                          aggregate_type="assembly", aggregate_id_field="assembly_id"):
    """A member with voting rights stood for a board seat of its college at this assembly."""

    assembly_id: str = _assembly_id()
    organisation_id: str = _organisation_id("The candidate member organisation.")
    college: str = Field(description="The college whose seat it stands for.", examples=["associations"])
    registered_on: date = Field(description="Date of the candidacy.", examples=["2051-06-01"])


class AssemblyClosed(DomainEvent, event_type="org.cress.membership.assembly-closed.v1",
                     aggregate_type="assembly", aggregate_id_field="assembly_id"):
    """The assembly closed: its record (attendance, quorum, results) can no longer change."""

    assembly_id: str = _assembly_id()
    convocation_number: int = _convocation_number()
    closed_on: date = Field(description="Date of closing.", examples=["2051-06-12"])
    present: int = Field(ge=0, description="Members present.", examples=[15])
    represented: int = Field(ge=0, description="Members represented by proxy.", examples=[4])
    excused: int = Field(ge=0, description="Members excused.", examples=[6])
    absent: int = Field(ge=0, description="Members on the roll absent.", examples=[18])
    resolutions_adopted: list[str] = Field(description="Ids of the resolutions adopted.", examples=[["r1"]])
    resolutions_rejected: list[str] = Field(description="Ids of the resolutions rejected.", examples=[["r2"]])


class BoardElected(DomainEvent, event_type="org.cress.membership.board-elected.v1",
                   aggregate_type="board", aggregate_id_field="board_id"):
    """A general assembly elected board members; each seat's mandate starts (``mandate-started``)."""

    board_id: str = Field(description="Id of the board (one per chamber).", examples=["board"])
    assembly_id: str = _assembly_id()
    elected_on: date = Field(description="Date of the election (the assembly's session).", examples=["2051-06-12"])
    seats: list[ElectedSeat] = Field(description="The seats filled.",
                                     examples=[[{"mandate_id": "mdt-3b9e01c2d4f5", "organisation_id": "org-5f1c2a",
                                                 "college": "associations", "votes_weight": 31,
                                                 "end_on": "2054-06-11"}]])
    vacant_seats: dict[str, int] = Field(description="Seats left vacant per college (too few candidates).",
                                         examples=[{"networks": 1}])


class MandateStarted(DomainEvent, event_type="org.cress.membership.mandate-started.v1",
                     aggregate_type="board", aggregate_id_field="board_id"):
    """A member organisation took a board seat."""

    board_id: str = Field(description="Id of the board.", examples=["board"])
    mandate_id: str = Field(description="Id of the mandate.", examples=["mdt-3b9e01c2d4f5"])
    organisation_id: str = _organisation_id("The member organisation sitting on the board.")
    college: str = Field(description="College of the seat.", examples=["associations"])
    assembly_id: str = _assembly_id()
    start_on: date = Field(description="First day of the mandate.", examples=["2051-06-12"])
    end_on: date = Field(description="Last day of the mandate (term).", examples=["2054-06-11"])


class MandateEnded(DomainEvent, event_type="org.cress.membership.mandate-ended.v1",
                   aggregate_type="board", aggregate_id_field="board_id"):
    """A board mandate ended (term expired, resignation, end of membership…)."""

    board_id: str = Field(description="Id of the board.", examples=["board"])
    mandate_id: str = Field(description="Id of the mandate.", examples=["mdt-3b9e01c2d4f5"])
    organisation_id: str = _organisation_id("The member organisation leaving its seat.")
    college: str = Field(description="College of the seat.", examples=["associations"])
    ended_on: date = Field(description="Last day of the mandate.", examples=["2053-01-31"])
    reason: MandateEndReason = Field(description="Why it ended (code).", examples=["resigned"])


def _commission_id() -> Any:
    return Field(description="Id of the commission or seminar.", examples=["com-2a3b4c5d6e7f"])


class CommissionCreated(DomainEvent, event_type="org.cress.membership.commission-created.v1",
                        aggregate_type="commission", aggregate_id_field="commission_id"):
    """A commission or members' seminar was set up."""

    commission_id: str = _commission_id()
    kind: CommissionKind = Field(description="commission or seminar (code).", examples=["commission"])
    name: str = Field(description="Its name (not personal data).", examples=["Commission transition écologique"])
    created_on: date = Field(description="Date of creation.", examples=["2051-01-15"])


class CommissionMemberJoined(DomainEvent, event_type="org.cress.membership.commission-member-joined.v1",
                             aggregate_type="commission", aggregate_id_field="commission_id"):
    """A member organisation joined a commission or seminar."""

    commission_id: str = _commission_id()
    organisation_id: str = _organisation_id("The member organisation.")
    joined_on: date = Field(description="First day it takes part.", examples=["2051-02-01"])


class CommissionMemberLeft(DomainEvent, event_type="org.cress.membership.commission-member-left.v1",
                           aggregate_type="commission", aggregate_id_field="commission_id"):
    """A member organisation left a commission or seminar."""

    commission_id: str = _commission_id()
    organisation_id: str = _organisation_id("The member organisation.")
    left_on: date = Field(description="Last day it took part.", examples=["2052-03-31"])


__all__ += [
    "Attendance", "VoteChoice", "ResolutionKind", "VotingRightsWithheld", "MandateEndReason", "CommissionKind",
    "CollegeResult", "ElectedSeat",
    "CollegeAssigned", "AssemblyConvened", "AssemblyReconvened", "AttendanceRecorded", "ProxyGiven",
    "AssemblyOpened", "AssemblyQuorumNotReached", "BallotCast", "ResolutionAdopted", "ResolutionRejected",
    "CandidacyRegistered", "AssemblyClosed", "BoardElected", "MandateStarted", "MandateEnded",
    "CommissionCreated", "CommissionMemberJoined", "CommissionMemberLeft",
]


# == personal data (GDPR): erasure requests =====================================================
# One more aggregate, one more topic: ``erasure_request`` (key ``request_id``), membership's audit
# record of a person's request to have their data erased (:mod:`contracts.privacy`). The request
# names the person by their subject reference only (a keyed hash of their e-mail), never by the
# address itself; who asked stays in the audit record. Membership also holds personal data (the
# contacts of organisations): it confirms its own erasure on this topic, like every holder on its own.

TOPICS = TOPICS + (
    Topic("membership.erasure-request", SERVICE, AGGREGATE,
          description="Personal-data erasure requests (subject reference only: no e-mail), membership's "
                      "confirmation that it erased, and their completion once every holder confirmed."),
)


class PersonalDataErasureRequested(DomainEvent, event_type="org.cress.membership.personal-data-erasure-requested.v1",
                                   aggregate_type=AGGREGATE, aggregate_id_field="request_id"):
    """Someone asked for a person's data to be erased: every holder erases or anonymises what it
    holds about them and confirms with its ``personal-data-erased`` event."""

    request_id: str = Field(description="Id of the request.", examples=["era-5f1c2a9b3d7e"])
    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN,
                             description="The person, as their subject reference: HMAC-SHA256 of their normalised "
                                         "e-mail address under the platform's privacy key (contracts.privacy). A "
                                         "holder hashes the addresses it holds to find them.",
                             examples=["5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592"])
    holders: list[str] = Field(description="The services expected to confirm (the holders of personal data when "
                                           "the request was made).", examples=[["membership", "events"]])
    requested_at: AwareDatetime = Field(description="When (server time).", examples=["2026-11-27T10:00:00Z"])


class MembershipPersonalDataErased(PersonalDataErased, event_type="org.cress.membership.personal-data-erased.v1",
                                   aggregate_type=AGGREGATE, aggregate_id_field="request_id"):
    """Membership removed the subject's contacts from every organisation (``erased["contacts"]``);
    each removal also published its ``contact-removed``."""


class PersonalDataErasureCompleted(DomainEvent, event_type="org.cress.membership.personal-data-erasure-completed.v1",
                                   aggregate_type=AGGREGATE, aggregate_id_field="request_id"):
    """Every holder the request named has confirmed: the person's data are erased everywhere."""

    request_id: str = Field(description="Id of the request.", examples=["era-5f1c2a9b3d7e"])
    erased: dict[str, dict[str, int]] = Field(description="Each holder's counts, by service then kind.",
                                              examples=[{"membership": {"contacts": 1},
                                                         "events": {"registrations": 2, "survey_invitations": 0}}])
    completed_at: AwareDatetime = Field(description="When the last confirmation arrived (server time).",
                                        examples=["2026-11-27T10:00:03Z"])


__all__ += ["PersonalDataErasureRequested", "MembershipPersonalDataErased", "PersonalDataErasureCompleted"]
