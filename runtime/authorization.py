"""Who may call what: every operation of every service, in one table (issue 12).

The table below is the platform's authorization, declared once. One line per operation, as each
service's OpenAPI document names it (method, path template), plus the few routes the document
leaves out (the observatory's page and its static files, FastAPI's ``/docs``, ``/redoc``,
``/openapi.json``). Under each service's header ``[name]  staff:<team>`` (the team that runs it),
eight callers, each with its answer:

=========  ==================================================================================
admin      a token with ``admin``
own        staff of the team that runs the service (``staff:<team>`` of the header)
other      staff of another team (``staff:<another team>``, no other role)
read       ``reader``
dpo        ``privacy``: the chamber's data protection officer
part       ``partner``, on its own resources (a webhook endpoint it registered, its messages)
p-oth      ``partner``, on another partner's resources; same as ``part`` where the operation is
           not about a partner's resource
anon       no token at all
=========  ==================================================================================

``yes`` the caller gets past authorization (the operation may still answer 404, 409, 422…);
``no`` it is refused: 403 (401 without a token); ``404`` it is refused as if the resource did not
exist (a partner never learns that another partner's endpoint or message exists).

The services' gates (:func:`runtime.auth.allow`) and this table cannot drift apart unnoticed:
``tests/unit/test_authorization_table.py`` compares each route's gate with its line, and
``tests/integration/test_authorization.py`` calls every cell with a real token on the running
services (0 unexpected allows, 0 unexpected refusals) and fails when an operation of an OpenAPI
document has no line here, or a line names an operation that does not exist.

The decisions, and why
----------------------
- **admin** may do everything, except read or rotate a partner's webhook signing secret: only the
  partner holds its key (no one at the chamber can forge a delivery in its name).
- **Staff** read and write the service their team runs. Staff of another team get nothing from a
  service that is not theirs: roles add up, and a colleague who needs to read another team's work
  is given ``reader`` too (tokens say what their holder needs; no team writes in another's data).
- **reader** (board members, the accountant, auditors, dashboards) reads everything the teams read
  **except personal data and credentials**: the chamber keeps people's names, e-mails and phones for
  the work of the team that collected them (GDPR's data minimisation), and a credential (a signed
  link, a badge, an invitation token, a webhook secret) lets its holder act. So readers are refused
  the operations whose purpose is people (an event's registrations, a badge, one person's calendar,
  a convention's participants and their agendas, survey invitations, respondents' free text,
  meeting requests' messages), and where an operation mixes figures with people, readers get the
  figures and the people blanked (organisations without their contacts, survey non-respondents as
  ids, needs' funnels without link tokens). Everything else — figures, reports, the directory,
  organisations, members, dues, governance, procurement's records — a reader reads.
  Webhook endpoints, messages and attempts are a partner's own configuration and traffic (URLs
  often carry the partner's own credentials, attempts its servers' answers): the partner and
  ``staff:partnerships`` only; the catalogue of event types is documentation, open to readers.
- **partner** (a financing body, a local authority, a network) gets the partner endpoints: who is
  a member in good standing, the published events catalogue (drafts answer 404), and its own
  webhook endpoints, messages and secrets. Another partner's endpoint or message answers 404, as an
  unknown id does; naming another partner when registering an endpoint is a 403.
- **privacy** (the chamber's data protection officer) reaches one person's data, exported or
  erased (``/personal-data``, erasure requests: :mod:`runtime.privacy`), and nothing else; staff and
  readers do not reach those operations (a whole person's file across services is the officer's).
- **No token** reaches only health, readiness, metrics, the documents (OpenAPI, AsyncAPI, docs),
  the observatory's page shell (its data calls need a token), and the signed links — survey
  answers, suppliers' need links, impact surveys — where the signed token in the path is the
  credential (a forged one is a 422 naming ``token``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any


class Caller(StrEnum):
    """The columns of the table: who calls."""

    ADMIN = "admin"
    OWN_STAFF = "own"
    OTHER_STAFF = "other"
    READER = "read"
    PRIVACY = "dpo"
    PARTNER = "part"
    OTHER_PARTNER = "p-oth"
    ANONYMOUS = "anon"


class Decision(StrEnum):
    """A cell: let through, refuse (403; 401 without a token), or refuse as unknown (404)."""

    ALLOW = "yes"
    REFUSE = "no"
    HIDE = "404"


ANY_SERVICE = "*"


@dataclass(frozen=True)
class Rule:
    """One line of the table: who may call ``method path`` of ``service`` (``*``: every service)."""

    service: str
    team: str | None  # the team that runs the service (None for the lines of every service)
    method: str
    path: str
    cells: tuple[tuple[Caller, Decision], ...]
    note: str = ""

    def __getitem__(self, caller: Caller) -> Decision:
        return dict(self.cells)[caller]

    @property
    def public(self) -> bool:
        """No token needed (health, documents, signed links)."""
        return self[Caller.ANONYMOUS] is Decision.ALLOW


TABLE = """
[*]  every service
#      path (as in the OpenAPI document)                                       admin own   other read  dpo   part  p-oth anon
       # operations and documents: no token
