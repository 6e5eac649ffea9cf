"""No personal data in events: no event schema has a field holding a person's name, e-mail or phone.

Every event type's JSON Schema (generated from the models, the same as the committed
``contracts/schemas/*.json``: ``test_event_contracts`` checks they agree) is walked, nested
objects, arrays, maps and ``$defs`` included. A field is suspect

- by its **name**: one of its words (``contact_email`` → contact, email; ``firstName`` → first,
  name) names a person's identity or a way to reach them (:data:`PERSONAL_WORDS`);
- by its **format**: ``format: email`` (or ``idn-email``);
- by its **examples**: an example value that looks like an e-mail address or a phone number.

An opaque reference to personal data kept elsewhere (a field ending in ``_id``/``_ids``, e.g.
``contact_id``) is not the data itself: the name check leaves it alone (its format and examples
are still checked). A suspect field that is not personal data is allowed only in
:data:`ALLOWED`, one entry per (event type, field) with the reason: today only names of
legal entities (organisations, commissions, buyers), which are not personal data.

The holders of personal data (:data:`contracts.privacy.HOLDERS`) each declare their
confirmation of an erasure request.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from pydantic import BaseModel, Field

from contracts.base import registered_events
from contracts.privacy import HOLDERS, PersonalDataErased, subject_ref
from contracts.schemas import generate

#: Words of a field name that say it holds a person's identity or a way to reach them.
PERSONAL_WORDS = frozenset({
    "name", "names", "firstname", "lastname", "fullname", "surname", "givenname", "familyname", "prenom", "nom",
    "email", "emails", "mail", "courriel",
    "phone", "phones", "telephone", "tel", "mobile", "portable", "fax",
    "contact", "contacts", "address", "adresse", "birthdate", "birthday",
})
PERSONAL_FORMATS = frozenset({"email", "idn-email"})
EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
#: A French or international phone number, alone or in a text (not a date, not inside a SIRET).
PHONE_LIKE = re.compile(r"(?<![\d\w])(?:\+\d{2,3}[ .-]?\(?0?\)?[ .-]?[1-9]|0[1-9])(?:[ .-]?\d{2}){4}(?!\d)")
REFERENCE_SUFFIXES = ("id", "ids")

_ORGANISATION = ("the name of an ESS organisation, a legal entity (association, cooperative, mutual, foundation, "
                 "company): not personal data; its contacts' names stay in membership")
#: (event type, field path) → why this suspect field is not personal data.
ALLOWED: dict[tuple[str, str], str] = {
    ("org.cress.membership.organisation-registered.v1", "name"): _ORGANISATION,
    ("org.cress.membership.organisation-updated.v1", "name"): _ORGANISATION,
    ("org.cress.membership.commission-created.v1", "name"):
        "the name of a commission or members' seminar of the chamber (a body, e.g. 'Commission transition "
        "écologique'), not of a person",
    ("org.cress.observatory.structure-imported.v1", "name"):
        "the name of an ESS structure of the observatory's directory (a legal entity); the directory import "
        "never reads the personal columns of a file (observatory.domain.directory_csv)",
    ("org.cress.observatory.structure-import-updated.v1", "name"):
        "the name of an ESS structure of the observatory's directory (a legal entity), as above",
    ("org.cress.procurement.buyer-registered.v1", "name"):
        "the name of a buyer: a local authority, another public body or a company (a legal entity), never a "
        "buyer's staff member",
    ("org.cress.procurement.buyer-updated.v1", "name"): "the name of a buyer (a legal entity), as above",
}


def words(field: str) -> list[str]:
    """``contact_email`` → [contact, email]; ``firstName`` → [first, name]; ``e-mail`` → [e, mail]."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", field)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return root.get("$defs", {}).get(name, {}), name
    return schema, None


