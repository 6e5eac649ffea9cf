"""What the operators' import commands share (``runtime.cli``) and the small helpers of the API kit
(``runtime.api``: the ETag and Location of an answer, the date of a fact not dated)."""
from __future__ import annotations

import asyncio
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import typer
from fastapi import Response

from runtime import cli
from runtime.aggregate import Aggregate
from runtime.api import on_or_today, tagged, today
from runtime.errors import Conflict, InvalidInput
from runtime.service import service


def test_a_refusal_of_the_domain_exits_with_code_2_naming_the_field(capsys):
    async def refused():
        raise InvalidInput("siret", "SIRET 1 fails its checksum")

    with pytest.raises(typer.Exit) as caught:
        cli.run_or_refuse(refused)
    assert caught.value.exit_code == 2
    assert capsys.readouterr().err.strip() == "refused: siret: SIRET 1 fails its checksum"

    async def conflict():
        raise Conflict("the register is being imported already")

    with pytest.raises(typer.Exit):
        cli.run_or_refuse(conflict)
    assert capsys.readouterr().err.strip() == "refused: the register is being imported already"

    async def fine():
        return 42
    assert cli.run_or_refuse(fine) == 42


def test_the_line_report_names_each_bad_row(capsys):
    cli.echo_faults([{"line": 3, "field": "siret", "message": "fails its checksum"},
                     {"line": 9, "field": "name", "message": "name is required"}])
    assert capsys.readouterr().out == "line 3: siret: fails its checksum\nline 9: name: name is required\n"


def test_a_file_is_read_then_imported_under_a_progress_bar(tmp_path, capsys):
    file = tmp_path / "register.csv"
    file.write_bytes(b"siret;name\n1;a\n")
    seen = []

    async def run(content, progress):
        seen.append(content)
        progress(2, 1, 0)
        progress(2, 2, 1)
        return "imported"

    assert asyncio.run(cli.import_with_progress(file, run)) == "imported"
    assert seen == [b"siret;name\n1;a\n"]
    err = capsys.readouterr().err
    assert "importing register.csv (1 bad lines)" in err and "2/2" in err


class Stand(Aggregate):
    pass


def test_an_answer_carries_the_aggregates_version_as_its_etag_and_a_creation_its_location():
    response = Response()
    stand = Stand(id="stand-1", version=4)
    assert tagged(response, stand) is stand
    assert response.headers["ETag"] == '"4"' and "Location" not in response.headers
    tagged(response, stand, "/stands/stand-1")
    assert response.headers["Location"] == "/stands/stand-1"


def test_a_fact_not_dated_is_dated_today_in_paris(monkeypatch):
    import runtime.api

    class LateEvening(datetime):  # 23:30 in UTC (and on this machine's clock) is already tomorrow in Paris
        @classmethod
        def now(cls, tz=None):
            utc = datetime(2031, 1, 1, 23, 30, tzinfo=ZoneInfo("UTC"))
            return utc.astimezone(tz) if tz is not None else utc.replace(tzinfo=None)

    monkeypatch.setattr(runtime.api, "datetime", LateEvening)
    assert today() == date(2031, 1, 2)
    monkeypatch.undo()
    assert today() == datetime.now(ZoneInfo("Europe/Paris")).date()
    assert on_or_today(SimpleNamespace(on=date(2031, 1, 2))) == date(2031, 1, 2)
    assert on_or_today(SimpleNamespace(on=None)) == today()
    assert on_or_today(object()) == today()


def test_a_services_database_and_contracts_are_its_own():
    events = service("events")
    database = events.database(events.settings(mongodb_database="events_test"))
    assert database.settings.mongodb_database == "events_test"
    assert events.database().settings.service_name == "events"
    assert set(database.forms) == set(events.stored_forms(database.settings)) != set(), "people's e-mails, keyed"
    assert events.contracts_module().__name__ == "contracts.events"
