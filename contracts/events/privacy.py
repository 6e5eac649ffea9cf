"""The events service's part in erasing a person's data (:mod:`contracts.privacy`).

The events service holds personal data: the people registered for events (name, e-mail, phone)
and the partners invited to surveys (name, e-mail, organisation). On an erasure request it
anonymises them — a registration keeps its event, category, status and history (the figures
count it), only the person's name, e-mail and phone go — and confirms on its own topic.
"""
from __future__ import annotations

from contracts.privacy import AGGREGATE, PersonalDataErased
from contracts.topics import Topic

TOPIC = Topic("events.erasure-request", "events", AGGREGATE,
              description="The events service's confirmations of personal-data erasure requests (counts only).")


class EventsPersonalDataErased(PersonalDataErased, event_type="org.cress.events.personal-data-erased.v1",
                               aggregate_type=AGGREGATE, aggregate_id_field="request_id"):
    """The events service anonymised the subject's registrations (``erased["registrations"]``) and
    survey invitations (``erased["survey_invitations"]``): the records and their counts stay."""


__all__ = ["EventsPersonalDataErased"]
