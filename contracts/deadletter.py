"""The headers of a dead letter: one definition for the services' consumers and the FastStream kit.

A dead letter is the original Kafka record (value, key, CloudEvents headers) published to the
``<topic>.dlq`` sibling of its topic, with these headers added, which
``python -m runtime.deadletters`` (``make deadletters``) lists and replays:

``dlq_error`` (type and message, at most 2,000 characters), ``dlq_original_topic``,
``dlq_original_partition``, ``dlq_original_offset``, ``dlq_consumer`` (the consumer group's
name), ``dlq_attempts``, ``dlq_failed_at`` (ISO 8601, UTC).

Pure stdlib: importable from the contracts wheel without the runtime.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

PREFIX = "dlq_"


def dead_letter_headers(*, topic: str, partition: int, offset: int, headers: Iterable[tuple[str, bytes]] | None,
                        consumer: str, error: BaseException, attempts: int,
                        failed_at: datetime | None = None) -> list[tuple[str, bytes]]:
    """The original record's headers (earlier ``dlq_*`` ones dropped) followed by the ``dlq_*`` ones."""
    failed_at = failed_at or datetime.now(timezone.utc)
    meta = {
        "dlq_error": f"{type(error).__name__}: {error}"[:2000],
        "dlq_original_topic": topic,
        "dlq_original_partition": str(partition),
        "dlq_original_offset": str(offset),
        "dlq_consumer": consumer,
        "dlq_attempts": str(attempts),
        "dlq_failed_at": failed_at.astimezone(timezone.utc).isoformat(),
    }
    original = [(k, v) for k, v in (headers or ()) if not k.startswith(PREFIX)]
    return original + [(k, v.encode()) for k, v in meta.items()]
