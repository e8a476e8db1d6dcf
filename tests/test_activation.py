"""Pushing saved audiences to ad platforms against the real Neo4j: only advertising consent, keys gone on
withdrawal and on forget-me, the k floor, exact diffs, audit, and who may push through GraphQL."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

from personagraph.graph.activation import normalise as n
from personagraph.graph.activation.platforms import Platform
from personagraph.graph.activation.push import PushRefusedError, PushReport, push_audience
from personagraph.graph.audiences.service import save_audience
from personagraph.graph.audit import AuditLog
from personagraph.graph.kinds import Purpose
from personagraph.graph.privacy.consent import set_consent
from personagraph.graph.privacy.forget import forget_user
from personagraph.graph.records import RowContext
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import LoadOptions, load_file
from tests.api_support import as_role, secured

KEY = b"k" * 32
USERS = [f"u{i:02d}" for i in range(1, 13)]  # u01-u10 consent to advertising, u11 and u12 do not
AUDIENCE = "everyone"


def _email(user: str) -> str:
    return f"{user}.Shop@Gmail.com"


def _phone(user: str) -> str:
    return f"+86 138 0013 80{user[1:]}"


def _google_email(user: str) -> str:
    return hashlib.sha256(n.email_google(_email(user)).encode()).hexdigest()  # type: ignore[union-attr]


def _rows(store: GraphStore, query: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = store.driver.execute_query(query, params)
    return [r.data() for r in records]


def _load(store: GraphStore, folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    options = LoadOptions(
        batch_size=100,
        rejects_dir=folder / "rejects",
        context=RowContext(identity_salt="t"),
        suppression_key=KEY,
    )
    report = load_file(store, path, options=options)
    assert report.rejected == 0


def _identities(users: list[str]) -> str:
    lines = ["user_id,kind,value"]
    for user in users:
        lines += [f"{user},email,{_email(user)}", f"{user},phone,{_phone(user)}", f"{user},wechat,wx_{user}"]
    return "\n".join(lines) + "\n"


def _push(
    store: GraphStore,
    out: Path,
    audit: AuditLog,
    *,
    diff: bool,
    k: int = 3,
    platform: Platform = Platform.GOOGLE,
) -> PushReport:
    return push_audience(
        store,
        audience_id=AUDIENCE,
        platform=platform,
        out=out,
        diff=diff,
        k=k,
        actor="tester",
        role="admin",
        audit=audit,
    )


def _csv_column(path: Path, header: str) -> set[str]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    columns = [i for i, name in enumerate(rows[0]) if name == header]
    return {row[i] for row in rows[1:] for i in columns if row[i]}


@pytest.fixture(scope="module")
def shop(
    driver: Driver, neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GraphStore]:
    """Twelve users; u01-u10 gave advertising consent before their identities were loaded."""
    store = GraphStore(driver, neo4j_connection.database)
    store.run_autocommit("server/write/wipe_data")
    folder = tmp_path_factory.mktemp("activation")
    _load(store, folder, "users.csv", "user_id,city\n" + "".join(f"{u},Shanghai\n" for u in USERS))
    for user in USERS[:10]:
        set_consent(store, user_id=user, purpose="advertising", granted=True, source="preference centre")
    _load(store, folder, "identities.csv", _identities(USERS))
    save_audience(
        store,
        audience_id=AUDIENCE,
        name="Everyone in Shanghai",
        definition={"attribute": {"field": "city", "op": "eq", "value": "Shanghai"}},
        owner="ana",
        purpose=Purpose.ADVERTISING,
    )
    yield store


def test_only_users_with_advertising_consent_hold_keys_and_are_pushed(
    shop: GraphStore, tmp_path: Path
) -> None:
    held = {
        r["userId"]
        for r in _rows(
            shop,
            "MATCH (u:User)-[r:HAS_IDENTITY]->() WHERE r.adKeys IS NOT NULL "
            "RETURN DISTINCT u.userId AS userId",
        )
    }
    assert held == set(USERS[:10])
    audit = AuditLog(tmp_path / "audit.log")
    report = _push(shop, tmp_path / "full", audit, diff=False)
    assert (report.members, report.users) == (10, 10)
    [written] = report.files
    emails = _csv_column(written.path, "Email")
    assert emails == {_google_email(u) for u in USERS[:10]}
    assert _google_email("u11") not in emails and written.rows == 10
    phones = _csv_column(written.path, "Phone")
    assert hashlib.sha256(b"+8613800138001").hexdigest() in phones
    [entry] = [e for e in audit.entries() if e.action == "push"]
    assert (entry.rows, entry.details["audienceId"], entry.details["platform"]) == (10, AUDIENCE, "google")
    assert "u01" not in str(entry.details)  # counts and file names, never the members


def test_tencent_and_oceanengine_files_hold_one_hash_per_line(shop: GraphStore, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.log")
    tencent = _push(shop, tmp_path / "t", audit, diff=False, platform=Platform.TENCENT)
    names = {f.path.name for f in tencent.files}
    assert {"tencent-full-HASH_MOBILE_PHONE.txt", "tencent-full-HASH_MOBILE_PHONE.zip"} <= names
    lines = (tmp_path / "t" / "tencent-full-HASH_MOBILE_PHONE.txt").read_text().splitlines()
    assert len(lines) == 10 and hashlib.md5(b"13800138001").hexdigest() in lines
    ocean = _push(shop, tmp_path / "o", audit, diff=False, platform=Platform.OCEANENGINE)
    assert "oceanengine-full.zip" in {f.path.name for f in ocean.files}


def test_k_floor_refuses_and_writes_nothing(shop: GraphStore, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.log")
    with pytest.raises(PushRefusedError, match="k=11"):
        _push(shop, tmp_path / "refused", audit, diff=False, k=11)
    assert not (tmp_path / "refused").exists()
    assert [e.action for e in audit.entries()] == ["push-refused"]


def test_withdrawal_drops_keys_and_the_diff_is_exact(shop: GraphStore, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.log")
    _push(shop, tmp_path / "base", audit, diff=False)
    set_consent(shop, user_id="u10", purpose="advertising", granted=False, source="unsubscribe link")
    keys = _rows(shop, "MATCH (:User {userId: 'u10'})-[r:HAS_IDENTITY]->() RETURN r.adKeys AS keys")
    assert keys and all(r["keys"] is None for r in keys)
    # u11 consents now: their keys exist only once their identities are loaded again (derived at ingest)
    set_consent(shop, user_id="u11", purpose="advertising", granted=True, source="preference centre")
    _load(shop, tmp_path / "again", "identities.csv", _identities(["u11"]))
    report = _push(shop, tmp_path / "diff", audit, diff=True)
    assert (report.added, report.removed) == (2, 2)  # one email and one phone each
    adds = tmp_path / "diff" / "google-add.csv"
    removes = tmp_path / "diff" / "google-remove.csv"
    assert _csv_column(adds, "Email") == {_google_email("u11")}
    assert _csv_column(removes, "Email") == {_google_email("u10")}
    again = _push(shop, tmp_path / "none", audit, diff=True)
    assert (again.added, again.removed) == (0, 0)


def test_forget_me_removes_the_keys_everywhere(shop: GraphStore, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.log")
    _push(shop, tmp_path / "before", audit, diff=False)
    mine = {
        k
        for r in _rows(shop, "MATCH (:User {userId: 'u09'})-[r:HAS_IDENTITY]->() RETURN r.adKeys AS keys")
        for k in r["keys"] or ()
    }
    assert mine
    forget_user(shop, user_id="u09", key=KEY, actor="dpo", identity_key="t")
    left = _rows(
        shop,
        "MATCH ()-[r]->() WHERE any(k IN coalesce(r.adKeys, r.keys, []) WHERE k IN $mine) "
        "RETURN count(r) AS n",
        mine=sorted(mine),
    )
    assert left == [{"n": 0}]
    report = _push(shop, tmp_path / "after", audit, diff=False)
    assert _google_email("u09") not in _csv_column(report.files[0].path, "Email")


def test_push_through_graphql_by_role(
    shop: GraphStore, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    keys = secured(tmp_path / "keys", api_rate_limit=0, privacy_k=3)
    mutation = (
        "mutation($a: ID!) { pushAudience(audienceId: $a, platform: META) "
        "{ users keys files { name rows } } }"
    )
    with keys.client(neo4j_connection, None) as client:
        for role in ("analyst", "service"):
            assert as_role(client, keys, role).code(mutation, {"a": AUDIENCE}) == "FORBIDDEN"
        # a marketer may push only their own audiences (this one is ana's)
        assert as_role(client, keys, "marketer").code(mutation, {"a": AUDIENCE}) == "FORBIDDEN"
        assert as_role(client, keys, "admin").code(mutation, {"a": "no-such"}) == "NOT_FOUND"
        data = as_role(client, keys, "admin").data(mutation, {"a": AUDIENCE})["pushAudience"]
    assert data["users"] >= 3 and data["files"][0]["name"] == "meta-full.csv"
    actions = [e["action"] for e in keys.audit_entries()]
    assert "push" in actions and "mutation" in actions