GET    /healthz                                                                yes   yes   yes   yes   yes   yes   yes   yes
GET    /readyz                                                                 yes   yes   yes   yes   yes   yes   yes   yes
GET    /metrics                                                                yes   yes   yes   yes   yes   yes   yes   yes
GET    /asyncapi                                                               yes   yes   yes   yes   yes   yes   yes   yes
       # FastAPI's documents (not in OpenAPI)
GET    /openapi.json                                                           yes   yes   yes   yes   yes   yes   yes   yes
GET    /docs                                                                   yes   yes   yes   yes   yes   yes   yes   yes
GET    /docs/oauth2-redirect                                                   yes   yes   yes   yes   yes   yes   yes   yes
GET    /redoc                                                                  yes   yes   yes   yes   yes   yes   yes   yes

[membership]  staff:membership
#      path (as in the OpenAPI document)                                       admin own   other read  dpo   part  p-oth anon
       # personal data: the data protection officer (and admin) only; one person's data, exported or erased
GET    /personal-data                                                          yes   no    no    no    yes   no    no    no
POST   /personal-data-erasure-requests                                         yes   no    no    no    yes   no    no    no
GET    /personal-data-erasure-requests/{request_id}                            yes   no    no    no    yes   no    no    no
POST   /organisations                                                          yes   yes   no    no    no    no    no    no
       # readers: without contacts (personal data)
GET    /organisations                                                          yes   yes   no    yes   no    no    no    no
       # readers: without contacts (personal data)
GET    /organisations/{organisation_id}                                        yes   yes   no    yes   no    no    no    no
PATCH  /organisations/{organisation_id}                                        yes   yes   no    no    no    no    no    no
POST   /organisations/{organisation_id}/contacts                               yes   yes   no    no    no    no    no    no
DELETE /organisations/{organisation_id}/contacts/{contact_id}                  yes   yes   no    no    no    no    no    no
POST   /applications                                                           yes   yes   no    no    no    no    no    no
GET    /applications                                                           yes   yes   no    yes   no    no    no    no
GET    /applications/{application_id}                                          yes   yes   no    yes   no    no    no    no
POST   /applications/{application_id}/welcome-meeting                          yes   yes   no    no    no    no    no    no
POST   /applications/{application_id}/statutes-review                          yes   yes   no    no    no    no    no    no
POST   /applications/{application_id}/admission                                yes   yes   no    no    no    no    no    no
POST   /applications/{application_id}/refusal                                  yes   yes   no    no    no    no    no    no
POST   /applications/{application_id}/withdrawal                               yes   yes   no    no    no    no    no    no
POST   /members                                                                yes   yes   no    no    no    no    no    no
GET    /members                                                                yes   yes   no    yes   no    no    no    no
       # the partners' question: who is a member in good standing
