"""Personal data (GDPR): who holds it, how a person is named in events, and the erasure events' shape.

The platform's events never carry a person's name, e-mail or phone
(``tests/contract/test_personal_data.py`` reads every event schema). A person's data live in
the services that need them — their **holders** (:data:`HOLDERS`): membership (the contacts
of organisations) and events (registered people, partners invited to surveys).

**The subject.** A person is identified across services by their e-mail address: it is the
one piece of personal data every holder keeps for every person (a registration requires it;
a contact without one cannot be reached by the person asking), and the key a person gives
when they ask. Names are neither unique nor stable; a phone is optional. In events the
e-mail is replaced by the **subject reference** (:func:`subject_ref`): a keyed hash
(HMAC-SHA256) of the normalised address with the platform's privacy key. A holder stores the
reference beside every address it keeps (``runtime.privacy.EmailField``) and finds the person by
an indexed query on it; anyone reading the event log without the key cannot tell whose request
it was, nor test a guessed address. (It is still pseudonymous data, not anonymous: the key is
the platform's secret.)

**Erasure.** Membership records the request (``org.cress.membership.personal-data-erasure-
requested.v1``, on ``membership.erasure-request``: who asked stays in membership's audit
record, not in the event). Every holder consumes it, erases or anonymises what it holds in
one transaction with its confirmation ``org.cress.<holder>.personal-data-erased.v1``
(:class:`PersonalDataErased`: which service, how many records of each kind), on its own
``<holder>.erasure-request`` topic. Membership completes the request once every holder the
request names has confirmed (``personal-data-erasure-completed``).

Pure: pydantic and the standard library only (the domains and the contracts wheel use it).
"""
from __future__ import annotations

import hashlib
import hmac
import unicodedata
from typing import Any

from pydantic import AwareDatetime, Field

from contracts.base import DomainEvent

#: The services that hold personal data, each erasing on request and confirming with its own
#: ``personal-data-erased`` event. A service that starts keeping personal data joins this list
#: (its contracts then declare the event: the contract tests check it).
HOLDERS: tuple[str, ...] = ("membership", "events")

#: The aggregate of every erasure event (its id is the request id): one topic per holder.
AGGREGATE = "erasure_request"

#: How a subject reference looks: 64 lower-case hexadecimal digits (HMAC-SHA256).
SUBJECT_REF_PATTERN = r"^[0-9a-f]{64}$"


def normalise_email(email: str) -> str:
    """The form an address is compared in: NFC, trimmed, lower case (``" Camille@Example.ORG "`` →
    ``"camille@example.org"``). Lower-casing the local part is what every holder already does
    when it checks for duplicates; no two people of the chamber differ only by case."""
    return unicodedata.normalize("NFC", email).strip().lower()


def subject_ref(email: str, key: str) -> str:
    """The subject reference of the person with this e-mail address under the privacy ``key``."""
    if not key:
        raise ValueError("the privacy key is empty")
    return hmac.new(key.encode(), normalise_email(email).encode(), hashlib.sha256).hexdigest()


def _request_id() -> Any:
    return Field(description="Id of the erasure request (membership's audit record).", examples=["era-5f1c2a9b3d7e"])


class PersonalDataErased(DomainEvent):
    """A holder erased (or anonymised) what it held about the subject of an erasure request.

    Each holder declares its own type (``org.cress.<holder>.personal-data-erased.v1``) from this
    class; counts of zero are a confirmation too (the holder knew nothing of the person)."""

    request_id: str = _request_id()
    service: str = Field(description="The holder that erased, one of the platform's services.",
                         examples=["events"])
    erased: dict[str, int] = Field(description="Records erased or anonymised, by kind (what the holder calls them).",
                                   examples=[{"registrations": 2, "survey_invitations": 0}])
    erased_at: AwareDatetime = Field(description="When (server time).", examples=["2026-11-27T10:15:00Z"])


__all__ = ["HOLDERS", "AGGREGATE", "SUBJECT_REF_PATTERN", "normalise_email", "subject_ref", "PersonalDataErased"]
