"""A write's side effects happen inside the graph/ function that writes (issue 16), so the CLI, the API
and any other caller get the same graph: here, saved-audience membership (IN_AUDIENCE) follows a
consent statement made through the CLI, a profile changed through the API's upsertUser, and an event
recorded by calling graph/ directly (before, only the API's resolvers refreshed membership, and only
after recordEvent, recordOrder and setConsent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from personagraph.graph.audiences.service import save_audience
from personagraph.graph.events.record import record_event
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import LoadOptions, load_dataset
from tests.api_support import GraphQL, secured

DEMO_DATA = Path(__file__).resolve().parent.parent / "loaders" / "demo_data"
HANGZHOU = {"attribute": {"field": "city", "op": "eq", "value": "Hangzhou"}}
VIEWED_HELMET = {"behavior": {"action": "viewed", "sku": "P101"}}


def _load_demo(store: GraphStore, tmp_path: Path) -> None:
    load_dataset(store, DEMO_DATA, options=LoadOptions(rejects_dir=tmp_path / "rejects"))


def _ids(store: GraphStore, query: str, **params: str) -> list[str]:
    records, _, _ = store.driver.execute_query(query + " RETURN u.userId AS id ORDER BY id", params)
    return [r["id"] for r in records]


def _members(store: GraphStore, audience_id: str) -> list[str]:
    return _ids(store, "MATCH (u:User)-[:IN_AUDIENCE]->(:Audience {audienceId: $a})", a=audience_id)


def _city(store: GraphStore, city: str) -> list[str]:
    """Users of ``city`` who consent to marketing: the members a marketing audience on it should have."""
    return _ids(store, "MATCH (u:User {city: $city}) WHERE u.marketingConsent = true", city=city)


def test_consent_withdrawn_through_the_cli_leaves_saved_audiences(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings

    _load_demo(store, tmp_path)
    save_audience(store, audience_id="hz", name="Hangzhou", definition=HANGZHOU, owner="tests")
    members = _members(store, "hz")
    assert members and members == _city(store, "Hangzhou")
    user = members[0]
    monkeypatch.setenv("PERSONA_SECRET_KEY", "side-effects-test-secret")
    monkeypatch.setenv("PERSONA_AUDIT_LOG", str(tmp_path / "audit.log"))
    monkeypatch.setenv("PERSONA_DATA_DIR", str(tmp_path / "data-dir"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        consent = ["consent", "set", user, "--purpose", "marketing", "--source", "cli test"]
        done = runner.invoke(app, [*consent, "--revoked"])
        assert done.exit_code == 0, done.output
        assert user not in _members(store, "hz")
        assert _members(store, "hz") == _city(store, "Hangzhou")
        done = runner.invoke(app, [*consent, "--granted"])
        assert done.exit_code == 0, done.output
        assert _members(store, "hz") == members
    finally:
        get_settings.cache_clear()


def test_upsert_user_through_the_api_moves_saved_audience_membership(
    store: GraphStore, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    _load_demo(store, tmp_path)
    save_audience(store, audience_id="hz", name="Hangzhou", definition=HANGZHOU, owner="tests")
    before = _members(store, "hz")
    outsider = next(u for u in _city(store, "Shanghai") if u not in before)
    upsert = "mutation($u: UserInput!) { upsertUser(input: $u) { id city } }"
    with secured(tmp_path / "keys", api_rate_limit=0).client(neo4j_connection) as client:
        gql = GraphQL(client)
        moved = gql.data(upsert, {"u": {"id": outsider, "city": "Hangzhou"}})["upsertUser"]
        assert moved == {"id": outsider, "city": "Hangzhou"}
        assert _members(store, "hz") == sorted([*before, outsider])
        gql.data(upsert, {"u": {"id": outsider, "city": "Shanghai"}})
        assert _members(store, "hz") == before


def test_an_event_recorded_through_graph_updates_saved_audiences(store: GraphStore, tmp_path: Path) -> None:
    _load_demo(store, tmp_path)
    save_audience(
        store,
        audience_id="helmet",
        name="Viewed the helmet",
        definition=VIEWED_HELMET,
        owner="tests",
        purpose="analysis",
    )
    user = _ids(store, "MATCH (u:User) WHERE NOT (u)-[:IN_AUDIENCE]->(:Audience {audienceId: 'helmet'})")[0]
    record_event(store, user_id=user, kind="view", at="2025-06-01T00:00:00Z", target="P101")
    assert user in _members(store, "helmet")
