"""Leases: one holder at a time for the platform's background work, whatever the number of processes.

Four holders use :class:`Lease`: the outbox relay (``outbox_lease``), membership's dues runner
(``dues_runner_lease``), the webhooks' delivery worker (``delivery_lease``) and procurement's need
dispatches (one lease per dispatch, in its ``need_dispatches`` document).

A lease is a MongoDB document: its ``_id`` (the lease's name), ``owner`` (an :func:`owner_id`) and
``expires_at``. It is taken when it is free (no document, no owner), expired, or **abandoned**: held
by a process of this very machine that no longer runs (a ``kill -9``, a crash, then a restart) — a
restarted service takes its predecessor's lease over at once instead of waiting it out. A holder
on another machine is never called dead: its lease lapses.

Two clocks. ``expires_at`` is wall-clock time, the only one other processes can compare with; the
holder's own belief that it still holds the lease (:attr:`Lease.held`, :meth:`Lease.hold`) runs on
the monotonic clock, counted from *before* the request that took or renewed it, so a wall-clock
jump (NTP, a suspended VM) never makes a holder think it holds a lease longer than it does.

Writes that must only happen while the lease is held put :meth:`Lease.renew` in their transaction
(``session=``): it matches only while this owner holds the document, so a holder that lost the
lease fails its write instead of running on (procurement's dispatch batches do so).
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from runtime.mongo import utcnow

log = logging.getLogger(__name__)


def owner_id() -> str:
    """``host:pid:random``: unique per process, and telling which machine and process hold a lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def abandoned(owner: str | None, host: str | None = None) -> bool:
    """Whether ``owner`` (an :func:`owner_id`) is a process of this machine that no longer runs.
    Holders on other machines, or of another form, are never called dead: their leases lapse."""
    if not owner:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != (host or socket.gethostname()) or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False  # this process: another holder of ours, alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False


def takeable(now: datetime | None = None) -> dict[str, Any]:
    """A filter of the lease documents a :meth:`Lease.acquire` may take now: free, expired, or held
    by a process of this machine (which may be dead: :meth:`Lease.acquire` checks). For work items
    that each carry a lease (procurement's dispatches): fewer documents to try."""
    now = now or utcnow()
    return {"$or": [{"owner": None}, {"expires_at": {"$lt": now}}, {"expires_at": {"$exists": False}},
                    {"owner": {"$regex": f"^{re.escape(socket.gethostname())}:"}}]}


