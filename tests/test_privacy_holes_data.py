"""Issue 14, holes 3, 4 and 12, each reproduced as the attack: a reload that undoes a consent withdrawal,
identity hashes without a key, and what a forgotten user leaves behind (derived audience ids, search
text, reject files). Real Neo4j, the real app over HTTP, the real CLI."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from personagraph.graph.errors import ConfigurationError
from personagraph.graph.records import RowContext, hash_identity
from personagraph.graph.store import GraphStore
from tests.graph_support import behaviour_totals_drift

PHONE = "86 138 0013 4521"  # one of the 10,000 numbers of the 138-0013 block


def _rows(store: GraphStore, query: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = store.driver.execute_query(query, params)
    return [r.data() for r in records]


@pytest.fixture
def cli(neo4j_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The CLI with a fresh data folder and neither PERSONA_IDENTITY_SALT nor PERSONA_SECRET_KEY set."""
    from personagraph.graph.settings import get_settings

    for name in ("PERSONA_IDENTITY_SALT", "PERSONA_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PERSONA_DATA_DIR", str(tmp_path / "data-dir"))
    monkeypatch.setenv("PERSONA_AUDIT_LOG", str(tmp_path / "audit.log"))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


# --- hole 4: identity hashes are unkeyed by default ----------------------------------------------


def _identity_files(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "users.csv").write_text("user_id,city\nk1,Shanghai\nk2,Beijing\n", encoding="utf-8")
    (folder / "identities.csv").write_text(
        f"user_id,kind,value\nk1,phone,{PHONE}\nk2,email,Ann.Lee@Example.com\n", encoding="utf-8"
    )
    return folder


def _stored_phone_hash(store: GraphStore) -> str:
    found = _rows(store, "MATCH (:User {userId: 'k1'})-[:HAS_IDENTITY]->(i:Identity) RETURN i.value AS v")
    assert len(found) == 1
    return str(found[0]["v"])


def _recover_phone(stored: str) -> list[str]:
    """The attack: the hashing scheme is public (HMAC-SHA256 of 'phone:<digits>'); with the default key
    (empty) every number of a 10,000-number block is tried in well under a second."""
    return [
        digits
        for digits in (f"861380013{n:04d}" for n in range(10_000))
        if hmac.new(b"", f"phone:{digits}".encode(), hashlib.sha256).hexdigest() == stored
    ]


def test_identity_hashes_are_keyed_by_a_secret_kept_on_first_start(
    store: GraphStore, cli: CliRunner, tmp_path: Path
) -> None:
    from personagraph.cli.main import app
    from personagraph.graph.secrets import identity_key
    from personagraph.graph.settings import get_settings

    folder = _identity_files(tmp_path / "data")
    done = cli.invoke(app, ["load", str(folder), "--rejects", str(tmp_path / "r1")])
    assert done.exit_code == 0, done.output
    stored = _stored_phone_hash(store)
    assert _recover_phone(stored) == []  # today: ['8613800134521'] in a few milliseconds

    # The key is the deployment's, kept in <data_dir>/secret.key (0600) from the first start ...
    secret = tmp_path / "data-dir" / "secret.key"
    assert secret.exists() and secret.stat().st_mode & 0o777 == 0o600
    key = identity_key(get_settings())
    assert key and stored == hash_identity("phone", PHONE, key)
    # ... so a later process hashes the same way: a reload adds no identity and equal values still match.
    get_settings.cache_clear()
    assert cli.invoke(app, ["load", str(folder), "--rejects", str(tmp_path / "r2")]).exit_code == 0
    assert _rows(store, "MATCH (i:Identity) RETURN count(i) AS n") == [{"n": 2}]
    assert _stored_phone_hash(store) == stored


@pytest.mark.parametrize("salt", ["", "   "])
def test_an_explicitly_empty_identity_salt_is_refused(
    store: GraphStore, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, salt: str
) -> None:
    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings

    monkeypatch.setenv("PERSONA_IDENTITY_SALT", salt)
    get_settings.cache_clear()
    folder = _identity_files(tmp_path / "data")
    done = cli.invoke(app, ["load", str(folder), "--rejects", str(tmp_path / "r")])
    assert isinstance(done.exception, ConfigurationError), done.output
    assert "PERSONA_IDENTITY_SALT is set but empty" in str(done.exception)
    assert _rows(store, "MATCH (n) WHERE n:User OR n:Identity RETURN count(n) AS n") == [{"n": 0}]

    # Library callers too: an empty key is refused, never used.
    with pytest.raises(ValidationError, match="identity_salt: empty"):
        RowContext(identity_salt=salt)
    with pytest.raises(ValueError, match="salt: empty"):
        hash_identity("phone", PHONE, salt)


