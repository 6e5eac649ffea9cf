"""The observatory's projections, as :mod:`runtime.rebuild` rebuilds them from the event log
(``make rebuild SERVICE=observatory [PROJECTIONS=ledger]``):

- ``ledger`` — the compact log of membership's, the events service's and procurement's events the
  report reads (collection ``ledger``; three consumer groups, one per source);
- ``members`` — membership's organisations and member standing with history (``organisations``,
  ``member_standing``).
"""
from __future__ import annotations

from runtime import members
from runtime.rebuild import Projection
from services.observatory.adapters import ledger


def _members():
    return [members.membership_view("observatory-members")]


LEDGER = Projection("ledger", ledger.ledger_consumers, (ledger.LEDGER,), indexes=ledger.ensure_indexes)
MEMBERS = Projection("members", _members, (members.ORGANISATIONS, members.STANDING), indexes=members.ensure_indexes)


def projections() -> list[Projection]:
    return [LEDGER, MEMBERS]
