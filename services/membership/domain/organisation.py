"""The Organisation aggregate: an ESS organisation known to the chamber, and its contacts.

Contacts are personal data (GDPR): they live here only, with the date the person consented;
events carry their id and role, never their name, e-mail or phone. Removing a contact erases
its data from the aggregate.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from contracts.membership import (ContactAdded, ContactRemoved, ContactRole, LegalForm,
                                  OrganisationRegistered, OrganisationUpdated)
from runtime.aggregate import Aggregate
from runtime.errors import Conflict, InvalidInput, NotFound

from . import _rules
from runtime.siret import validate_siret

_UNSET: Any = object()

#: The profile fields :meth:`Organisation.update` may change.
PROFILE_FIELDS = ("siret", "name", "legal_form", "esus_agreed", "esus_agreed_on", "departement",
                  "commune", "sector", "headcount", "annual_budget_cents")


class Contact(BaseModel):
    """A person to talk to at the organisation (personal data)."""

    id: str
    name: str
    role: ContactRole
    email: str | None = None
    phone: str | None = None
    consent_on: date = Field(description="Date the person consented to their data being kept.")
    added_on: date


def _check_profile(p: dict[str, Any], on: date) -> dict[str, Any]:
    """Validate and normalise a whole profile (the rules span fields: ESUS agreement + date)."""
    out = dict(p)
    out["siret"] = validate_siret(p["siret"])
    out["name"] = _rules.text(p["name"], "name")
    out["legal_form"] = _rules.enum_value(LegalForm, p["legal_form"], "legal_form")
    out["departement"] = _rules.departement(p["departement"])
    out["commune"] = _rules.text(p["commune"], "commune", max_length=100)
    out["sector"] = _rules.text(p["sector"], "sector", max_length=100)
    out["headcount"] = _rules.non_negative(p["headcount"], "headcount")
    out["annual_budget_cents"] = _rules.non_negative(p["annual_budget_cents"], "annual_budget_cents")
    agreed, agreed_on = p["esus_agreed"], p["esus_agreed_on"]
    if not isinstance(agreed, bool):
        raise InvalidInput("esus_agreed", "esus_agreed must be true or false")
    if agreed and agreed_on is None:
        raise InvalidInput("esus_agreed_on", "the date of the ESUS agreement is required when agreed")
    if not agreed and agreed_on is not None:
        raise InvalidInput("esus_agreed_on", "no ESUS agreement date without the agreement")
    if agreed_on is not None and agreed_on > on:
        raise InvalidInput("esus_agreed_on", f"the ESUS agreement date {agreed_on} is in the future")
    return out


class Organisation(Aggregate):
    """An ESS organisation. ``id`` is the organisation id (also the member id once it joins)."""

    siret: str
    name: str
    legal_form: LegalForm
    esus_agreed: bool = False
    esus_agreed_on: date | None = None
    departement: str
    commune: str
    sector: str
    headcount: int = Field(ge=0)
    annual_budget_cents: int = Field(ge=0)
    registered_on: date
    contacts: list[Contact] = Field(default_factory=list)

    # -- factory -------------------------------------------------------------------------
    @classmethod
    def register(cls, organisation_id: str, *, siret: str, name: str, legal_form: LegalForm | str,
                 departement: str, commune: str, sector: str, headcount: int, annual_budget_cents: int,
                 esus_agreed: bool = False, esus_agreed_on: date | None = None, on: date) -> Organisation:
        """A newly known organisation → ``OrganisationRegistered``.

        :raises InvalidInput: bad SIRET, unknown legal form or département, negative size,
            ESUS date missing/extra/in the future. (A duplicate SIRET is the repository's
            ``Conflict``.)
        """
        organisation_id = _rules.text(organisation_id, "organisation_id")
        profile = _check_profile(dict(siret=siret, name=name, legal_form=legal_form, departement=departement,
                                      commune=commune, sector=sector, headcount=headcount,
                                      annual_budget_cents=annual_budget_cents, esus_agreed=esus_agreed,
                                      esus_agreed_on=esus_agreed_on), on)
        org = cls(id=organisation_id, registered_on=on, **profile)
        org.record(OrganisationRegistered(organisation_id=org.id, registered_on=on, **org.profile()))
        return org

    # -- commands ------------------------------------------------------------------------
    def update(self, *, on: date, siret: str = _UNSET, name: str = _UNSET,
               legal_form: LegalForm | str = _UNSET, esus_agreed: bool = _UNSET,
               esus_agreed_on: date | None = _UNSET, departement: str = _UNSET, commune: str = _UNSET,
               sector: str = _UNSET, headcount: int = _UNSET, annual_budget_cents: int = _UNSET) -> list[str]:
        """Change some profile fields (omitted ones keep their value) → ``OrganisationUpdated``
        carrying the whole profile and the names of the changed fields. Returns those names;
        changing nothing records nothing and returns ``[]``.

        :raises InvalidInput: as for :meth:`register` (checked on the resulting profile).
        """
        given = dict(siret=siret, name=name, legal_form=legal_form, esus_agreed=esus_agreed,
                     esus_agreed_on=esus_agreed_on, departement=departement, commune=commune,
                     sector=sector, headcount=headcount, annual_budget_cents=annual_budget_cents)
        current = self.profile()
        new = _check_profile({k: (current[k] if v is _UNSET else v) for k, v in given.items()}, on)
        changed = [k for k in PROFILE_FIELDS if new[k] != current[k]]
        if not changed:
            return []
        for k in changed:
            setattr(self, k, new[k])
        self.record(OrganisationUpdated(organisation_id=self.id, updated_on=on, changed_fields=changed,
                                        **self.profile()))
        return changed

    def add_contact(self, contact_id: str, *, name: str, role: ContactRole | str, email: str | None = None,
                    phone: str | None = None, consent_on: date, on: date) -> Contact:
        """Add a contact person → ``ContactAdded`` (id and role only).

        :raises InvalidInput: blank name, unknown role, bad e-mail/phone, consent after ``on``.
        :raises Conflict: the contact id is already used on this organisation.
        """
        contact_id = _rules.text(contact_id, "contact_id")
        if self.contact(contact_id) is not None:
            raise Conflict(f"organisation {self.id} already has a contact {contact_id}", contact_id=contact_id)
        if consent_on > on:
            raise InvalidInput("consent_on", f"consent date {consent_on} is after {on}")
        contact = Contact(id=contact_id, name=_rules.text(name, "name"),
                          role=_rules.enum_value(ContactRole, role, "role"),
                          email=_rules.email(email), phone=_rules.phone(phone), consent_on=consent_on,
                          added_on=on)
        self.contacts = [*self.contacts, contact]
        self.record(ContactAdded(organisation_id=self.id, contact_id=contact.id, role=contact.role, added_on=on))
        return contact

    def remove_contact(self, contact_id: str, *, on: date) -> None:
        """Remove a contact and erase their data → ``ContactRemoved``.

        :raises NotFound: no such contact on this organisation.
        """
        contact = self.contact(contact_id)
        if contact is None:
            raise NotFound(f"organisation {self.id} has no contact {contact_id}", contact_id=contact_id)
        self.contacts = [c for c in self.contacts if c.id != contact_id]
        self.record(ContactRemoved(organisation_id=self.id, contact_id=contact_id, role=contact.role,
                                   removed_on=on))

    # -- queries -------------------------------------------------------------------------
    def contact(self, contact_id: str) -> Contact | None:
        return next((c for c in self.contacts if c.id == contact_id), None)

    def profile(self) -> dict[str, Any]:
        """The public profile (no personal data), as carried by the organisation events."""
        return {k: getattr(self, k) for k in PROFILE_FIELDS}

    @property
    def requires_statutes_review(self) -> bool:
        """Whether a membership application must check the statutes (commercial companies)."""
        return self.legal_form.is_commercial_company
