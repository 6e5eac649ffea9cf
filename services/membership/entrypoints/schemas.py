"""Request bodies of the membership API (what a client sends), with examples for the docs.

Responses are the domain's own models (``Organisation``, ``MembershipApplication``,
``Member``) in :class:`runtime.api.Page` for lists. Business rules (SIRET checksum, ESUS date, workflow order)
are checked by the domain and come back as 422/409 problem details.
"""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import EARLIEST_YEAR, LATEST_YEAR
from contracts.membership import ContactRole, LegalForm, PaymentMethod, StatutesFinding, WithdrawalReason
from runtime.api import Body, partial
from services.membership.domain.fee_scale import FeeBracket, FeeScale
from services.membership.domain.fee_scales import ScaleRevision


class Dated(Body):
    on: date | None = Field(None, description="Date of the fact (defaults to today, Europe/Paris).",
                            examples=["2026-03-02"])


class OrganisationIn(Body):
    siret: str = Field(description="SIRET: 14 digits with a valid checksum (spaces allowed).",
                       examples=["732 829 320 00074"])
    name: str = Field(min_length=1, max_length=200, examples=["Les Ateliers Solidaires"])
    legal_form: LegalForm = Field(examples=["association"])
    esus_agreed: bool = Field(False, description="Holds the ESUS agreement (agrément ESUS).")
    esus_agreed_on: date | None = Field(None, description="Date of the ESUS agreement; required iff agreed.")
    departement: str = Field(description="Département code: 01–95, 2A, 2B, 971–976.", examples=["93"])
    commune: str = Field(min_length=1, max_length=100, examples=["Montreuil"])
    sector: str = Field(min_length=1, max_length=100, description="Sector (filière).",
                        examples=["économie circulaire"])
    headcount: int = Field(ge=0, description="Number of employees.", examples=[12])
    annual_budget_cents: int = Field(ge=0, description="Annual budget or turnover, in euro cents.",
                                     examples=[45_000_000])
    on: date | None = Field(None, description="Registration date (defaults to today).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "siret": "73282932000074", "name": "Les Ateliers Solidaires", "legal_form": "association",
        "esus_agreed": True, "esus_agreed_on": "2022-05-17", "departement": "93", "commune": "Montreuil",
        "sector": "économie circulaire", "headcount": 12, "annual_budget_cents": 45_000_000}]})


OrganisationPatch = partial(OrganisationIn, name="OrganisationPatch", examples=[{"headcount": 15}])


class ContactIn(Body):
    name: str = Field(min_length=1, max_length=200, examples=["Camille Martin"])
    role: ContactRole = Field(examples=["membership_contact"])
    email: str | None = Field(None, examples=["camille.martin@example.org"])
    phone: str | None = Field(None, examples=["+33 1 23 45 67 89"])
    consent_on: date = Field(description="Date the person consented to their data being kept (GDPR).",
                             examples=["2026-03-02"])
    on: date | None = None


class ApplicationIn(Dated):
    organisation_id: str = Field(examples=["org-5f1c2a9b3d7e"])


class StatutesReviewIn(Dated):
    findings: list[StatutesFinding] = Field(min_length=1, description="One finding per article reviewed.",
                                            examples=[[{"article": "Art. 1 — Objet social", "compliant": True},
                                                       {"article": "Art. 12 — Affectation des bénéfices",
                                                        "compliant": False,
                                                        "comment": "Moins de 50 % des bénéfices en réserves."}]])


class AdmissionIn(Dated):
    board_meeting_ref: str | None = Field(None, max_length=100, examples=["CA-2026-03"])


class RefusalIn(AdmissionIn):
    reason: str = Field(min_length=1, max_length=2000, examples=["Activité hors du champ de l'ESS."])


class ApplicationWithdrawalIn(Dated):
    reason: str | None = Field(None, max_length=2000, description="Why the applicant withdraws (no personal data).",
                               examples=["Projet de fusion en cours ; nous reviendrons l'an prochain."])


class ActivationIn(Dated):
    application_id: str = Field(description="The admitted application.", examples=["app-8d2e41a0c9f3"])


class InvoiceIn(Dated):
    year: int = Field(ge=EARLIEST_YEAR, le=LATEST_YEAR, examples=[2026])


class PaymentIn(InvoiceIn):
    amount_cents: int = Field(gt=0, description="Amount received, in euro cents.", examples=[15_000])
    payment_id: str | None = Field(None, max_length=100,
                                   description="Your reference of the payment (idempotency key); generated if absent.",
                                   examples=["VIR-2026-0042"])
    method: PaymentMethod = Field(PaymentMethod.TRANSFER, examples=["transfer"])


