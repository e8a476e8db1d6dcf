"""Automatic persisted queries (the Apollo ``persistedQuery`` extension, version 1): an app sends the
SHA-256 of its document instead of the document, and the document once, when the server does not know
the hash yet.

- ``{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}, "variables": ...}`` with no
  ``query``: the document stored under that hash runs; an unknown hash is answered with a GraphQL error
  coded ``PERSISTED_QUERY_NOT_FOUND`` (message ``PersistedQueryNotFound``), on which clients resend with
  the document;
- the same with ``query``: the document's hash is checked (``PERSISTED_QUERY_HASH_MISMATCH`` otherwise),
  stored, and run.

Over GET (``?extensions=...&variables=...``) a query's URL stays short and the same for every caller, so
a cache in front can keep it. The documents are kept per process in a bounded LRU (``PersistedQueries``);
a worker that has not seen one asks for it once. Nothing else changes: a stored document is parsed,
validated, checked against the caller's role and limited exactly as one sent in full.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from typing import Any

from graphql import GraphQLError

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
BAD_REQUEST = "BAD_REQUEST"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PersistedQueryError(Exception):
    """A persisted-query request that cannot run, as the GraphQL error to answer with."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code

    def as_graphql_error(self) -> GraphQLError:
        return GraphQLError(str(self), extensions={"code": self.code})


class PersistedQueries:
    """Documents by SHA-256 hex digest, the ``capacity`` most recently used."""

    def __init__(self, capacity: int = 2_000) -> None:
        self.capacity = capacity
        self._documents: OrderedDict[str, str] = OrderedDict()

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The document to run: ``query`` itself when the request uses no persisted query; the stored
        document for its hash; or ``query`` once its hash is checked and it is stored."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return query
        digest = _digest(persisted)
        if query is None:
            found = self._documents.get(digest)
            if found is None:
                raise PersistedQueryError("PersistedQueryNotFound", NOT_FOUND)
            self._documents.move_to_end(digest)
            return found
        if hashlib.sha256(query.encode("utf-8")).hexdigest() != digest:
            raise PersistedQueryError(
                "persistedQuery: sha256Hash is not the SHA-256 of the query sent with it", HASH_MISMATCH
            )
        self._documents[digest] = query
        self._documents.move_to_end(digest)
        if len(self._documents) > self.capacity:
            self._documents.popitem(last=False)
        return query


def _digest(persisted: Any) -> str:
    """The request's hash, lower case, once the extension's shape is checked."""
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError("persistedQuery: only version 1 is supported", BAD_REQUEST)
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
        raise PersistedQueryError("persistedQuery: sha256Hash must be 64 hexadecimal digits", BAD_REQUEST)
    return digest.lower()
