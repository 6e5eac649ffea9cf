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

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import EARLIEST_YEAR, LATEST_YEAR, DomainEvent
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