def test_a_given_identity_salt_is_used_as_is(store: GraphStore, cli: CliRunner, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings

    monkeypatch.setenv("PERSONA_IDENTITY_SALT", "a-long-random-salt-from-the-vault")
    get_settings.cache_clear()
    folder = _identity_files(tmp_path / "data")
    done = cli.invoke(app, ["load", str(folder), "--rejects", str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    assert _stored_phone_hash(store) == hash_identity("phone", PHONE, "a-long-random-salt-from-the-vault")


# --- hole 3: a reload undoes a consent withdrawal ------------------------------------------------

USER_QUERY = """query($u: ID!) { user(id: $u) { marketingConsent personalizationOptOut
  consentHistory { purpose granted at source applied } } }"""
SET_CONSENT = """mutation($u: ID!, $granted: Boolean!, $at: DateTime) {
  setConsent(userId: $u, purpose: MARKETING, granted: $granted, source: "preference centre", at: $at) {
    granted at applied } }"""


def _users_file(folder: Path, rows: str, *, timed: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    header = "user_id,city,marketing_consent,personalization_opt_out"
    header += ",consent_updated_at" if timed else ""
    (folder / "users.csv").write_text(f"{header}\n{rows}", encoding="utf-8")
    return folder / "users.csv"


def _load_users(store: GraphStore, path: Path, rejects: Path) -> None:
    from personagraph.loaders.pipeline import LoadOptions, load_file

    options = LoadOptions(rejects_dir=rejects, context=RowContext(identity_salt="t"))
    assert load_file(store, path, options=options).rejected == 0


def test_a_reload_of_the_same_file_does_not_undo_a_withdrawal(
    store: GraphStore, neo4j_connection: Any, tmp_path: Path
) -> None:
    from tests.api_support import GraphQL, secured

    users = _users_file(tmp_path / "data", "c1,Shanghai,true,false\nc2,Beijing,true,false\n")
    _load_users(store, users, tmp_path / "r1")
    keys = secured(tmp_path / "api")
    with keys.client(neo4j_connection, "service") as service, keys.client(neo4j_connection) as admin:
        done = GraphQL(service).data(SET_CONSENT, {"u": "c1", "granted": False})["setConsent"]
        assert done["granted"] is False and done["applied"] is True
        before = GraphQL(admin).data(USER_QUERY, {"u": "c1"})["user"]
        assert before["marketingConsent"] is False and len(before["consentHistory"]) == 3

        _load_users(store, users, tmp_path / "r2")  # the attack: the unchanged users.csv again

        after = GraphQL(admin).data(USER_QUERY, {"u": "c1"})["user"]
        # today: marketingConsent true again, with a newer 'load:users.csv' entry on top of the history
        assert after["marketingConsent"] is False
        assert after["consentHistory"] == before["consentHistory"]
        other = GraphQL(admin).data(USER_QUERY, {"u": "c2"})["user"]  # untouched users: as loaded
        assert other["marketingConsent"] is True and len(other["consentHistory"]) == 2


def test_a_statement_wins_by_its_own_time_and_back_dated_ones_are_recorded_not_applied(
    store: GraphStore, neo4j_connection: Any, tmp_path: Path
) -> None:
    from tests.api_support import GraphQL, secured

    _load_users(store, _users_file(tmp_path / "a", "c1,Shanghai,true,false\n"), tmp_path / "r1")
    keys = secured(tmp_path / "api")
    with keys.client(neo4j_connection, "service") as service, keys.client(neo4j_connection) as admin:
        api, read = GraphQL(service), GraphQL(admin)

        def state() -> tuple[bool, list[tuple[bool, str, str, bool]]]:
            user = read.data(USER_QUERY, {"u": "c1"})["user"]
            history = [
                (c["granted"], c["at"][:10], c["source"], c["applied"])
                for c in user["consentHistory"]
                if c["purpose"] == "MARKETING"
            ]
            return user["marketingConsent"], history

        revoke = api.data(SET_CONSENT, {"u": "c1", "granted": False, "at": "2030-01-01T00:00:00Z"})
        assert revoke["setConsent"]["applied"] is True
        # A back-dated grant (made before the withdrawal, sent after it) is kept in the history but changes
        # nothing. Today: marketingConsent true again.
        late = api.data(SET_CONSENT, {"u": "c1", "granted": True, "at": "2029-06-01T00:00:00Z"})
        assert late["setConsent"] == {"granted": True, "at": "2029-06-01T00:00:00+00:00", "applied": False}
        flag, history = state()
        assert flag is False
        assert history[:2] == [
            (False, "2030-01-01", "preference centre", True),
            (True, "2029-06-01", "preference centre", False),
        ]

        # A file with consent times: an older grant is recorded once (not applied), a reload adds nothing.
        old = _users_file(tmp_path / "b", "c1,Shanghai,true,false,2029-09-01T00:00:00Z\n", timed=True)
        _load_users(store, old, tmp_path / "r2")
        _load_users(store, old, tmp_path / "r3")
        flag, history = state()
        assert flag is False and history.count((True, "2029-09-01", "load:users.csv", False)) == 1

        # A newer statement wins by its own time, whichever way it comes.
        new = _users_file(tmp_path / "c", "c1,Shanghai,true,false,2031-01-01T00:00:00Z\n", timed=True)
        _load_users(store, new, tmp_path / "r4")
        flag, history = state()
        assert flag is True and history[0] == (True, "2031-01-01", "load:users.csv", True)

        # A file without consent times may still withdraw (the safe direction), once; it never grants over
        # a recorded statement (the first test).
        untimed = _users_file(tmp_path / "d", "c1,Shanghai,false,false\n")
        _load_users(store, untimed, tmp_path / "r5")
        _load_users(store, untimed, tmp_path / "r6")
        flag, history = state()
        assert flag is False and len(history) == 6
        assert [h for h in history if not h[0] and h[2] == "load:users.csv"] == [
            (False, datetime.now(UTC).isoformat()[:10], "load:users.csv", True)
        ]
        # ... and the withdrawal keeps the 2031 grant's time: a statement older than that cannot undo it.
        late = api.data(SET_CONSENT, {"u": "c1", "granted": True, "at": "2030-06-01T00:00:00Z"})
        assert late["setConsent"]["applied"] is False and state()[0] is False


# --- hole 12: forget-me residue --------------------------------------------------------------------

FORGOTTEN = "u0000098"
EMAIL = "Ann.Lee@Example.com"
SHOP = {
    "users.csv": "user_id,city\nu0000098,Shanghai\nu0000099,Beijing\nu0000100,Chengdu\n",
    "identities.csv": f"user_id,kind,value\nu0000098,email,{EMAIL}\nu0000098,phone,{PHONE}\n"
    "u0000099,email,bo@example.com\n"
    f"u0000098,E MAIL,{EMAIL}\n",  # line 5: an invalid row of theirs (a bad kind) with their raw email
    "products.csv": "sku\nP1\n",
    "events.csv": "user_id,kind,at,target\n"
    "u0000098,search,2025-05-01T10:00:00Z,ann.lee@example.com order status\n"
    "u0000099,search,2025-05-01T11:00:00Z,Ann.Lee@Example.com  order status\n"  # a search for her email
    f"u0000098,search,2025-05-01T10:05:00Z,{PHONE}\n"
    f"u0000100,search,2025-05-01T12:00:00Z,{PHONE}\n"  # ... for her phone number
    "u0000098,search,2025-05-01T10:10:00Z,referral u0000098\n"
    "u0000099,search,2025-05-01T13:00:00Z,referral U0000098\n"  # ... for her id (line 7)
    "u0000098,search,2025-05-01T10:15:00Z,e-bike helmet\n"
    "u0000099,search,2025-05-01T14:00:00Z,e-bike helmet\n"  # a common search: stays, for u0000099
    "u0000098,view,2025-05-01T10:20:00Z,P1\n",
}


def _shop(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in SHOP.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _anything_naming(store: GraphStore, needles: list[str]) -> list[str]:
    """Every node or relationship property (list items too) holding a needle as a word, in any case
    ('u1' in 'aud-u1' or 'U1_seeds', not in 'u12')."""
    words = [re.compile(rf"(?<![0-9a-z]){re.escape(n)}(?![0-9a-z])", re.IGNORECASE) for n in needles]
    found = []
    for owner, query in (
        ("node", "MATCH (n) RETURN labels(n) AS what, properties(n) AS props"),
        ("edge", "MATCH ()-[r]->() RETURN type(r) AS what, properties(r) AS props"),
    ):
        for row in _rows(store, query):
            for key, value in row["props"].items():
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and any(w.search(item) for w in words):
                        found.append(f"{owner} {row['what']}.{key}={item!r}")
    return found


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's settings (the API's forgetUser reads the identity key from them) in a fresh folder."""
    from personagraph.graph.settings import get_settings

    for name in ("PERSONA_IDENTITY_SALT", "PERSONA_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PERSONA_DATA_DIR", str(tmp_path / "deployment"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_forget_leaves_no_derived_audience_ids_nor_search_text_naming_them(
    store: GraphStore, neo4j_connection: Any, tmp_path: Path, deployment: None
) -> None:
    from personagraph.graph.audiences.service import save_audience
    from personagraph.loaders.pipeline import LoadOptions, load_dataset
    from tests.api_support import GraphQL, secured

    options = LoadOptions(rejects_dir=tmp_path / "r1")  # identities under the deployment's key
    load_dataset(store, _shop(tmp_path / "shop"), options=options)
    # Saved audiences named after the user: the look-alike audience of one customer.
    everyone = {"attribute": {"field": "city", "op": "exists", "value": True}}
    around = {"referralHops": {"userId": FORGOTTEN}}
    save_audience(store, audience_id=f"aud-{FORGOTTEN}", name=f"Look-alikes of {FORGOTTEN.upper()}",
                  owner="ana", purpose="analysis", definition=around)  # fmt: skip
    save_audience(store, audience_id=f"{FORGOTTEN}_seeds", name=f"seed:{FORGOTTEN}", owner="ana",
                  purpose="analysis", definition=everyone)  # fmt: skip
    save_audience(store, audience_id="aud-u00000981", name="another user", owner="ana",
                  purpose="analysis", definition=everyone)  # fmt: skip
    needles = [FORGOTTEN, EMAIL, "138 0013 4521"]
    assert _anything_naming(store, needles)

    keys = secured(tmp_path / "api")
    with keys.client(neo4j_connection) as client:
        done = GraphQL(client).data(
            "mutation($u: ID!) { forgetUser(userId: $u) { removed } }", {"u": FORGOTTEN}
        )["forgetUser"]
    # today: Audience.audienceId='aud-u0000098', '…_seeds', and the three shared search texts remain
    assert _anything_naming(store, needles) == []
    assert done["removed"]["searches_naming_them"] == 3 and done["removed"]["search_terms"] == 3

    audiences = _rows(store, "MATCH (a:Audience) RETURN a.audienceId AS id, a.name AS name ORDER BY id")
    assert len(audiences) == 3 and {"id": "aud-u00000981", "name": "another user"} in audiences
    assert sum(a["id"].startswith("aud-forgotten:") for a in audiences) == 1
    # The common search stays, for the other user; those who searched for her are marked stale.
    searched = "MATCH (s:SearchTerm)<-[:SEARCHED]-(u) RETURN s.term AS term, collect(u.userId) AS by"
    terms = _rows(store, searched)
    assert terms == [{"term": "e-bike helmet", "by": ["u0000099"]}]
    stale = _rows(
        store, "MATCH (u:User) WHERE u.analyticsStaleAt IS NOT NULL RETURN u.userId AS id ORDER BY id"
    )
    assert stale == [{"id": "u0000099"}, {"id": "u0000100"}]
    # Their searches for her are gone from the hours the night rule reads too.
    assert behaviour_totals_drift(store) == []


def test_reloads_after_a_forget_keep_nothing_of_them_in_private_rejects(
    store: GraphStore, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from personagraph.cli.main import app

    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # where `persona load` used to put rejects/
    shop = _shop(tmp_path / "shop")
    assert cli.invoke(app, ["load", str(shop)]).exit_code == 3  # the invalid identities row
    done = cli.invoke(app, ["forget", FORGOTTEN, "--yes", "--actor", "dpo"])
    assert done.exit_code == 0, done.output

    again = cli.invoke(app, ["load", str(shop)])  # every reload of the source files
    assert again.exit_code == 3, again.output
    rejects = tmp_path / "data-dir" / "rejects"
    assert not (work / "rejects").exists()  # today: ./rejects/*.jsonl, mode 0644
    assert rejects.stat().st_mode & 0o777 == 0o700
    files = sorted(rejects.glob("*.jsonl"))
    assert [f.name for f in files] == ["events.jsonl", "identities.jsonl", "users.jsonl"]
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    text = "".join(f.read_text(encoding="utf-8") for f in files)
    for needle in (FORGOTTEN, EMAIL.lower(), "4521"):
        assert needle not in text.lower()  # today: the id in every entry, the invalid row with her email
    parsed = [json.loads(line) for line in text.splitlines()]
    entries = {(e["file"], e["line"]): e for e in parsed}
    assert len(entries) == len(parsed)
    assert set(entries) == {
        ("users.csv", 2), ("identities.csv", 2), ("identities.csv", 3), ("identities.csv", 5),
        *(("events.csv", n) for n in (2, 4, 6, 7, 8, 10)),
    }  # fmt: skip
    assert {(e["value"], e["row"], e["reason"]) for e in entries.values()} == {
        (None, None, "refused: this user asked to be forgotten")
    }
    assert entries[("events.csv", 7)]["field"] == "target"  # another user's search for her id
    assert _anything_naming(store, [FORGOTTEN]) == []
