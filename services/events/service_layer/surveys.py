"""The events service's survey commands: create and revise a survey, invite respondents, open,
close (by hand or by the closing-time sweeper), remind those who have not answered, and answer
with a signed token.

Aggregates. The :class:`~services.events.domain.surveys.Survey` (collection ``surveys``) and one
:class:`~services.events.domain.surveys.SurveyResponse` per (survey, respondent) (collection
``survey_responses``, id :func:`~services.events.domain.surveys.response_id`).

Invitations (collection ``survey_invitations``, id = the response id): one document per invited
respondent, written in the transaction that invites them (the survey's ``invited`` list is the
domain's truth; this is the service's index of it): ``answered_at`` (set by the transaction that
records the first answer) makes "who has not answered" one indexed query (Indico #3384), and
``reminders`` / ``last_reminded_at`` say who was reminded when. Participants are registration ids
(their names and e-mails stay in the registration); partners are invitees created here, whose
name and e-mail live in their invitation only. Personal data never enter an event.

Tokens. A respondent needs no account: :class:`SurveyTokens` signs (HMAC-SHA256 under a key
derived from ``JWT_SECRET``, label ``cress-survey-v1``) the survey id and the respondent id; the
token carries both and its MAC, so it opens one respondent's answers to one survey and nothing
else. A token that does not check out is refused (422 naming ``token``) before the database is read.

One answer per respondent. The response id is fixed by (survey, respondent); the transaction
that records an answer also writes the respondent's invitation, so two first submissions at
once conflict there and the database runs the loser again on fresh state: it then finds the
response and updates it (last writer wins, as for any edit; never two responses).

Time. The server clock (``clock()``, UTC) dates every fact; ``closes_at`` is checked by the
domain on every answer and reminder (exact to the second, whatever the sweeper's period), and
:meth:`SurveysService.close_due_surveys` (a job) records the closing of the surveys past it.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from contracts.events.registrations import EventStatus, RegistrationStatus, SurveyAudience
from runtime.errors import ConcurrencyConflict, Conflict, InvalidInput, NotFound
from runtime.mongo import Database, Transaction, stored_instant, utcnow
from services.events.adapters.repository import (EVENTS, REGISTRATIONS, SURVEY_INVITATIONS, SURVEY_RESPONSES,
                                                 SURVEYS)
from services.events.domain import _rules
from services.events.domain.catalogue import Event
from services.events.domain.surveys import Survey, SurveyResponse, SurveyStatus, response_id
from runtime.aggregate import check_version, new_id
from services.events.service_layer.handlers import utc
from runtime.signing import Signer, b64, unb64

_LABEL = b"cress-survey-v1"
MAX_TOKEN_LENGTH = 400
MAX_OPEN_DAYS = 366
"""A survey closes at most this many days after it is created or revised (answers editable for
ever, reminders for ever: no)."""
MAX_INVITEES_PER_CALL = 5000
MIN_HOURS_BETWEEN_REMINDERS = 24


class InviteSelection(StrEnum):
    """Which registrations of the event a participants survey invites."""

    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"


# -- tokens -----------------------------------------------------------------------------------------
class SurveyTokens:
    """Signed survey tokens: ``<base64url(survey id, respondent id)>.<base64url(128-bit MAC)>``
    (:mod:`.signing`, label ``cress-survey-v1``)."""

    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, _LABEL)

    def token(self, survey_id: str, respondent_id: str) -> str:
        payload = f"{survey_id}\x1f{respondent_id}".encode()
        return f"{b64(payload)}.{b64(self._signer.tag(payload))}"

    def read(self, token: object, field: str = "token") -> tuple[str, str]:
        """``(survey_id, respondent_id)`` of a token whose signature checks out.

        :raises InvalidInput: naming ``field``: malformed, forged, or signed with another key.
        """
        refused = InvalidInput(field, "this is not a valid survey token (mistyped, cut, or not issued by the CRESS)")
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH or token.count(".") != 1:
            raise refused
        encoded, _, mac = token.partition(".")
        try:
            payload, signature = unb64(encoded), unb64(mac)
        except ValueError:  # binascii.Error is one
            raise refused from None
        if not self._signer.verify(payload, signature):
            raise refused
        try:
            survey_id, respondent_id = payload.decode().split("\x1f")
        except (UnicodeDecodeError, ValueError):  # signed by us: cannot happen, refuse all the same
            raise refused from None
        return survey_id, respondent_id


# -- the commands -----------------------------------------------------------------------------------
class SurveysService:
    """Surveys, invitations, reminders and answers, bound to the database."""

    def __init__(self, db: Database, tokens: SurveyTokens, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.tokens = tokens
        self.clock = clock

    # -- the survey -----------------------------------------------------------------------------------
    async def create_survey(self, event_id: str, *, audience: str, title: str, questions: list[Any],
                            closes_at: datetime | None = None, within: Transaction | None = None) -> Survey:
        """A draft survey of an event for one audience (one survey per event and audience: 409
        names the existing one).

        :raises NotFound: no such event. :raises Conflict: the event is cancelled; a survey of
            this audience exists. :raises InvalidInput: naming the field.
        """
        async def work(tx: Transaction) -> Survey:
            now = self.clock()
            event = await tx.get(EVENTS, Event, event_id)
            if event.status is EventStatus.CANCELLED:
                raise Conflict(f"event {event_id} is cancelled: it gets no survey", current_state="cancelled",
                               expected_step="none: the event is cancelled")
            survey = Survey.create(new_id("srv"), event_id=event.id, audience=audience, title=title,
                                   questions=questions, at=now, closes_at=utc(closes_at))
            _within_horizon(survey.closes_at, now)
            existing = await tx.db[SURVEYS].find_one({"event_id": event.id, "audience": survey.audience.value},
                                                     {"_id": 1, "status": 1}, session=tx.session)
            if existing is not None:
                raise _duplicate(event.id, survey.audience, existing["_id"], existing["status"])
            await tx.save(SURVEYS, survey, conflict=f"event {event.id} already has a survey for its "
                                                    f"{survey.audience.value}")
            return survey
        return await self.db.transaction(work, within=within)

    async def revise_survey(self, survey_id: str, changes: dict[str, Any], *, expected_version: int | None = None,
                            within: Transaction | None = None) -> Survey:
        """Change a draft's title, questions or closing time (409 once opened)."""
        async def step(tx: Transaction, survey: Survey, now: datetime) -> None:
            closes_at = utc(changes.get("closes_at"))
            survey.revise(at=now, title=changes.get("title"), questions=changes.get("questions"), closes_at=closes_at)
            if closes_at is not None:
                _within_horizon(survey.closes_at, now)
        # a revision records no event (a draft is internal): save it all the same
        return await self._survey_step(survey_id, expected_version, step, always_save=True, within=within)

    async def open_survey(self, survey_id: str, *, expected_version: int | None = None,
                          within: Transaction | None = None) -> Survey:
        async def step(tx: Transaction, survey: Survey, now: datetime) -> None:
            survey.open(at=now)
        return await self._survey_step(survey_id, expected_version, step, within=within)

    async def close_survey(self, survey_id: str, *, expected_version: int | None = None,
                           within: Transaction | None = None) -> Survey:
        async def step(tx: Transaction, survey: Survey, now: datetime) -> None:
            survey.close(at=now)
        return await self._survey_step(survey_id, expected_version, step, within=within)

    async def close_due_surveys(self) -> int:
        """Record the closing of every open survey whose ``closes_at`` has passed (the sweeper job);
        each in its own transaction, dated ``closes_at`` (answers were refused from then on).
        Idempotent: a survey closed meanwhile is skipped. Returns how many it closed."""
        now = self.clock()
        horizon = stored_instant(now + timedelta(seconds=1))  # stored instants compare as text: check exactly below
        due = [d["_id"] async for d in self.db[SURVEYS].find(
            {"status": SurveyStatus.OPEN.value, "closes_at": {"$lte": horizon}}, {"_id": 1})]
        closed = 0
        for survey_id in due:
            done: list[str] = []

            async def step(tx: Transaction, survey: Survey, at: datetime) -> None:
                done.clear()  # the transaction may run more than once
                if survey.status is SurveyStatus.OPEN and survey.closes_at is not None and survey.closes_at <= now:
                    survey.close(at=survey.closes_at)
                    done.append(survey.id)
            try:
                await self._survey_step(survey_id, None, step)
            except (Conflict, NotFound):
                continue  # changed meanwhile (closed by hand, reminded): the next run sees it
            closed += len(done)
        return closed

    async def _survey_step(self, survey_id: str, expected_version: int | None, step, *, always_save: bool = False,
                           within: Transaction | None = None) -> Survey:
        async def work(tx: Transaction) -> Survey:
            survey = await tx.get(SURVEYS, Survey, survey_id)
            check_version(survey, expected_version)
            await step(tx, survey, self.clock())
            if survey.pending_events or always_save:
                await tx.save(SURVEYS, survey)
            return survey
        return await self.db.transaction(work, within=within)

    # -- invitations --------------------------------------------------------------------------------
    async def invite_participants(self, survey_id: str, *, selection: InviteSelection | str | None = None,
                                  registration_ids: list[str] | None = None, expected_version: int | None = None,
                                  within: Transaction | None = None) -> tuple[Survey, list[dict[str, Any]]]:
        """Invite registrations of the survey's event: every confirmed one (``selection``
        ``confirmed``), those checked in (``checked_in``), or the ``registration_ids`` given (each
        a confirmed registration of the event). Already invited ones are skipped.

        Returns the survey and the new invitations (documents of ``survey_invitations``).
        """
        if (selection is None) == (registration_ids is None):
            raise InvalidInput("registrations", "give either registrations (confirmed or checked_in) or "
                                                "registration_ids")
        if selection is not None:
            selection = _rules.enum_value(InviteSelection, selection, "registrations")
        else:
            registration_ids = _id_list(registration_ids, "registration_ids")

        async def work(tx: Transaction) -> tuple[Survey, list[dict[str, Any]]]:
            now = self.clock()
            survey = await tx.get(SURVEYS, Survey, survey_id)
            check_version(survey, expected_version)
            if survey.audience is not SurveyAudience.PARTICIPANTS:
                raise InvalidInput("registrations", f"survey {survey.id} asks the partners: invite partners, "
                                                    f"not registrations")
            confirmed = {"event_id": survey.event_id, "status": RegistrationStatus.CONFIRMED.value}
            if selection is not None:
                docs = tx.db[REGISTRATIONS].find(confirmed, {"_id": 1, "presence": 1}, session=tx.session)
                ids = [d["_id"] async for d in docs.sort([("registered_at", 1), ("_id", 1)])
                       if selection is InviteSelection.CONFIRMED or d.get("presence")]
            else:
                found = {d["_id"] async for d in tx.db[REGISTRATIONS].find(
                    {**confirmed, "_id": {"$in": registration_ids}}, {"_id": 1}, session=tx.session)}
                for i, rid in enumerate(registration_ids):
                    if rid not in found:
                        raise InvalidInput(f"registration_ids.{i}", f"{rid!r} is not a confirmed registration of "
                                                                    f"event {survey.event_id}")
                ids = registration_ids
            before = len(survey.invited)
            new = survey.invite(ids, at=now)
            invitations = [_invitation(survey, rid, before + i, now) for i, rid in enumerate(new)]
            await self._save_invitations(tx, survey, invitations)
            return survey, invitations
        return await self.db.transaction(work, within=within, conflict_retries=5)

    async def invite_partners(self, survey_id: str, partners: list[dict[str, Any]], *,
                              expected_version: int | None = None,
                              within: Transaction | None = None) -> tuple[Survey, list[dict[str, Any]]]:
        """Invite partners by name and e-mail: each becomes an invitee of the survey (id
        ``pin-…``); an e-mail already invited to this survey is skipped. The name and e-mail stay
        in the invitation (never in an event)."""
        if not isinstance(partners, list) or not partners:
            raise InvalidInput("partners", "give at least one partner (name and e-mail)")
        if len(partners) > MAX_INVITEES_PER_CALL:
            raise InvalidInput("partners", f"at most {MAX_INVITEES_PER_CALL} partners per call")
        people: list[dict[str, str]] = []
        seen: set[str] = set()
        for i, p in enumerate(partners):
            name = _rules.text(p.get("name"), f"partners.{i}.name", max_length=200)
            email = _rules.email(p.get("email"), f"partners.{i}.email")
            organisation = _rules.optional_text(p.get("organisation"), f"partners.{i}.organisation", max_length=200)
            if email.lower() not in seen:
                seen.add(email.lower())
                people.append({"name": name, "email": email, "email_key": email.lower(), "organisation": organisation})

        async def work(tx: Transaction) -> tuple[Survey, list[dict[str, Any]]]:
            now = self.clock()
            survey = await tx.get(SURVEYS, Survey, survey_id)
            check_version(survey, expected_version)
            if survey.audience is not SurveyAudience.PARTNERS:
                raise InvalidInput("partners", f"survey {survey.id} asks the participants: invite registrations, "
                                               f"not partners")
            known = {d["email_key"] async for d in tx.db[SURVEY_INVITATIONS].find(
                {"survey_id": survey.id, "email_key": {"$in": [p["email_key"] for p in people]}},
                {"email_key": 1}, session=tx.session)}
            fresh = [{**p, "respondent_id": new_id("pin")} for p in people if p["email_key"] not in known]
            before = len(survey.invited)
            new = set(survey.invite([p["respondent_id"] for p in fresh], at=now))  # fresh ids: all new
            invitations = [_invitation(survey, p["respondent_id"], before + i, now, name=p["name"], email=p["email"],
                                       email_key=p["email_key"], organisation=p["organisation"])
                           for i, p in enumerate(fresh) if p["respondent_id"] in new]
            await self._save_invitations(tx, survey, invitations)
            return survey, invitations
        return await self.db.transaction(work, within=within, conflict_retries=5)

    async def _save_invitations(self, tx: Transaction, survey: Survey, invitations: list[dict[str, Any]]) -> None:
        """The survey (versioned: concurrent invitations of one survey conflict and run again) and
        the new invitations."""
        if survey.pending_events:
            await tx.save(SURVEYS, survey)
        if invitations:
            # stored with the partners' subject references (copies: the callers answer with the invitations)
            await tx.db[SURVEY_INVITATIONS].insert_many([tx.stored(SURVEY_INVITATIONS, dict(i)) for i in invitations],
                                                        ordered=True, session=tx.session)

    # -- reminders ----------------------------------------------------------------------------------
    async def remind(self, survey_id: str, *, expected_version: int | None = None,
                     within: Transaction | None = None) -> tuple[Survey, list[str]]:
        """Remind the invited respondents who have not answered (at most once per 24 h): records
        the reminder on the survey (``SurveyReminderSent``) and on each invitation; returns the
        ids reminded (none, and nothing recorded, when everyone answered).

        :raises Conflict: the survey is not open, or was reminded less than 24 h ago.
        """
        async def work(tx: Transaction) -> tuple[Survey, list[str]]:
            now = self.clock()
            survey = await tx.get(SURVEYS, Survey, survey_id)
            check_version(survey, expected_version)
            answered = [d["respondent_id"] async for d in tx.db[SURVEY_RESPONSES].find(
                {"survey_id": survey.id}, {"respondent_id": 1}, session=tx.session)]
            gone = await _cancelled_participants(tx, survey, survey.invited)
            due = survey.remind(at=now, answered_ids=answered, skipped_ids=gone,
                                min_hours_between=MIN_HOURS_BETWEEN_REMINDERS)
            if due:
                await tx.save(SURVEYS, survey)
                await tx.db[SURVEY_INVITATIONS].update_many(
                    {"survey_id": survey.id, "respondent_id": {"$in": due}},
                    {"$inc": {"reminders": 1}, "$set": {"last_reminded_at": stored_instant(now)}}, session=tx.session)
            return survey, due
        return await self.db.transaction(work, within=within)

    # -- answers -----------------------------------------------------------------------------------------
    def respondent_of(self, token: object) -> tuple[str, str]:
        """``(survey_id, respondent_id)`` of a valid token (422 naming ``token`` otherwise)."""
        return self.tokens.read(token)

    async def answer(self, token: str, answers: Any, *,
                     within: Transaction | None = None) -> tuple[SurveyResponse, bool]:
        """Submit or change a respondent's answers (the token says whose, to which survey).
        Returns the response and whether it was created by this call.

        :raises InvalidInput: ``token`` invalid; ``answers.<question_id>`` bad.
        :raises NotFound: no invitation for this (valid) token.
        :raises Conflict: the survey is a draft or closed (``current_state`` says which).
        """
        survey_id, respondent_id = self.respondent_of(token)
        rid = response_id(survey_id, respondent_id)

        async def work(tx: Transaction) -> tuple[SurveyResponse, bool]:
            now = self.clock()
            invitation = await tx.db[SURVEY_INVITATIONS].find_one({"_id": rid}, {"_id": 1}, session=tx.session)
            if invitation is None:
                raise NotFound("no survey invitation for this token", resource="SurveyInvitation")
            survey = await tx.get(SURVEYS, Survey, survey_id)
            if await _cancelled_participants(tx, survey, [respondent_id]):
                raise Conflict(f"registration {respondent_id} is no longer confirmed: its answers to survey "
                               f"{survey_id} are not taken", current_state="registration_cancelled",
                               expected_step="none: only confirmed participants answer")
            response = await tx.find(SURVEY_RESPONSES, SurveyResponse, rid)
            created = response is None
            if response is None:
                response = SurveyResponse.submit(survey=survey, respondent_id=respondent_id, answers=answers, at=now)
            elif not response.update(survey=survey, answers=answers, at=now):
                return response, False
            # Two first submissions at once: the database reports a write conflict (on this
            # invitation, or on the response's fixed id) and runs the loser again, which then
            # finds the response and updates it; a duplicate key is retried the same way.
            await tx.db[SURVEY_INVITATIONS].update_one(
                {"_id": rid}, {"$set": {"answered_at": stored_instant(response.submitted_at),
                                        "last_answered_at": stored_instant(now)}}, session=tx.session)
            try:
                await tx.save(SURVEY_RESPONSES, response)
            except ConcurrencyConflict:
                raise  # changed meanwhile: run again on fresh state
            except Conflict:  # inserted meanwhile by a concurrent first submission: run again
                raise ConcurrencyConflict(f"response {rid} was submitted meanwhile") from None
            return response, created
        return await self.db.transaction(work, within=within, conflict_retries=5)