def _examples(schema: dict[str, Any]) -> Iterator[Any]:
    for key in ("examples", "default", "const", "enum"):
        value = schema.get(key)
        stack = list(value) if isinstance(value, list) else [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack += list(item.values())
            elif isinstance(item, list):
                stack += item
            elif isinstance(item, str):
                yield item


def suspects(schema: dict[str, Any]) -> dict[str, str]:
    """Each suspect field of a JSON Schema, by dotted path (``contacts[].email``), with why."""
    found: dict[str, str] = {}

    def walk(node: Any, path: str, seen: frozenset[str], field: str | None) -> None:
        if not isinstance(node, dict):
            return
        node, ref = _resolve(node, schema)
        if ref is not None:
            if ref in seen:  # a recursive model: its fields were walked once on this path
                return
            seen = seen | {ref}
        where = path or "<root>"
        if node.get("format") in PERSONAL_FORMATS:
            found.setdefault(where, f"format {node['format']}")
        for value in _examples(node):
            if EMAIL_LIKE.search(value) or PHONE_LIKE.search(value):
                found.setdefault(where, f"example {value!r} looks like an e-mail or a phone number")
        for name, sub in node.get("properties", {}).items():
            sub_path = f"{path}.{name}" if path else name
            w = words(name)
            if w and w[-1] not in REFERENCE_SUFFIXES and PERSONAL_WORDS & set(w):
                found.setdefault(sub_path, f"field name {name!r} ({', '.join(sorted(PERSONAL_WORDS & set(w)))})")
            walk(sub, sub_path, seen, name)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]", seen, field)
        for item in node.get("prefixItems", []):
            walk(item, f"{path}[]", seen, field)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}{{}}", seen, field)
        for key in ("anyOf", "oneOf", "allOf"):
            for option in node.get(key, []):
                walk(option, path, seen, field)

    walk(schema, "", frozenset(), None)
    return found


SCHEMAS = generate()


@pytest.mark.parametrize("event_type", sorted(SCHEMAS))
def test_no_event_carries_a_persons_name_email_or_phone(event_type):
    found = {path: why for path, why in suspects(SCHEMAS[event_type]).items()
             if (event_type, path) not in ALLOWED}
    assert not found, (f"{event_type} may carry personal data: {found}. Keep names, e-mails and phones in the "
                       f"service and carry an id; if the field is not a person's (an organisation's name), add it "
                       f"to ALLOWED with the reason")


def test_every_allowed_field_exists_and_is_suspect():
    """An entry of the allow-list that no longer matches anything is removed, not left to excuse a new field."""
    for (event_type, path), reason in ALLOWED.items():
        assert event_type in SCHEMAS, f"ALLOWED names an unknown event type {event_type}"
        assert path in suspects(SCHEMAS[event_type]), f"ALLOWED: {event_type} {path} is no longer suspect"
        assert len(reason) > 20, f"ALLOWED: say why {event_type} {path} is not personal data"


_EMAIL = Field(json_schema_extra={"format": "email"})  # what pydantic's EmailStr generates


class _Leaky(BaseModel):
    class _Person(BaseModel):
        firstName: str
        mobile: str | None = None

    organisation_id: str
    contact_email: str
    reply_to: str = _EMAIL
    people: list[_Person]
    by_role: dict[str, _Person]
    note: str = Field(examples=["Call +33 6 12 34 56 78"])
    since_on: str = Field(examples=["2024-03-14"])  # a date is not a phone number
    siret: str = Field(examples=["73282932000074"])  # nor is a SIRET
    who: str = Field(examples=["camille.martin@example.org"])
    contact_id: str
    e_mail_id: str = _EMAIL


def test_the_check_finds_names_emails_and_phones_wherever_they_hide():
    found = suspects(_Leaky.model_json_schema())
    assert set(found) == {"contact_email", "reply_to", "people[].firstName", "people[].mobile",
                          "by_role{}.firstName", "by_role{}.mobile", "who", "note", "e_mail_id"}, found
    assert "format email" in found["reply_to"]
    assert "phone" in found["note"] and "e-mail" in found["who"]
    assert "organisation_id" not in found and "contact_id" not in found  # references, not the data


def test_field_names_are_split_into_words():
    assert words("contact_email") == ["contact", "email"]
    assert words("firstName") == ["first", "name"]
    assert words("e-mail") == ["e", "mail"]
    assert words("first_entry") == ["first", "entry"]


def test_every_holder_of_personal_data_confirms_erasures():
    """Each holder declares ``org.cress.<holder>.personal-data-erased.v1`` (a PersonalDataErased)."""
    events = registered_events()
    for holder in HOLDERS:
        event_type = f"org.cress.{holder}.personal-data-erased.v1"
        assert event_type in events, f"{holder} holds personal data but declares no {event_type}"
        assert issubclass(events[event_type], PersonalDataErased)
    confirmations = {t.split(".")[2] for t, cls in events.items() if issubclass(cls, PersonalDataErased)}
    assert confirmations == set(HOLDERS), "a service confirms erasures without being a holder (contracts.privacy)"


def test_the_subject_reference_is_a_keyed_hash_of_the_normalised_address():
    key = "k" * 32
    ref = subject_ref(" Camille.Martin@Example.ORG ", key)
    assert ref == subject_ref("camille.martin@example.org", key)
    assert re.fullmatch(r"[0-9a-f]{64}", ref)
    assert ref != subject_ref("camille.martin@example.org", "another key of the same length....")
    assert "camille" not in ref
