"""Identity resolution on the real Neo4j: merge by shared identities, inspect, split."""

from __future__ import annotations

from pathlib import Path

import pytest

from personagraph.graph.errors import NotFoundError
from personagraph.graph.profiles.identities import customer_members, resolve_identities, split_user
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import LoadOptions, load_dataset

FILES = {
    "users.csv": "user_id,city\nw1,Shanghai\na7,Shanghai\nb3,Beijing\nz9,Chengdu\n",
    # w1 (WeChat) and a7 (app) share an email written differently; a7 and b3 share a phone.
    "identities.csv": "user_id,kind,value\nw1,email,Ann.Lee@Example.com\na7,email, ann.lee@example.com \n"
    "a7,phone,+86 138 0000 1111\nb3,phone,86-138-0000-1111\nz9,email,zed@example.com\n",
    "products.csv": "sku\nP1\n",
    "orders.csv": "order_id,user_id,sku,ordered_at\no1,w1,P1,2025-01-01\no2,b3,P1,2025-01-02\n",
}


@pytest.fixture
def loaded(store: GraphStore, tmp_path: Path) -> GraphStore:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    options = LoadOptions(rejects_dir=tmp_path / "rejects", context=RowContext(identity_salt="pepper"))
    assert all(r.rejected == 0 for r in load_dataset(store, tmp_path, options=options))
    return store


def test_shared_identities_resolve_to_one_customer_with_evidence(loaded: GraphStore) -> None:
    report = resolve_identities(loaded)
    assert (report.customers, report.users_linked) == (1, 2)
    members = customer_members(loaded, customer_id="a7")
    assert members == {"a7": 0, "b3": 1, "w1": 1}  # orders of merged users reach the customer
    records, _, _ = loaded.driver.execute_query(
        "MATCH (u:User)-[s:SAME_AS]->(c:User) RETURN u.userId AS u, c.userId AS c, s.evidence AS e ORDER BY u"
    )
    assert [(r["u"], r["c"], r["e"]) for r in records] == [("b3", "a7", ["phone"]), ("w1", "a7", ["email"])]
    assert customer_members(loaded, customer_id="z9") == {"z9": 0}


def test_resolving_twice_changes_nothing(loaded: GraphStore) -> None:
    resolve_identities(loaded)
    query = "MATCH (u:User)-[s:SAME_AS]->(c) RETURN collect([u.userId, c.userId, s.resolvedAt])"
    before, _, _ = loaded.driver.execute_query(query)
    resolve_identities(loaded)
    after, _, _ = loaded.driver.execute_query(query)
    assert before[0][0] == after[0][0]


def test_split_undoes_a_merge_and_sticks(loaded: GraphStore) -> None:
    resolve_identities(loaded)
    assert split_user(loaded, user_id="b3") == 1
    assert "b3" not in customer_members(loaded, customer_id="a7")
    resolve_identities(loaded)  # a split user stays apart
    assert customer_members(loaded, customer_id="a7") == {"a7": 0, "w1": 1}
    assert customer_members(loaded, customer_id="b3") == {"b3": 1}
    with pytest.raises(NotFoundError):
        split_user(loaded, user_id="nobody")