# -- helpers -----------------------------------------------------------------------------------------
async def _cancelled_participants(tx: Transaction, survey: Survey, respondent_ids: list[str]) -> list[str]:
    """Of ``respondent_ids``, the participants (registrations) no longer confirmed: they neither
    answer nor get reminders (a partners survey has none)."""
    if survey.audience is not SurveyAudience.PARTICIPANTS or not respondent_ids:
        return []
    confirmed = {d["_id"] async for d in tx.db[REGISTRATIONS].find(
        {"_id": {"$in": list(respondent_ids)}, "status": RegistrationStatus.CONFIRMED.value}, {"_id": 1},
        session=tx.session)}
    return [rid for rid in respondent_ids if rid not in confirmed]


def _within_horizon(closes_at: datetime | None, now: datetime) -> None:
    if closes_at is not None and closes_at > now + timedelta(days=MAX_OPEN_DAYS):
        raise InvalidInput("closes_at", f"a survey closes within {MAX_OPEN_DAYS} days (by "
                                        f"{(now + timedelta(days=MAX_OPEN_DAYS)).date().isoformat()}), "
                                        f"not {closes_at.isoformat()}")


def _duplicate(event_id: str, audience: SurveyAudience, survey_id: str, status: str) -> Conflict:
    return Conflict(f"event {event_id} already has a survey for its {audience.value}: {survey_id} ({status}); "
                    f"revise that one", survey_id=survey_id, current_state=status,
                    expected_step="revise the existing survey")


def _id_list(values: object, field: str) -> list[str]:
    if not isinstance(values, list) or not values:
        raise InvalidInput(field, f"{field} must be a non-empty list of ids")
    if len(values) > MAX_INVITEES_PER_CALL:
        raise InvalidInput(field, f"at most {MAX_INVITEES_PER_CALL} ids per call")
    return [_rules.identifier(v, f"{field}.{i}") for i, v in enumerate(values)]


def _invitation(survey: Survey, respondent_id: str, position: int, at: datetime, **personal: Any) -> dict[str, Any]:
    """The invitation of a respondent just invited; ``position``: its rank in the survey's
    ``invited`` list (the invitation order; unique, as invitations of a survey are serialised)."""
    return {"_id": response_id(survey.id, respondent_id), "survey_id": survey.id, "event_id": survey.event_id,
            "audience": survey.audience.value, "respondent_id": respondent_id,
            "position": position, "invited_at": stored_instant(at),
            "answered_at": None, "last_answered_at": None, "reminders": 0, "last_reminded_at": None, **personal}

