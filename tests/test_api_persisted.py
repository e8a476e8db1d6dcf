"""Automatic persisted queries (api/persisted.py): a document sent once, then run by its SHA-256; and
what an attacker might try with them (an unknown hash, a hash that is not the document's, a document
stored by one role run by another, no key)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from personagraph.api.policy import Role
from tests.api_support import AnalysedGraph, Secured, one

pytestmark = pytest.mark.neo4j

PROFILE = "query P($id: ID!) { user(id: $id) { id city tags { tagId } friends(first: 3) { totalCount } } }"


def _sha(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _persisted(digest: str, version: Any = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


@pytest.fixture(scope="module")
def user(graph: AnalysedGraph) -> str:
    return str(one(graph, "MATCH (u:User)-[:FRIEND_OF]-() RETURN u.userId AS id ORDER BY id LIMIT 1")["id"])


def test_a_document_sent_once_then_runs_by_its_hash(client: TestClient, keys: Secured, user: str) -> None:
    admin = keys.headers(Role.ADMIN)
    variables = {"id": user}
    plain = client.post("/graphql", json={"query": PROFILE, "variables": variables}, headers=admin).json()
    assert plain["data"]["user"]["id"] == user

    digest = _sha(PROFILE)
    first = client.post(
        "/graphql", json={"extensions": _persisted(digest), "variables": variables}, headers=admin
    ).json()
    assert first == {
        "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
    }

    stored = client.post(
        "/graphql",
        json={"query": PROFILE, "extensions": _persisted(digest), "variables": variables},
        headers=admin,
    ).json()
    assert stored == plain
    by_hash = client.post(
        "/graphql", json={"extensions": _persisted(digest.upper()), "variables": variables}, headers=admin
    ).json()
    assert by_hash == plain
    # Over GET too: the same short URL for every caller of the same question.
    got = client.get(
        "/graphql",
        params={"extensions": json.dumps(_persisted(digest)), "variables": json.dumps(variables)},
        headers={**admin, "accept": "application/json"},
    )
    assert got.status_code == 200 and got.json() == plain


def test_a_hash_that_is_not_the_documents_is_refused_and_nothing_is_stored(
    client: TestClient,
    keys: Secured,
    user: str,
) -> None:
    admin = keys.headers(Role.ADMIN)
    other = "query { tags { tagId } }"
    claimed = _sha(other)  # the attacker claims another document's hash for theirs
    refused = client.post(
        "/graphql",
        json={"query": PROFILE, "extensions": _persisted(claimed), "variables": {"id": user}},
        headers=admin,
    ).json()
    assert (
        refused["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
        and "data" not in refused
    )
    later = client.post("/graphql", json={"extensions": _persisted(claimed)}, headers=admin).json()
    assert later["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "extension",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": "yes"},
    ],
)
def test_malformed_persisted_queries_are_bad_requests(
    client: TestClient,
    keys: Secured,
    extension: dict[str, Any],
) -> None:
    body = client.post("/graphql", json={"extensions": extension}, headers=keys.headers(Role.ADMIN))
    assert body.status_code == 200
    error = body.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST" and "Traceback" not in body.text


def test_a_stored_document_is_checked_against_each_callers_role(
    client: TestClient,
    keys: Secured,
    user: str,
) -> None:
    """An admin stores a profile read; a marketer (who may not look people up) and an analyst (who may
    not read customer ids) running it by hash are refused exactly as if they had sent it, and audited
    reads stay per caller."""
    document = "query Q($id: ID!) { user(id: $id) { id customerId } }"
    digest = _sha(document)
    stored = client.post(
        "/graphql",
        json={"query": document, "extensions": _persisted(digest), "variables": {"id": user}},
        headers=keys.headers(Role.ADMIN),
    ).json()
    assert stored["data"]["user"]["id"] == user
    for role in (Role.MARKETER, Role.ANALYST):
        by_hash = client.post(
            "/graphql",
            json={"extensions": _persisted(digest), "variables": {"id": user}},
            headers=keys.headers(role),
        ).json()
        assert by_hash["errors"][0]["extensions"]["code"] == "FORBIDDEN" and "data" not in by_hash, (
            role,
            by_hash,
        )
    # Without a key, a hash is as unwelcome as a document.
    anonymous = client.post("/graphql", json={"extensions": _persisted(digest), "variables": {"id": user}})
    assert anonymous.status_code == 401
