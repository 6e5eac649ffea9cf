"""The membership service's domain ("Vie interne"): pure model, no I/O.

Imports only the standard library, pydantic, :mod:`contracts` and :mod:`runtime.errors` /
:mod:`runtime.aggregate`. Time is always passed in (``on: date``); commands record events
(``pull_events()``) and never touch ``version`` (the repository bumps it).

Aggregates
----------
- :class:`Organisation` — an ESS organisation (SIRET, legal form, ESUS agreement, département,
  commune, sector, headcount, budget) and its contacts (personal data, kept out of events).
- :class:`MembershipApplication` — the joining workflow::

      submit → hold_welcome_meeting → [review_statutes, commercial companies (SCESS) only;
      repeatable after a must_amend outcome] → admit | refuse(reason)

  A step out of order raises ``Conflict`` naming the current state and the expected step.
  ``review_statutes`` on a non-commercial applicant is a ``Conflict`` too: that step is not on
  its path. A commercial company is admitted only after a compliant review; the paid advisory
  offer is proposed whenever the statutes must be amended.
- :class:`Member` — keyed by organisation id, created by :meth:`Member.activate` from an
  admitted application; yearly dues from the :class:`FeeScale` (invoice, partial payments,
  overpayment rejected, reminders), grace period after the deadline, lapse after it (unpaid
  invoices written off), renewal by paying a new invoice, withdrawal with a reason (until admitted again).

  A withdrawn or lapsed organisation admitted again starts a new membership period on the
  same Member (:meth:`Member.start_period`, ``MemberActivated`` with ``period`` 2, 3…): the
  member id stays the organisation id, the history is kept (``Member.periods``).

  Every status change is kept in ``Member.status_history`` (:class:`StatusChange`: ``status``,
  ``since``); documents stored without it get a history derived from ``since`` and the current
  state.

- :class:`~services.membership.domain.privacy.ErasureRequest` — the audit record of a request to
  erase a person's data in every service (GDPR): who asked, when, the person's subject reference
  (never their e-mail), each holder's confirmation; complete once every holder has confirmed.

Good standing
-------------
``Member.in_good_standing(on)`` answers for any date ``on``, past included (e.g. "members in
good standing on 31 Dec 2023" for the annual report). It is true iff the status in force on
``on`` (``Member.status_on(on)``: the last status change with ``since <= on``; none before the
membership started) is ``active`` or ``grace_period``, and no invoice had, on ``on``, a balance
past its grace end: for each invoice with ``grace_ends_on < on``, the payments made on or
before ``on`` covered its amount (an invoice written off after ``on`` counts by its payments
as of ``on``; one written off by ``on`` is ignored — the member had lapsed). Late dues within
the grace period keep a member in good standing; a member is not in good standing while
lapsed or once withdrawn, but was before.

Errors: ``InvalidInput`` (422, names the field), ``Conflict`` (409: wrong state or
duplicate), ``NotFound`` (404: unknown contact or dues year) — all from :mod:`runtime.errors`.
"""
from contracts.membership import (ContactRole, LegalForm, MemberStatus, PaymentMethod, StatutesFinding,
                                  StatutesReviewOutcome, WithdrawalReason)

from .application import ApplicationStatus, MembershipApplication, StatutesReview
from .fee_scale import DEFAULT_DUES_TERMS, DEFAULT_FEE_SCALE, DuesTerms, FeeBracket, FeeScale
from .member import DuesInvoice, DuesPayment, Member, MembershipPeriod, StatusChange
from .organisation import Contact, Organisation
from runtime.siret import is_valid_siret, normalize_siret, siren_of, validate_siret
from ._rules import DEPARTEMENTS

__all__ = [
    "Organisation", "Contact", "MembershipApplication", "ApplicationStatus", "StatutesReview",
    "Member", "DuesInvoice", "DuesPayment", "StatusChange", "MembershipPeriod",
    "FeeScale", "FeeBracket", "DEFAULT_FEE_SCALE", "DuesTerms", "DEFAULT_DUES_TERMS",
    "LegalForm", "ContactRole", "StatutesFinding", "StatutesReviewOutcome", "MemberStatus", "PaymentMethod",
    "WithdrawalReason",
    "is_valid_siret", "validate_siret", "normalize_siret", "siren_of", "DEPARTEMENTS",
]