GET    /members/in-good-standing                                               yes   yes   no    yes   no    yes   yes   no
GET    /members/{member_id}                                                    yes   yes   no    yes   no    no    no    no
GET    /members/{member_id}/standing                                           yes   yes   no    yes   no    yes   yes   no
POST   /members/{member_id}/invoices                                           yes   yes   no    no    no    no    no    no
POST   /members/{member_id}/payments                                           yes   yes   no    no    no    no    no    no
POST   /members/{member_id}/reminders                                          yes   yes   no    no    no    no    no    no
POST   /members/{member_id}/withdrawal                                         yes   yes   no    no    no    no    no    no
POST   /dues/invoicing                                                         yes   yes   no    no    no    no    no    no
POST   /dues/deadlines                                                         yes   yes   no    no    no    no    no    no
GET    /dues/runs                                                              yes   yes   no    yes   no    no    no    no
GET    /dues/fee-scale                                                         yes   yes   no    yes   no    no    no    no
GET    /dues/fee-scales                                                        yes   yes   no    yes   no    no    no    no
GET    /dues/fee-scales/{year}                                                 yes   yes   no    yes   no    no    no    no
PUT    /dues/fee-scales/{year}                                                 yes   yes   no    no    no    no    no    no
GET    /dues/terms                                                             yes   yes   no    yes   no    no    no    no
GET    /statistics/yearly                                                      yes   yes   no    yes   no    no    no    no
POST   /register-imports                                                       yes   yes   no    no    no    no    no    no
GET    /governance/statutes                                                    yes   yes   no    yes   no    no    no    no
GET    /governance/voting-rights                                               yes   yes   no    yes   no    no    no    no
PUT    /governance/colleges/{organisation_id}                                  yes   yes   no    no    no    no    no    no
GET    /governance/colleges/{organisation_id}                                  yes   yes   no    yes   no    no    no    no
POST   /assemblies                                                             yes   yes   no    no    no    no    no    no
GET    /assemblies                                                             yes   yes   no    yes   no    no    no    no
GET    /assemblies/{assembly_id}                                               yes   yes   no    yes   no    no    no    no
GET    /assemblies/{assembly_id}/voting-rights                                 yes   yes   no    yes   no    no    no    no
GET    /assemblies/{assembly_id}/quorum                                        yes   yes   no    yes   no    no    no    no
POST   /assemblies/{assembly_id}/second-convocation                            yes   yes   no    no    no    no    no    no
POST   /assemblies/{assembly_id}/attendance                                    yes   yes   no    no    no    no    no    no
POST   /assemblies/{assembly_id}/proxies                                       yes   yes   no    no    no    no    no    no
POST   /assemblies/{assembly_id}/opening                                       yes   yes   no    no    no    no    no    no
POST   /assemblies/{assembly_id}/resolutions/{resolution_id}/votes             yes   yes   no    no    no    no    no    no
POST   /assemblies/{assembly_id}/resolutions/{resolution_id}/decision          yes   yes   no    no    no    no    no    no
POST   /assemblies/{assembly_id}/candidacies                                   yes   yes   no    no    no    no    no    no
POST   /assemblies/{assembly_id}/board-ballots                                 yes   yes   no    no    no    no    no    no
POST   /assemblies/{assembly_id}/board-election                                yes   yes   no    no    no    no    no    no
POST   /assemblies/{assembly_id}/closing                                       yes   yes   no    no    no    no    no    no
GET    /board                                                                  yes   yes   no    yes   no    no    no    no
GET    /board/mandates                                                         yes   yes   no    yes   no    no    no    no
POST   /board/mandates/{mandate_id}/end                                        yes   yes   no    no    no    no    no    no
POST   /commissions                                                            yes   yes   no    no    no    no    no    no
GET    /commissions                                                            yes   yes   no    yes   no    no    no    no
GET    /commissions/{commission_id}                                            yes   yes   no    yes   no    no    no    no
GET    /commissions/{commission_id}/members                                    yes   yes   no    yes   no    no    no    no
POST   /commissions/{commission_id}/members                                    yes   yes   no    no    no    no    no    no
POST   /commissions/{commission_id}/members/{organisation_id}/departure        yes   yes   no    no    no    no    no    no

[events]  staff:events
#      path (as in the OpenAPI document)                                       admin own   other read  dpo   part  p-oth anon
       # personal data: the data protection officer (and admin) only
GET    /personal-data                                                          yes   no    no    no    yes   no    no    no
POST   /events                                                                 yes   yes   no    no    no    no    no    no
       # partners: published events only
GET    /events                                                                 yes   yes   no    yes   no    yes   yes   no
       # partners: published events only (a draft is 404)
GET    /events/{event_id}                                                      yes   yes   no    yes   no    yes   yes   no
PATCH  /events/{event_id}                                                      yes   yes   no    no    no    no    no    no
POST   /events/{event_id}/publication                                          yes   yes   no    no    no    no    no    no
POST   /events/{event_id}/closing                                              yes   yes   no    no    no    no    no    no
POST   /events/{event_id}/held                                                 yes   yes   no    no    no    no    no    no
POST   /events/{event_id}/archive                                              yes   yes   no    no    no    no    no    no
POST   /events/{event_id}/cancellation                                         yes   yes   no    no    no    no    no    no
       # partners: published events only
GET    /events/{event_id}/calendar.ics                                         yes   yes   no    yes   no    yes   yes   no
GET    /events/{event_id}/occupancy                                            yes   yes   no    yes   no    no    no    no
POST   /events/{event_id}/registrations                                        yes   yes   no    no    no    no    no    no
       # named people; readers have occupancy, attendance, statistics
GET    /events/{event_id}/registrations                                        yes   yes   no    no    no    no    no    no
GET    /events/{event_id}/waiting-list                                         yes   yes   no    yes   no    no    no    no
       # a named person (name, e-mail, phone)
GET    /registrations/{registration_id}                                        yes   yes   no    no    no    no    no    no
POST   /registrations/{registration_id}/cancellation                           yes   yes   no    no    no    no    no    no
POST   /registrations/{registration_id}/approval                               yes   yes   no    no    no    no    no    no
POST   /registrations/{registration_id}/rejection                              yes   yes   no    no    no    no    no    no
POST   /registrations/{registration_id}/offer/acceptance                       yes   yes   no    no    no    no    no    no
POST   /registrations/{registration_id}/offer/decline                          yes   yes   no    no    no    no    no    no
       # a credential (the signed check-in token), a name
