"""The observatory's projections, as :mod:`runtime.rebuild` rebuilds them from the event log
(``make rebuild SERVICE=observatory [PROJECTIONS=ledger]``):

- ``ledger`` — the compact log of membership's, the events service's and procurement's events the
  report reads (collection ``ledger``; three consumer groups, one per source);
- ``members`` — membership's organisations and member standing with history (``organisations``,
  ``member_standing``);
- ``directory`` — procurement's supplier profiles the directory merges into its entries
  (``directory_suppliers``; imported structures and proposals are the observatory's own aggregates,
  not projections).
"""
from __future__ import annotations

from runtime import members
from runtime.rebuild import Projection
from services.observatory.adapters import directory, ledger


def _members():
    return [members.membership_view("observatory-members")]


LEDGER = Projection("ledger", ledger.ledger_consumers, (ledger.LEDGER,), indexes=ledger.ensure_indexes)
DIRECTORY = Projection("directory", lambda: [directory.directory_consumer()], (directory.SUPPLIERS,),
                       indexes=directory.ensure_indexes)
MEMBERS = Projection("members", _members, (members.ORGANISATIONS, members.STANDING), indexes=members.ensure_indexes)


def projections() -> list[Projection]:
    return [LEDGER, MEMBERS, DIRECTORY]