class WithdrawalIn(Dated):
    reason: WithdrawalReason = Field(examples=["resignation"])
    detail: str | None = Field(None, max_length=2000, description="No personal data.")


class FeeScaleIn(Dated):
    brackets: list[FeeBracket] = Field(
        min_length=1, description="The brackets, smallest first; bounds rise strictly, dues do not fall, the last "
                                  "bracket is unbounded (null bounds).",
        examples=[[{"label": "B1", "max_headcount": 2, "max_budget_cents": 5_000_000, "dues_cents": 5_000},
                   {"label": "B2", "max_headcount": 10, "max_budget_cents": 20_000_000, "dues_cents": 15_000},
                   {"label": "B3", "max_headcount": None, "max_budget_cents": None, "dues_cents": 40_000}]])
    reference: str | None = Field(None, max_length=200, description="The decision (AG resolution, minutes).",
                                  examples=["AG-2026 résolution 4"])
    force: bool = Field(False, description="Replace the scale although invoices of that year were already issued "
                                           "(they keep their amount; only later invoices follow the new scale).")


class FeeScaleInForce(BaseModel):
    year: int
    source: str = Field(description="voted: adopted for that year through the API; default: the settings' scale.",
                        examples=["voted"])
    scale: FeeScale
    revision: int | None = None
    adopted_on: date | None = None
    reference: str | None = None
    forced: bool = False
    history: list[ScaleRevision] = Field(default_factory=list, description="Earlier revisions, oldest first.")


class Standing(BaseModel):
    member_id: str
    on: date
    in_good_standing: bool
    status: str


class RefusedMember(BaseModel):
    member_id: str
    detail: str = Field(description="Why: the change due on that date would come before this later fact.")
    later_fact: str = Field(examples=["payment VIR-2023-12 of invoice org-5f1c2a-2022 on 2023-01-20"])


class BatchResult(BaseModel):
    on: date
    counts: dict[str, int]
    refused: list[RefusedMember] = Field(
        default_factory=list, description="Deadlines: members whose change due on that date would come before a "
                                          "fact recorded later (not changed; date the run later, or handle them).")


class DuesRun(BaseModel):
    run: str = Field(description="deadlines:<day> or invoicing:<year>.", examples=["deadlines:2026-03-02"])
    kind: str = Field(examples=["deadlines"])
    on: date = Field(description="The day it ran for.")
    counts: dict[str, int] = Field(examples=[{"examined": 312, "changed": 4}])
    ran_at: datetime
    runner: str | None = Field(None, description="The process that ran it (host:pid:id).")


class RegisterFault(BaseModel):
    line: int = Field(description="Line number in the file (the header is line 1).", examples=[17])
    field: str = Field(examples=["amount_cents"])
    message: str = Field(examples=["amount_cents: '12,5' is not a whole number"])


class RegisterImportResult(BaseModel):
    counts: dict[str, int] = Field(examples=[{"lines": 1204, "organisations": 300, "members": 300, "invoices": 2400,
                                              "payments": 2390, "unchanged": 0, "rejected": 4, "done": 1204}])
    faults: list[RegisterFault] = Field(description="The bad lines, by line number (the first 1,000).")
    faults_truncated: bool
    imported_on: date


class YearFigures(BaseModel):
    year: int
    applications_submitted: int
    applications_admitted: int
    applications_refused: int
    applications_withdrawn: int = 0
    members_joined: int
    members_reinstated: int
    members_rejoined: int = Field(0, description="Of members_joined, organisations admitted again after their "
                                                 "membership was withdrawn or lapsed (a new membership period).")
    members_lapsed: int
    members_withdrawn: int
    members_at_year_end: int
    growth_percent: float | None = Field(description="Growth of the members at year end, % of the year before.")
    dues_invoiced_cents: int = Field(description="Dues OF this year invoiced (by dues year).")
    dues_collected_cents: int = Field(description="Payments of the dues OF this year, whenever they came in "
                                                  "(by dues year: the 2023 dues paid in January 2024 count in 2023).")
    dues_received_cents: int = Field(0, description="Payments that came in DURING this year, whatever dues year "
                                                    "they paid (by payment date: the 2023 dues paid in January "
                                                    "2024 count in 2024) — the treasurer's figure.")
    dues_written_off_cents: int = Field(description="Dues OF this year written off when a membership lapsed.")