GET    /registrations/{registration_id}/badge                                  yes   yes   no    no    no    no    no    no
       # the same token as a QR code
GET    /registrations/{registration_id}/badge.svg                              yes   yes   no    no    no    no    no    no
POST   /events/{event_id}/checkin-lists                                        yes   yes   no    no    no    no    no    no
GET    /events/{event_id}/checkin-lists                                        yes   yes   no    yes   no    no    no    no
POST   /events/{event_id}/scans                                                yes   yes   no    no    no    no    no    no
POST   /events/{event_id}/scans/batch                                          yes   yes   no    no    no    no    no    no
GET    /events/{event_id}/attendance                                           yes   yes   no    yes   no    no    no    no
       # one person's events, looked up by e-mail
GET    /calendar.ics                                                           yes   yes   no    no    no    no    no    no
GET    /organisations/{organisation_id}/standing                               yes   yes   no    yes   no    no    no    no
GET    /statistics/yearly                                                      yes   yes   no    yes   no    no    no    no
POST   /events/{event_id}/surveys                                              yes   yes   no    no    no    no    no    no
GET    /events/{event_id}/surveys                                              yes   yes   no    yes   no    no    no    no
GET    /surveys/{survey_id}                                                    yes   yes   no    yes   no    no    no    no
PATCH  /surveys/{survey_id}                                                    yes   yes   no    no    no    no    no    no
POST   /surveys/{survey_id}/opening                                            yes   yes   no    no    no    no    no    no
POST   /surveys/{survey_id}/closing                                            yes   yes   no    no    no    no    no    no
POST   /surveys/{survey_id}/invitations                                        yes   yes   no    no    no    no    no    no
       # credentials (each respondent's token), named people
GET    /surveys/{survey_id}/invitations                                        yes   yes   no    no    no    no    no    no
POST   /surveys/{survey_id}/reminders                                          yes   yes   no    no    no    no    no    no
       # readers: ids only (names, e-mails blanked)
GET    /surveys/{survey_id}/non-respondents                                    yes   yes   no    yes   no    no    no    no
GET    /surveys/{survey_id}/results                                            yes   yes   no    yes   no    no    no    no
GET    /events/{event_id}/survey-results                                       yes   yes   no    yes   no    no    no    no
       # respondents' own words: may hold anything
GET    /surveys/{survey_id}/free-text                                          yes   yes   no    no    no    no    no    no
       # signed link: the token in the path is the credential
GET    /survey-answers/{token}                                                 yes   yes   yes   yes   yes   yes   yes   yes
PUT    /survey-answers/{token}                                                 yes   yes   yes   yes   yes   yes   yes   yes
PUT    /conventions/{convention_id}/settings                                   yes   yes   no    no    no    no    no    no
GET    /conventions/{convention_id}                                            yes   yes   no    yes   no    no    no    no
GET    /conventions/{convention_id}/figures                                    yes   yes   no    yes   no    no    no    no
POST   /conventions/{convention_id}/participants                               yes   yes   no    no    no    no    no    no
       # named people (their registration's name)
GET    /conventions/{convention_id}/participants                               yes   yes   no    no    no    no    no    no
GET    /conventions/{convention_id}/participants/{participant_id}              yes   yes   no    no    no    no    no    no
PATCH  /conventions/{convention_id}/participants/{participant_id}              yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/participants/{participant_id}/withdrawal   yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/requests                                   yes   yes   no    no    no    no    no    no
       # participants' own words (message), as survey free text
GET    /conventions/{convention_id}/requests                                   yes   yes   no    no    no    no    no    no
GET    /conventions/{convention_id}/requests/{request_id}                      yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/requests/{request_id}/acceptance           yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/requests/{request_id}/decline              yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/requests/{request_id}/withdrawal           yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/requests/{request_id}/forcing              yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/locked-meetings                            yes   yes   no    no    no    no    no    no
DELETE /conventions/{convention_id}/locked-meetings/{a}/{b}                    yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/schedule-runs                              yes   yes   no    no    no    no    no    no
GET    /conventions/{convention_id}/schedule-runs                              yes   yes   no    yes   no    no    no    no
GET    /conventions/{convention_id}/schedule-runs/{run_id}                     yes   yes   no    yes   no    no    no    no
POST   /conventions/{convention_id}/agendas/publication                        yes   yes   no    no    no    no    no    no
       # one named person's day
GET    /conventions/{convention_id}/participants/{participant_id}/agenda       yes   yes   no    no    no    no    no    no
GET    /conventions/{convention_id}/participants/{participant_id}/agenda.ics   yes   yes   no    no    no    no    no    no
GET    /conventions/{convention_id}/participants/{participant_id}/agenda.html  yes   yes   no    no    no    no    no    no
       # every participant's agenda, by name