class Lease:
    """The lease ``name`` (a document ``_id``) in ``collection``, held by ``owner``.

    ``where``: more conditions the document must meet to be taken or renewed (a dispatch is leased
    only while it runs); ``create``: whether :meth:`acquire` creates a missing document (a named
    lease) or only takes an existing one (a lease inside a work item's document).
    ``previous_field``: the expiry field the lease documents had before ``expires_at`` (``until``,
    ``lease_until``): a document of the previous code is judged by it, and the field is removed
    when the lease is taken, so a process still running the previous code cannot take it back.
    """

    def __init__(self, collection: Any, name: Any, *, seconds: float, owner: str | None = None,
                 where: Mapping[str, Any] | None = None, create: bool = True, previous_field: str | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if seconds <= 0:
            raise ValueError("a lease lasts some time")
        self.collection = collection
        self.name = name
        self.seconds = seconds
        self.owner = owner or owner_id()
        self.where = dict(where or {})
        self.create = create
        self.previous_field = previous_field
        self.monotonic = monotonic
        self._held_until = float("-inf")  # monotonic

    # -- what this holder knows -----------------------------------------------------------------------
    @property
    def held(self) -> bool:
        """Whether this holder holds the lease now, by its own monotonic clock."""
        return self.monotonic() < self._held_until

    @property
    def remaining(self) -> float:
        """Seconds this holder still holds the lease for (0 when it does not)."""
        return max(0.0, self._held_until - self.monotonic())

    # -- the operations -------------------------------------------------------------------------------
    async def hold(self) -> bool:
        """For a loop: True while more than two thirds of the lease are left (no query), else
        :meth:`acquire` (which renews a lease held)."""
        if self.remaining > 2 * self.seconds / 3:
            return True
        return await self.acquire()

    async def acquire(self) -> bool:
        """Take the lease if it is free, expired, abandoned or ours (then renewed); True when held."""
        started = self.monotonic()
        now = utcnow()
        update = self._taken(now)
        try:
            doc = await self.collection.find_one_and_update(
                {"_id": self.name, **self.where, "$or": self._free(now)}, update,
                upsert=self.create, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # created meanwhile by another holder, who holds it
            doc = None
        if doc is None:
            doc = await self._take_from_the_dead(update)
        return self._learn(doc is not None and doc.get("owner") == self.owner, started)

    async def renew(self, *, session: Any = None, also: Mapping[str, Any] | None = None) -> bool:
        """Extend the lease if this owner still holds it; False (and not held) otherwise.

        In a transaction (``session``), the renewal commits with the transaction's other writes, and
        ``also`` are more fields to set on the lease's document in the same update. This holder's
        own clock is then left as it was: the renewal counts once committed (the next :meth:`hold`
        renews again)."""
        started = self.monotonic()
        result = await self.collection.update_one(
            {"_id": self.name, **self.where, "owner": self.owner},
            {"$set": {"expires_at": utcnow() + timedelta(seconds=self.seconds), **(also or {})}}, session=session)
        ours = result.matched_count == 1
        if session is None or not ours:
            self._learn(ours, started)
        return ours

    async def release(self, timeout: float = 5.0) -> bool:
        """Give the lease up (a clean stop): the next holder takes it at once. A database away (or
        slower than ``timeout`` seconds) only means the lease lapses instead; False then."""
        self._held_until = float("-inf")
        try:
            await asyncio.wait_for(self.collection.update_one(
                {"_id": self.name, "owner": self.owner}, {"$set": {"owner": None, "expires_at": utcnow()}}), timeout)
        except (PyMongoError, asyncio.TimeoutError) as exc:
            log.warning("lease %s: not released (%s); it lapses", self.name, exc)
            return False
        return True

    async def holder(self) -> dict[str, Any] | None:
        """The lease's document as stored (owner, expires_at), for operators and tests."""
        return await self.collection.find_one({"_id": self.name}, {"owner": 1, "expires_at": 1})

    # -- inside ---------------------------------------------------------------------------------------
    def _free(self, now: datetime) -> list[dict[str, Any]]:
        free: list[dict[str, Any]] = [{"owner": self.owner}, {"owner": None}, {"expires_at": {"$lt": now}}]
        if self.previous_field:  # a document of the previous code: its own expiry field decides
            free.append({"expires_at": {"$exists": False}, self.previous_field: {"$not": {"$gte": now}}})
        else:
            free.append({"expires_at": {"$exists": False}})
        return free

    def _taken(self, now: datetime) -> dict[str, Any]:
        update: dict[str, Any] = {"$set": {"owner": self.owner, "expires_at": now + timedelta(seconds=self.seconds)}}
        if self.previous_field:
            update["$unset"] = {self.previous_field: ""}
        return update

    async def _take_from_the_dead(self, update: dict[str, Any]) -> dict[str, Any] | None:
        current = await self.collection.find_one({"_id": self.name, **self.where}, {"owner": 1})
        if current is None or not abandoned(current.get("owner")):
            return None
        log.info("lease %s: taking it over from %s, a process that no longer runs", self.name, current["owner"])
        return await self.collection.find_one_and_update(
            {"_id": self.name, **self.where, "owner": current["owner"]}, update, return_document=ReturnDocument.AFTER)

    def _learn(self, ours: bool, started: float) -> bool:
        self._held_until = started + self.seconds if ours else float("-inf")
        return ours
