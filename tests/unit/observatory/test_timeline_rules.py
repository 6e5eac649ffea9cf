"""An organisation's timeline, to the letter: its window's bounds (inclusive), its order, the rows it
leaves out, each line's links, the events' titles as of a date and the amounts in euros — what the first
tests (tests/unit/observatory/test_territory.py) left open (mutation testing, `make mutation`)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from contracts.events import (ConventionParticipantJoined, EventCancelled, EventHeld, EventPublished, MeetingHeld,
                              MeetingOutcomeRecorded, ParticipantCheckedIn, RegistrationConfirmed)
from contracts.membership import ApplicationSubmitted, DuesInvoiced, MemberActivated, MembershipWithdrawn
from contracts.procurement import FunnelStepRecorded, NeedAwarded, NeedDrafted, QuoteAccepted, SupplierProfiled
from services.observatory.domain.ledger import LedgerRow
from services.observatory.domain.timeline import (TimelineLine, concerning, euros, event_ids_of, timeline,
                                                  titles_of)

T0 = datetime(2040, 1, 1, 9, tzinfo=timezone.utc)


def row(cls, on: str, *, id: str, subject: str = "org-a", data: dict | None = None, at: datetime | None = None,
        organisations: tuple[str, ...] = ("org-a",), refs: tuple[str, ...] = ()) -> LedgerRow:
    """A ledger row of ``cls`` dated ``on``, as the ledger would keep it."""
    day = date.fromisoformat(on)
    return LedgerRow(id=id, type=cls.event_type, subject=subject, on=day,
                     at=at or datetime(day.year, day.month, day.day, 9, tzinfo=timezone.utc), data=data or {},
                     organisations=organisations, refs=refs)


# -- euros and titles -------------------------------------------------------------------------------

def test_amounts_are_written_in_euros_with_french_grouping():
    assert [euros(c) for c in (0, 100, 1_000_000_00, 123_456_789, 12_050.0, 99)] == [
        "0 €", "1 €", "1 000 000 €", "1 234 567,89 €", "120,50 €", "0,99 €"]


def test_an_event_s_title_is_its_latest_catalogue_row_on_or_before_the_date():
    rows = [row(EventPublished, "2040-03-01", id="a", subject="evt-1", data={"title": "Publié"},
                at=T0 + timedelta(days=60)),
            row(EventCancelled, "2040-03-20", id="b", subject="evt-1", data={"title": "Annulé"},
                at=T0 + timedelta(days=80)),
            row(EventHeld, "2040-03-10", id="c", subject="evt-1", data={"title": ""}, at=T0 + timedelta(days=90)),
            row(NeedDrafted, "2040-03-01", id="d", subject="evt-2", data={"title": "Pas un événement"}),
            row(EventHeld, "2040-03-01", id="e", subject="evt-3", data={"title": "Trois"},
                at=T0 + timedelta(days=70)),
            row(EventPublished, "2040-03-01", id="f", subject="evt-3", data={"title": "Trois, d'abord"},
                at=T0 + timedelta(days=10))]
    assert titles_of(rows, date(2040, 2, 29)) == {}
    assert titles_of(rows, date(2040, 3, 1)) == {"evt-1": "Publié", "evt-3": "Trois"}  # the later event time
    assert titles_of(rows, date(2040, 3, 19)) == {"evt-1": "Publié", "evt-3": "Trois"}  # a blank title keeps it
    assert titles_of(rows, date(2040, 3, 20)) == {"evt-1": "Annulé", "evt-3": "Trois"}


def test_the_events_whose_titles_the_labels_need():
    rows = [row(RegistrationConfirmed, "2040-03-01", id="a", subject="reg-1", data={"event_id": "evt-2"}),
            row(ParticipantCheckedIn, "2040-03-02", id="b", subject="reg-1", data={"event_id": "evt-2"}),
            row(MeetingHeld, "2040-03-02", id="c", subject="evt-9"),
            row(ConventionParticipantJoined, "2040-03-02", id="d", subject="evt-1"),
            row(MemberActivated, "2040-03-02", id="e", subject="org-a", data={"event_id": ""}),
            row(SupplierProfiled, "2040-03-02", id="f", subject="sup-a")]
    assert event_ids_of(rows) == ["evt-1", "evt-2", "evt-9"]
    assert event_ids_of([]) == []


# -- which rows, in which order -------------------------------------------------------------------

def test_the_rows_concerning_an_organisation_name_it_or_a_ref_tied_to_it():
    profiled = row(SupplierProfiled, "2040-05-01", id="t", subject="sup-a", organisations=("org-a",),
                   refs=("supplier:sup-a",))
    other = row(SupplierProfiled, "2040-05-01", id="u", subject="sup-b", organisations=("org-b",),
                refs=("supplier:sup-b",))
    mine = row(FunnelStepRecorded, "2040-05-02", id="v", subject="need-1", organisations=(),
               refs=("supplier:sup-a",))
    theirs = row(FunnelStepRecorded, "2040-05-02", id="w", subject="need-1", organisations=(),
                 refs=("supplier:sup-b",))
    both = row(NeedAwarded, "2040-05-03", id="x", subject="need-1", organisations=(),
               refs=("supplier:sup-b", "supplier:sup-a"))
    nobody = row(FunnelStepRecorded, "2040-05-02", id="y", subject="need-1", organisations=(), refs=("supplier:z",))
    assert concerning("org-a", iter([profiled, other, mine, theirs, both, nobody])) == [profiled, mine, both]
    assert concerning("org-b", [profiled, other, mine, theirs, both, nobody]) == [other, theirs, both]


def test_the_window_s_bounds_are_inclusive_and_until_never_goes_past_as_of():
    rows = [row(MemberActivated, f"2040-03-{d:02d}", id=f"r{d}") for d in (1, 2, 3, 4, 5)]
    days = lambda lines: [line.on.day for line in lines]  # noqa: E731
    assert days(timeline("org-a", rows, {}, date(2040, 3, 4))) == [1, 2, 3, 4]
    assert days(timeline("org-a", rows, {}, date(2040, 3, 5), since=date(2040, 3, 2), until=date(2040, 3, 4))) \
        == [2, 3, 4]
    assert days(timeline("org-a", rows, {}, date(2040, 3, 3), until=date(2040, 3, 4))) == [1, 2, 3]
    assert days(timeline("org-a", rows, {}, date(2040, 3, 5), since=date(2040, 3, 5))) == [5]
    assert days(timeline("org-a", rows, {}, date(2040, 3, 5), since=date(2040, 3, 6))) == []


def test_lines_come_in_business_date_then_event_time_then_id_order_each_row_once():
    late = row(DuesInvoiced, "2040-03-01", id="b", data={"year": 2040, "amount_cents": 100}, at=T0)
    early = row(MemberActivated, "2040-03-02", id="a", at=T0 + timedelta(days=90))
    first = row(MembershipWithdrawn, "2040-03-02", id="z", at=T0 + timedelta(days=80))
    tie_b = row(ApplicationSubmitted, "2040-03-03", id="b2", subject="app-1", at=T0)
    tie_a = row(ApplicationSubmitted, "2040-03-03", id="a2", subject="app-1", at=T0)
    lines = timeline("org-a", [tie_b, early, tie_a, first, late, early], {}, date(2040, 12, 31))
    assert [line.event_id for line in lines] == ["b", "z", "a", "a2", "b2"]
    assert [line.at for line in lines] == [T0, T0 + timedelta(days=80), T0 + timedelta(days=90), T0, T0]


def test_rows_the_timeline_does_not_show_are_left_out():
    rows = [row(MemberActivated, "2040-03-01", id="a"),
            row(NeedDrafted, "2040-03-02", id="b"),  # not one of the timeline's kinds
            row(ParticipantCheckedIn, "2040-03-03", id="c", subject="reg-1", data={"first_entry": False}),
            row(FunnelStepRecorded, "2040-03-04", id="d", subject="need-1", data={"step": "awarded"})]
    assert [line.event_id for line in timeline("org-a", rows, {}, date(2040, 12, 31))] == ["a"]


# -- each line ------------------------------------------------------------------------------------

def test_a_line_says_when_what_which_service_and_event_and_links_its_ids():
    reg = row(RegistrationConfirmed, "2040-03-02", id="ce-1", subject="reg-1",
              data={"event_id": "evt-1", "organisation_id": "org-a"})
    outcome = row(MeetingOutcomeRecorded, "2040-04-02", id="ce-2", subject="evt-1",
                  data={"meeting_id": "m-1", "outcome": "contract_signed", "amount_cents": 150_000,
                        "participant_ids": ["p-1"], "need_id": "need-1", "grouping_id": "", "invoice_id": 7})
    quote = row(QuoteAccepted, "2040-05-02", id="ce-3", subject="quo-1",
                data={"offer": "application_support", "net_cents": 90_000, "organisation_id": "org-a"})
    own = row(MemberActivated, "2040-01-02", id="ce-0", data={"organisation_id": "org-elsewhere"})
    titles = {"evt-1": "Rencontres"}
    assert timeline("org-a", [reg, outcome, quote, own], titles, date(2040, 12, 31)) == [
        TimelineLine(on=date(2040, 1, 2), at=own.at, what="Adhésion", service="membership",
                     event_type=MemberActivated.event_type, event_id="ce-0", links={"organisation_id": "org-a"}),
        TimelineLine(on=date(2040, 3, 2), at=reg.at, what="Inscription à « Rencontres »", service="events",
                     event_type=RegistrationConfirmed.event_type, event_id="ce-1",
                     links={"registration_id": "reg-1", "event_id": "evt-1", "organisation_id": "org-a"}),
        TimelineLine(on=date(2040, 4, 2), at=outcome.at, what="Suite d'un rendez-vous d'affaires : contrat signé, "
                     "1 500 €", service="events", event_type=MeetingOutcomeRecorded.event_type, event_id="ce-2",
                     links={"convention_id": "evt-1", "meeting_id": "m-1", "need_id": "need-1"}),
        TimelineLine(on=date(2040, 5, 2), at=quote.at, what="Devis accepté : accompagnement à une candidature aux "
                     "fonds européens (900 € HT)", service="procurement", event_type=QuoteAccepted.event_type,
                     event_id="ce-3", links={"quote_id": "quo-1", "organisation_id": "org-a"})]


def test_an_event_without_a_title_is_named_by_its_id_or_not_at_all():
    rows = [row(RegistrationConfirmed, "2040-03-02", id="a", subject="reg-1", data={"event_id": "evt-1"}),
            row(RegistrationConfirmed, "2040-03-03", id="b", subject="reg-2", data={"event_id": "evt-2"}),
            row(RegistrationConfirmed, "2040-03-04", id="c", subject="reg-3", data={"event_id": ""}),
            row(RegistrationConfirmed, "2040-03-05", id="d", subject="reg-4"),
            row(MeetingHeld, "2040-03-06", id="e", subject="evt-2")]
    assert [line.what for line in timeline("org-a", rows, {"evt-1": "", "evt-2": "Deux"}, date(2040, 12, 31))] == [
        "Inscription à l'événement evt-1", "Inscription à « Deux »", "Inscription à un événement",
        "Inscription à un événement", "Rendez-vous d'affaires (« Deux »)"]