GET    /conventions/{convention_id}/agendas.html                               yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/participants/{participant_id}/arrival      yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/participants/{participant_id}/no-show      yes   yes   no    no    no    no    no    no
GET    /conventions/{convention_id}/meetings                                   yes   yes   no    yes   no    no    no    no
GET    /conventions/{convention_id}/meetings/{meeting_id}                      yes   yes   no    yes   no    no    no    no
GET    /conventions/{convention_id}/unscheduled                                yes   yes   no    yes   no    no    no    no
POST   /conventions/{convention_id}/meetings/{meeting_id}/scans                yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/meeting-scans                              yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/meetings/{meeting_id}/mark                 yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/meetings/settlement                        yes   yes   no    no    no    no    no    no
POST   /conventions/{convention_id}/meetings/{meeting_id}/outcomes             yes   yes   no    no    no    no    no    no

[observatory]  staff:observatory
#      path (as in the OpenAPI document)                                       admin own   other read  dpo   part  p-oth anon
GET    /reports/{year}                                                         yes   yes   no    yes   no    no    no    no
POST   /facts                                                                  yes   yes   no    no    no    no    no    no
GET    /facts/{fact_id}                                                        yes   yes   no    yes   no    no    no    no
POST   /facts/{fact_id}/corrections                                            yes   yes   no    no    no    no    no    no
POST   /facts/{fact_id}/withdrawal                                             yes   yes   no    no    no    no    no    no
POST   /objectives                                                             yes   yes   no    no    no    no    no    no
GET    /objectives/{objective_id}                                              yes   yes   no    yes   no    no    no    no
POST   /objectives/{objective_id}/status                                       yes   yes   no    no    no    no    no    no
GET    /territories/{level}/{code}/diagnostic                                  yes   yes   no    yes   no    no    no    no
GET    /organisations/{organisation_id}/timeline                               yes   yes   no    yes   no    no    no    no
       # the page (not in OpenAPI); its data calls need a token
GET    /reports/{year}/page                                                    yes   yes   yes   yes   yes   yes   yes   yes
       # the page's scripts and styles (not in OpenAPI)
GET    /static/observatory/{name}                                              yes   yes   yes   yes   yes   yes   yes   yes
GET    /reports/{year}/charts                                                  yes   yes   no    yes   no    no    no    no
GET    /reports/{year}/territories                                             yes   yes   no    yes   no    no    no    no
GET    /maps/departements.geojson                                              yes   yes   no    yes   no    no    no    no
GET    /reports/{year}/export                                                  yes   yes   no    yes   no    no    no    no
GET    /directory                                                              yes   yes   no    yes   no    no    no    no
GET    /directory/counts                                                       yes   yes   no    yes   no    no    no    no
GET    /directory/territories                                                  yes   yes   no    yes   no    no    no    no
POST   /directory/imports                                                      yes   yes   no    no    no    no    no    no
GET    /directory/imports/{import_id}                                          yes   yes   no    yes   no    no    no    no
       # proposals hold no personal data (ProposalIn.note): read like the directory
GET    /directory/proposals                                                    yes   yes   no    yes   no    no    no    no
POST   /directory/{entry_id}/proposals                                         yes   yes   no    no    no    no    no    no
GET    /directory/proposals/{proposal_id}                                      yes   yes   no    yes   no    no    no    no
POST   /directory/proposals/{proposal_id}/acceptance                           yes   yes   no    no    no    no    no    no
POST   /directory/proposals/{proposal_id}/rejection                            yes   yes   no    no    no    no    no    no
GET    /directory/{entry_id}                                                   yes   yes   no    yes   no    no    no    no

