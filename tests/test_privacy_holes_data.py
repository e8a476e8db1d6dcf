"""Issue 14, holes 3, 4 and 12, each reproduced as the attack: a reload that undoes a consent withdrawal,
identity hashes without a key, and what a forgotten user leaves behind (derived audience ids, search
text, reject files). Real Neo4j, the real app over HTTP, the real CLI."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from graph.errors import ConfigurationError
from graph.store import GraphStore
from loaders.records import RowContext, hash_identity

PHONE = "+86 138 0013 4521"  # one of the 10,000 numbers of the 138-0013 block


def _rows(store: GraphStore, query: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = store.driver.execute_query(query, params)
    return [r.data() for r in records]


@pytest.fixture
def cli(neo4j_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The CLI with a fresh data folder and neither PERSONA_IDENTITY_SALT nor PERSONA_SECRET_KEY set."""
    from graph.settings import get_settings

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
    from cli.main import app
    from graph.secrets import identity_key
    from graph.settings import get_settings

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
    from cli.main import app
    from graph.settings import get_settings

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
    from cli.main import app
    from graph.settings import get_settings

    monkeypatch.setenv("PERSONA_IDENTITY_SALT", "a-long-random-salt-from-the-vault")
    get_settings.cache_clear()
    folder = _identity_files(tmp_path / "data")
    done = cli.invoke(app, ["load", str(folder), "--rejects", str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    assert _stored_phone_hash(store) == hash_identity("phone", PHONE, "a-long-random-salt-from-the-vault")
