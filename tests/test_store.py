"""GraphStore against the real Neo4j: reads run as auto-commit reads outside a transaction and inside
``in_transaction`` join it (they see its writes, and nothing is left when it fails)."""

from __future__ import annotations

import pytest
from neo4j.exceptions import CypherSyntaxError

from personagraph.graph.store import GraphStore


class _Refused(Exception):
    pass


def _user(store: GraphStore, user_id: str) -> list[object]:
    return [r["user"]["userId"] for r in store.read("profiles/read/get_user", userId=user_id)]


def test_a_read_inside_a_transaction_sees_its_writes_and_a_failed_one_leaves_nothing(
    store: GraphStore,
) -> None:
    def work(tx: GraphStore) -> list[object]:
        tx.write("profiles/write/placeholder_users", keys=["s1"])
        return _user(tx, "s1")

    assert store.in_transaction("placeholder", work) == ["s1"]
    assert _user(store, "s1") == ["s1"]  # committed: an auto-commit read after it sees it

    def failing(tx: GraphStore) -> None:
        tx.write("profiles/write/placeholder_users", keys=["s2"])
        assert _user(tx, "s2") == ["s2"]
        raise _Refused

    with pytest.raises(_Refused):
        store.in_transaction("placeholder", failing)
    assert _user(store, "s2") == []


def test_a_read_that_cannot_succeed_fails_at_once(store: GraphStore) -> None:
    class Broken:
        text, params, name = "MATCH (u:User RETURN u", {}, "broken"

    with pytest.raises(CypherSyntaxError):  # not retryable: not read again
        store.read_statement(Broken())