[procurement]  staff:procurement
#      path (as in the OpenAPI document)                                       admin own   other read  dpo   part  p-oth anon
GET    /organisations/{organisation_id}                                        yes   yes   no    yes   no    no    no    no
GET    /organisations/{organisation_id}/standing                               yes   yes   no    yes   no    no    no    no
POST   /buyers                                                                 yes   yes   no    no    no    no    no    no
GET    /buyers                                                                 yes   yes   no    yes   no    no    no    no
GET    /buyers/figures                                                         yes   yes   no    yes   no    no    no    no
GET    /buyers/{buyer_id}                                                      yes   yes   no    yes   no    no    no    no
PATCH  /buyers/{buyer_id}                                                      yes   yes   no    no    no    no    no    no
POST   /buyers/{buyer_id}/archive                                              yes   yes   no    no    no    no    no    no
POST   /buyers/{buyer_id}/engagements                                          yes   yes   no    no    no    no    no    no
GET    /buyers/{buyer_id}/engagements                                          yes   yes   no    yes   no    no    no    no
GET    /buyers/{buyer_id}/engagements/{engagement_id}                          yes   yes   no    yes   no    no    no    no
POST   /buyers/{buyer_id}/engagements/{engagement_id}/phase                    yes   yes   no    no    no    no    no    no
POST   /buyers/{buyer_id}/engagements/{engagement_id}/completion               yes   yes   no    no    no    no    no    no
POST   /buyers/{buyer_id}/engagements/{engagement_id}/abandonment              yes   yes   no    no    no    no    no    no
POST   /buyers/{buyer_id}/conventions                                          yes   yes   no    no    no    no    no    no
GET    /buyers/{buyer_id}/conventions                                          yes   yes   no    yes   no    no    no    no
GET    /buyers/{buyer_id}/conventions/{convention_id}                          yes   yes   no    yes   no    no    no    no
POST   /buyers/{buyer_id}/conventions/{convention_id}/termination              yes   yes   no    no    no    no    no    no
POST   /buyers/{buyer_id}/interventions                                        yes   yes   no    no    no    no    no    no
GET    /buyers/{buyer_id}/interventions                                        yes   yes   no    yes   no    no    no    no
GET    /buyers/{buyer_id}/interventions/{intervention_id}                      yes   yes   no    yes   no    no    no    no
PATCH  /buyers/{buyer_id}/interventions/{intervention_id}                      yes   yes   no    no    no    no    no    no
DELETE /buyers/{buyer_id}/interventions/{intervention_id}                      yes   yes   no    no    no    no    no    no
POST   /needs                                                                  yes   yes   no    no    no    no    no    no
GET    /needs                                                                  yes   yes   no    yes   no    no    no    no
GET    /needs/figures                                                          yes   yes   no    yes   no    no    no    no
GET    /needs/{need_id}                                                        yes   yes   no    yes   no    no    no    no
PATCH  /needs/{need_id}                                                        yes   yes   no    no    no    no    no    no
POST   /needs/{need_id}/submission                                             yes   yes   no    no    no    no    no    no
POST   /needs/{need_id}/validation                                             yes   yes   no    no    no    no    no    no
POST   /needs/{need_id}/closing                                                yes   yes   no    no    no    no    no    no
POST   /needs/{need_id}/sending-back                                           yes   yes   no    no    no    no    no    no
POST   /needs/{need_id}/award                                                  yes   yes   no    no    no    no    no    no
POST   /needs/{need_id}/abandonment                                            yes   yes   no    no    no    no    no    no
POST   /needs/{need_id}/meetings                                               yes   yes   no    no    no    no    no    no
GET    /needs/{need_id}/reservation-advice                                     yes   yes   no    yes   no    no    no    no
POST   /needs/{need_id}/dispatch                                               yes   yes   no    no    no    no    no    no
GET    /needs/{need_id}/dispatch                                               yes   yes   no    yes   no    no    no    no
       # readers: no link tokens
GET    /needs/{need_id}/suppliers                                              yes   yes   no    yes   no    no    no    no
POST   /needs/{need_id}/suppliers/{supplier_id}/steps                          yes   yes   no    no    no    no    no    no
GET    /needs/{need_id}/questions                                              yes   yes   no    yes   no    no    no    no
POST   /needs/{need_id}/questions                                              yes   yes   no    no    no    no    no    no
PUT    /needs/{need_id}/questions/{question_id}/answer                         yes   yes   no    no    no    no    no    no
       # readers: no tokens, no comments
GET    /needs/{need_id}/impact-surveys                                         yes   yes   no    yes   no    no    no    no
       # signed link: the token in the path is the credential
GET    /need-links/{token}                                                     yes   yes   yes   yes   yes   yes   yes   yes
POST   /need-links/{token}/steps                                               yes   yes   yes   yes   yes   yes   yes   yes
POST   /need-links/{token}/questions                                           yes   yes   yes   yes   yes   yes   yes   yes
       # signed link: the token in the path is the credential
