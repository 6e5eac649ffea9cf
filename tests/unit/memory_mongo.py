"""An in-memory MongoDB collection for unit tests: mongomock's (it evaluates MongoDB's query and update
language: ``$or``, ``$exists``, ``$not``, ``$regex``, upserts, unique ``_id``…) behind the async methods
of PyMongo's ``AsyncCollection`` the runtime calls. Sessions are accepted and ignored (no transactions:
the integration tests run those on the real database)."""
from __future__ import annotations

from typing import Any

import mongomock


def collection(name: str = "test") -> AsyncCollection:
    return AsyncCollection(mongomock.MongoClient(tz_aware=True).db[name])


class AsyncCursor:
    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def sort(self, *args: Any, **kwargs: Any) -> AsyncCursor:
        self.cursor = self.cursor.sort(*args, **kwargs)
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
