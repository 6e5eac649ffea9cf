"""Events of the procurement service ("Développement d'affaires"): PAMS (public buyers), OSER
(private companies) and Prom'ESS Europe — suppliers and sourcing, buyers and their engagements,
buyers' needs and their dispatch to suppliers, purchase diagnostics, and quotes.

Five aggregates, five topics (key = the aggregate id, so each aggregate's events keep their order):

- ``supplier`` (key ``supplier_id``): an ESS organisation's supplier profile (sectors, services,
  territories served, capacity, kinds and labels, references, past public contracts) and the
  groupings suppliers form to answer a need together;
- ``buyer`` (key ``buyer_id``): a public or private buyer, its PAMS or OSER engagements and their
  phases, its conventions with the chamber, and every intervention of the team with it;
- ``need`` (key ``need_id``): a buyer's need (tender, quote request, sourcing) from draft to award
  or abandonment, its dispatch to matching suppliers, each supplier's funnel, questions and
  answers, and the impact survey after the deadline;
- ``diagnostic`` (key ``diagnostic_id``): a purchase diagnostic: a buyer's spend file imported,
  matched against the ESS organisations, and its results;
- ``quote`` (key ``quote_id``): Prom'ESS Europe's individual diagnostics and paid offers by quote
  (draft → sent → accepted / declined / expired), with the member discount.

Organisations' identity and membership come from membership's events (local projections): events
here carry organisation ids. Personal data (names, e-mails, phones of contacts) never enter an
event. Dates are ``date`` named ``*_on``; instants are timezone-aware ``datetime`` named ``*_at``;
money is an integer number of euro cents named ``*_cents``; enumerations travel as their
lower-case code.
"""
from __future__ import annotations

from contracts.procurement.buyers import *  # noqa: F401,F403
from contracts.procurement.diagnostics import *  # noqa: F401,F403
from contracts.procurement.needs import *  # noqa: F401,F403
from contracts.procurement.quotes import *  # noqa: F401,F403
from contracts.procurement.suppliers import *  # noqa: F401,F403
from contracts.procurement.vocabulary import *  # noqa: F401,F403
from contracts.topics import Topic

SERVICE = "procurement"

TOPICS: tuple[Topic, ...] = (
    Topic("procurement.supplier", SERVICE, "supplier",
          description="Supplier profiles of ESS organisations (sectors, territories, kinds, labels, references) "
                      "and groupings of suppliers answering a need together."),
    Topic("procurement.buyer", SERVICE, "buyer",
          description="Public and private buyers, their PAMS and OSER engagements and phases, conventions with "
                      "local authorities, and the team's interventions."),
    Topic("procurement.need", SERVICE, "need",
          description="Buyers' needs from draft to award: validation, dispatch to matching suppliers, each "
                      "supplier's funnel, questions, award, impact survey."),
    Topic("procurement.diagnostic", SERVICE, "diagnostic",
          description="Purchase diagnostics: spend files imported and matched against ESS organisations."),
    Topic("procurement.quote", SERVICE, "quote",
          description="Prom'ESS Europe: individual diagnostics and quotes for paid support, with the member "
                      "discount."),
)