GET    /impact-answers/{token}                                                 yes   yes   yes   yes   yes   yes   yes   yes
PUT    /impact-answers/{token}                                                 yes   yes   yes   yes   yes   yes   yes   yes
POST   /diagnostics                                                            yes   yes   no    no    no    no    no    no
GET    /diagnostics                                                            yes   yes   no    yes   no    no    no    no
GET    /diagnostics/{diagnostic_id}                                            yes   yes   no    yes   no    no    no    no
POST   /diagnostics/{diagnostic_id}/closing                                    yes   yes   no    no    no    no    no    no
POST   /diagnostics/{diagnostic_id}/imports                                    yes   yes   no    no    no    no    no    no
GET    /diagnostics/{diagnostic_id}/imports                                    yes   yes   no    yes   no    no    no    no
GET    /diagnostics/{diagnostic_id}/imports/{import_id}                        yes   yes   no    yes   no    no    no    no
GET    /diagnostics/{diagnostic_id}/imports/{import_id}/rejections.csv         yes   yes   no    yes   no    no    no    no
GET    /diagnostics/{diagnostic_id}/report                                     yes   yes   no    yes   no    no    no    no
POST   /diagnostics/{diagnostic_id}/report/computation                         yes   yes   no    no    no    no    no    no
GET    /diagnostics/{diagnostic_id}/report.html                                yes   yes   no    yes   no    no    no    no
GET    /diagnostics/{diagnostic_id}/report.xlsx                                yes   yes   no    yes   no    no    no    no
POST   /quotes                                                                 yes   yes   no    no    no    no    no    no
GET    /quotes                                                                 yes   yes   no    yes   no    no    no    no
GET    /quotes/{quote_id}.html                                                 yes   yes   no    yes   no    no    no    no
GET    /quotes/{quote_id}                                                      yes   yes   no    yes   no    no    no    no
PATCH  /quotes/{quote_id}                                                      yes   yes   no    no    no    no    no    no
POST   /quotes/{quote_id}/sending                                              yes   yes   no    no    no    no    no    no
POST   /quotes/{quote_id}/acceptance                                           yes   yes   no    no    no    no    no    no
POST   /quotes/{quote_id}/decline                                              yes   yes   no    no    no    no    no    no
POST   /individual-diagnostics                                                 yes   yes   no    no    no    no    no    no
GET    /individual-diagnostics                                                 yes   yes   no    yes   no    no    no    no
GET    /individual-diagnostics/{diagnostic_id}                                 yes   yes   no    yes   no    no    no    no
POST   /suppliers                                                              yes   yes   no    no    no    no    no    no
GET    /suppliers                                                              yes   yes   no    yes   no    no    no    no
GET    /suppliers/search                                                       yes   yes   no    yes   no    no    no    no
GET    /suppliers/{supplier_id}                                                yes   yes   no    yes   no    no    no    no
PATCH  /suppliers/{supplier_id}                                                yes   yes   no    no    no    no    no    no
POST   /suppliers/{supplier_id}/archive                                        yes   yes   no    no    no    no    no    no
POST   /groupings                                                              yes   yes   no    no    no    no    no    no
GET    /groupings                                                              yes   yes   no    yes   no    no    no    no
GET    /groupings/{grouping_id}                                                yes   yes   no    yes   no    no    no    no
POST   /groupings/{grouping_id}/members                                        yes   yes   no    no    no    no    no    no
DELETE /groupings/{grouping_id}/members/{supplier_id}                          yes   yes   no    no    no    no    no    no
POST   /groupings/{grouping_id}/submission                                     yes   yes   no    no    no    no    no    no
POST   /groupings/{grouping_id}/dissolution                                    yes   yes   no    no    no    no    no    no

[webhooks]  staff:partnerships
#      path (as in the OpenAPI document)                                       admin own   other read  dpo   part  p-oth anon
       # the catalogue: as open as /asyncapi
GET    /event-types                                                            yes   yes   no    yes   no    yes   yes   no
       # partner B naming partner A in partner_id: 403
POST   /endpoints                                                              yes   yes   no    no    no    yes   no    no
       # each partner lists its own only
GET    /endpoints                                                              yes   yes   no    no    no    yes   yes   no
GET    /endpoints/{endpoint_id}                                                yes   yes   no    no    no    yes   404   no
PATCH  /endpoints/{endpoint_id}                                                yes   yes   no    no    no    yes   404   no
POST   /endpoints/{endpoint_id}/disable                                        yes   yes   no    no    no    yes   404   no
POST   /endpoints/{endpoint_id}/enable                                         yes   yes   no    no    no    yes   404   no
DELETE /endpoints/{endpoint_id}                                                yes   yes   no    no    no    yes   404   no
       # the partner only: no one else holds its key
