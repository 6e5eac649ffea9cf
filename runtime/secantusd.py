"""SecantusDB's daemon with a transaction lifetime of our choosing.

``secantusd-py`` has no flag for the transaction lifetime (how long an idle transaction — e.g. one
whose client was SIGKILLed mid-way — keeps its locks before the server aborts it; 60 s by default,
as mongod's ``transactionLifetimeLimitSeconds``): it is only a constructor argument of SecantusDB's
Python API (``SecantusDBServer(transaction_lifetime_seconds=...)``). This runs the daemon's own
command line (every flag of ``secantusd-py``) with that argument added::

    python -m runtime.secantusd --transaction-lifetime-seconds 10 --port 27017 --storage-path data/mongo

:func:`runtime.stack.start_secantus` always starts SecantusDB through it (:data:`runtime.stack.TRANSACTION_LIFETIME_SECONDS`).
"""
from __future__ import annotations

import argparse
import functools
import sys


def main(argv: list[str] | None = None) -> int:
    import secantus.cli as daemon
    from secantus.server import SecantusDBServer

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--transaction-lifetime-seconds", type=float, required=True)
    known, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if known.transaction_lifetime_seconds <= 0:
        parser.error("--transaction-lifetime-seconds must be > 0")
    daemon.SecantusDBServer = functools.partial(  # the daemon builds its server through this name
        SecantusDBServer, transaction_lifetime_seconds=known.transaction_lifetime_seconds)
    return daemon.main(rest)


if __name__ == "__main__":
    sys.exit(main())
