"""Audiences in one house (issue 16): their statements go through GraphStore like every read (one
timeout, one timeout error), their cursors are graph/paging.py's, and "do these ids exist" is
graph/ids.py's."""

from __future__ import annotations

import pytest

from personagraph.graph.audiences.service import audience_members, count_audience, member_cursor
from personagraph.graph.errors import QueryTimeoutError
from personagraph.graph.ids import existing_ids, missing_ids
from personagraph.graph.paging import InvalidPageError, encode_cursor
from personagraph.graph.store import GraphStore

CLIQUE = 250  # users all friends with each other: 31,125 ties
# Within every definition limit, yet slow over a clique: two friends levels with counts, CLIQUE^3 steps.
SLOW = {
    "or": [
        {"friends": {"atLeast": 10_000, "who": {"friends": {"atLeast": 10_000}}}},
        {"tag": {"tagId": "vip"}},
    ]
}


def test_an_audience_count_over_the_store_timeout_raises_the_store_timeout_error(store: GraphStore) -> None:
    """A count runs under the store's one transaction timeout and is stopped there with QueryTimeoutError,
    the error every catalog read raises (the API's TIMEOUT). Before, audiences ran on the driver with a
    300 s timeout of their own, and Neo4j's error surfaced as it was."""
    store.driver.execute_query(
        "UNWIND range(1, $n) AS i CREATE (:User {userId: 'clique-' + toString(i)})", n=CLIQUE
    )
    store.driver.execute_query(
        "MATCH (a:User), (b:User) WHERE a.userId < b.userId CREATE (a)-[:FRIEND_OF]->(b)"
    )
    hurried = GraphStore(store.driver, store.database, timeout_s=0.2)
    try:
        with pytest.raises(QueryTimeoutError) as stopped:
            count_audience(hurried, SLOW, purpose="analysis")
    finally:
        store.run_autocommit("server/write/wipe_data")
    assert stopped.value.statement == "audience/count" and stopped.value.timeout_s == 0.2


def test_member_cursors_are_the_paging_cursors_and_others_are_refused(store: GraphStore) -> None:
    store.driver.execute_query("UNWIND ['a', 'b', 'c'] AS id CREATE (:User {userId: id})")
    everyone = {"not": {"tag": {"tagId": "nobody-has-this"}}}
    first = audience_members(store, everyone, first=2, purpose="analysis")
    assert first.users == ["a", "b"] and first.has_next and first.end_cursor == member_cursor("b")
    rest = audience_members(store, everyone, first=2, after=first.end_cursor, purpose="analysis")
    assert rest.users == ["c"] and not rest.has_next
    assert audience_members(store, everyone, first=2, after="", purpose="analysis").users == ["a", "b"]
    refused = [
        "not-a-cursor",
        encode_cursor("friends", "b"),  # another list's
        encode_cursor("audience members"),  # no key
        encode_cursor("audience members", "b", "c"),  # two keys
    ]
    for cursor in refused:
        with pytest.raises(InvalidPageError, match=r"^after: not a cursor this API issued"):
            audience_members(store, everyone, after=cursor, purpose="analysis")
    with pytest.raises(InvalidPageError, match=r"^first: must be between 1 and 1000"):
        audience_members(store, everyone, first=1001, purpose="analysis")


def test_which_ids_exist(store: GraphStore) -> None:
    store.driver.execute_query("UNWIND ['u1', 'u2'] AS id CREATE (:User {userId: id})")
    assert existing_ids(store, "users", ["u2", "u3", "u1", "u2"]) == {"u1", "u2"}
    assert missing_ids(store, "users", ["u9", "u1", "u3", "u9"]) == ["u9", "u3"]
    assert existing_ids(store, "tags", []) == set() and missing_ids(store, "tags", ["u1"]) == ["u1"]