GET    /endpoints/{endpoint_id}/secret                                         no    no    no    no    no    yes   404   no
POST   /endpoints/{endpoint_id}/secret/rotate                                  no    no    no    no    no    yes   404   no
GET    /endpoints/{endpoint_id}/messages                                       yes   yes   no    no    no    yes   404   no
GET    /messages/{message_id}                                                  yes   yes   no    no    no    yes   404   no
GET    /messages/{message_id}/attempts                                         yes   yes   no    no    no    yes   404   no
POST   /messages/{message_id}/replay                                           yes   yes   no    no    no    yes   404   no
POST   /endpoints/{endpoint_id}/replay                                         yes   yes   no    no    no    yes   404   no
POST   /endpoints/{endpoint_id}/test                                           yes   yes   no    no    no    yes   404   no
"""

# Path parameters that name a partner's own resource: only there may ``part`` and ``p-oth`` differ.
PARTNER_RESOURCES: dict[str, tuple[str, ...]] = {"webhooks": ("endpoint_id", "message_id")}

_COLUMNS = tuple(Caller)
_SECTION = re.compile(r"^\[(?P<service>[*\w-]+)\]\s+(?:staff:(?P<team>[\w-]+)|every service)\s*$")


def _parse(text: str) -> dict[tuple[str, str, str], Rule]:
    found: dict[tuple[str, str, str], Rule] = {}
    service, team, note = None, None, ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            note = line.lstrip("# ") if raw.startswith(" ") else ""
            continue
        if line.startswith("["):
            match = _SECTION.match(line)
            if match is None:
                raise ValueError(f"authorization table, line {number}: a section is '[service]  staff:<team>'")
            service, team, note = match["service"], match["team"], ""
            continue
        words = line.split()
        if service is None or len(words) != 2 + len(_COLUMNS):
            raise ValueError(f"authorization table, line {number}: method, path and {len(_COLUMNS)} cells "
                             f"under a [service] header: {line!r}")
        method, path, *cells = words
        try:
            decisions = tuple(zip(_COLUMNS, (Decision(c) for c in cells)))
        except ValueError:
            raise ValueError(f"authorization table, line {number}: cells are yes, no or 404: {line!r}") from None
        rule = Rule(service, team, method, path, decisions, note)
        if (service, method, path) in found:
            raise ValueError(f"authorization table, line {number}: {method} {path} of {service} twice")
        owned = any("{" + p + "}" in path for p in PARTNER_RESOURCES.get(service, ()))
        if rule[Caller.PARTNER] is not rule[Caller.OTHER_PARTNER] and service not in PARTNER_RESOURCES:
            raise ValueError(f"authorization table, line {number}: {service} holds no partner's resources: "
                             f"'part' and 'p-oth' must agree")
        if Decision.HIDE in (d for _, d in decisions) and not (owned and dict(decisions)[Caller.PARTNER]
                                                               is Decision.ALLOW):
            raise ValueError(f"authorization table, line {number}: 404 is for another partner's resource only")
        found[(service, method, path)] = rule
        note = ""
    return found


@cache
def rules() -> dict[tuple[str, str, str], Rule]:
    """Every line of :data:`TABLE`, by (service, method, path); ``*`` for the lines of every service."""
    return _parse(TABLE)


def rule(service: str, method: str, path: str) -> Rule | None:
    """The line of ``method path`` in ``service`` (its own, else the line every service shares)."""
    table = rules()
    return table.get((service, method, path)) or table.get((ANY_SERVICE, method, path))


def teams() -> dict[str, str]:
    """The team that runs each service (``staff:<team>`` is its staff role)."""
    return {r.service: r.team for r in rules().values() if r.team is not None}


def gate(found: Rule) -> frozenset[str] | None:
    """The roles the operation's :func:`runtime.auth.allow` gate admits besides ``admin`` (None: no
    gate, the operation is public). The cells finer than a role (``admin`` refused, another
    partner's resource) are checked inside the operation; the integration test calls them."""
    if found.public:
        return None
    roles = set()
    if found[Caller.OWN_STAFF] is Decision.ALLOW:
        roles.add(f"staff:{found.team}")
    if found[Caller.READER] is Decision.ALLOW:
        roles.add("reader")
    if found[Caller.PRIVACY] is Decision.ALLOW:
        roles.add("privacy")
    if Decision.ALLOW in (found[Caller.PARTNER], found[Caller.OTHER_PARTNER]):
        roles.add("partner")
    return frozenset(roles)


def routes(app: Any) -> dict[tuple[str, str], frozenset[str] | None]:
    """Every (method, path) a service's FastAPI ``app`` answers — the OpenAPI document's operations
    and the routes it leaves out — with the roles its :func:`runtime.auth.allow` gates admit
    besides ``admin`` (None: no gate). The table's lines are checked against this."""
    from fastapi.routing import APIRoute

    found: dict[tuple[str, str], frozenset[str] | None] = {}

    def gates_of(dependant: Any) -> list[frozenset[str]]:
        out: list[frozenset[str]] = []
        for sub in dependant.dependencies:
            roles = getattr(sub.call, "roles", None)
            if isinstance(roles, frozenset):
                out.append(roles)
            out += gates_of(sub)
        return out

    def walk(entries: Any) -> None:
        for entry in entries:
            inner = getattr(entry, "original_router", None)  # FastAPI ≥ 0.16x keeps included routers whole
            if inner is not None:
                walk(inner.routes)
                continue
            path, methods = getattr(entry, "path", None), getattr(entry, "methods", None) or ()
            if path is None:
                continue
            gates = gates_of(entry.dependant) if isinstance(entry, APIRoute) else []
            admitted = frozenset.intersection(*gates) if gates else None
            for method in methods:
                if method != "HEAD":
                    found[(method, path)] = admitted

    walk(app.routes)
    return found
