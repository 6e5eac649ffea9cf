"""An in-memory MongoDB collection for unit tests: mongomock's (it evaluates MongoDB's query and update
language: ``$or``, ``$exists``, ``$not``, ``$regex``, upserts, unique ``_id``…) behind the async methods
of PyMongo's ``AsyncCollection`` the runtime calls. Sessions are accepted and ignored (no transactions:
the integration tests run those on the real database). :class:`SessionDatabase` is a database of such
collections that fails any call made outside one given session."""
from __future__ import annotations

from typing import Any

import mongomock
import pymongo


def collection(name: str = "test") -> AsyncCollection:
    return AsyncCollection(mongomock.MongoClient(tz_aware=True).db[name])


class AsyncCursor:
    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def sort(self, *args: Any, **kwargs: Any) -> AsyncCursor:
        self.cursor = self.cursor.sort(*args, **kwargs)
        return self

    def skip(self, n: int) -> AsyncCursor:
        self.cursor = self.cursor.skip(n)
        return self

    def limit(self, n: int) -> AsyncCursor:
        self.cursor = self.cursor.limit(n)
        return self

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        return list(self.cursor)

    def __aiter__(self):
        async def each():
            for doc in self.cursor:
                yield doc
        return each()


class AsyncCollection:
    def __init__(self, sync: Any) -> None:
        self.sync = sync

    def find(self, *args: Any, session: Any = None, **kwargs: Any) -> AsyncCursor:
        return AsyncCursor(self.sync.find(*args, **kwargs))

    async def find_one(self, *args: Any, session: Any = None, **kwargs: Any) -> dict[str, Any] | None:
        return self.sync.find_one(*args, **kwargs)

    async def find_one_and_update(self, *args: Any, session: Any = None, **kwargs: Any) -> dict[str, Any] | None:
        return self.sync.find_one_and_update(*args, **kwargs)

    async def insert_one(self, *args: Any, session: Any = None, **kwargs: Any) -> Any:
        return self.sync.insert_one(*args, **kwargs)

    async def insert_many(self, *args: Any, session: Any = None, **kwargs: Any) -> Any:
        return self.sync.insert_many(*args, **kwargs)

    async def update_one(self, *args: Any, session: Any = None, **kwargs: Any) -> Any:
        return self.sync.update_one(*args, **kwargs)

    async def update_many(self, *args: Any, session: Any = None, **kwargs: Any) -> Any:
        return self.sync.update_many(*args, **kwargs)

    async def count_documents(self, *args: Any, session: Any = None, **kwargs: Any) -> int:
        return self.sync.count_documents(*args, **kwargs)

    async def replace_one(self, *args: Any, session: Any = None, **kwargs: Any) -> Any:
        return self.sync.replace_one(*args, **kwargs)

    async def create_index(self, *args: Any, **kwargs: Any) -> Any:
        return self.sync.create_index(*args, **kwargs)

    async def delete_many(self, *args: Any, session: Any = None, **kwargs: Any) -> Any:
        return self.sync.delete_many(*args, **kwargs)

    async def bulk_write(self, operations: list, *, ordered: bool = True, session: Any = None) -> None:
        """PyMongo's write models, one by one in order (mongomock's own ``bulk_write`` does not take
        today's PyMongo models)."""
        assert ordered, "the runtime's bulk writes are ordered"
        for op in operations:
            if isinstance(op, pymongo.InsertOne):
                self.sync.insert_one(op._doc)
            elif isinstance(op, pymongo.UpdateOne):
                self.sync.update_one(op._filter, op._doc, upsert=bool(op._upsert))
            elif isinstance(op, pymongo.ReplaceOne):
                self.sync.replace_one(op._filter, op._doc, upsert=bool(op._upsert))
            elif isinstance(op, pymongo.DeleteOne):
                self.sync.delete_one(op._filter)
            else:
                raise NotImplementedError(type(op).__name__)


SESSION = object()  # the session of the transaction under test (a sentinel, when no real one is needed)


class InSession:
    """An in-memory collection that fails any call made outside the transaction's session (another
    session, or none: on the real database that read would miss the transaction's writes, that write
    would escape its abort). ``sync`` is mongomock's collection, to arrange and inspect."""

    def __init__(self, name: str, session: Any = SESSION) -> None:
        self._memory = collection(name)
        self.sync = self._memory.sync
        self.session = session

    def __getattr__(self, method: str):
        async def call(*args, session=None, **kwargs):
            assert session is self.session, f"{method} outside the transaction"
            return await getattr(self._memory, method)(*args, **kwargs)
        return call


class SessionDatabase(dict):
    """Collections by name, made on first use: each an :class:`InSession` of ``session``, except the
    ``outside`` ones, written outside any transaction (plain :class:`AsyncCollection`)."""

    def __init__(self, session: Any = SESSION, outside: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.session = session
        self.outside = outside

    def __missing__(self, name: str):
        self[name] = collection(name) if name in self.outside else InSession(name, self.session)
        return self[name]
