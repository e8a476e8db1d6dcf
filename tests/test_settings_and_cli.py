from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from personagraph.graph.errors import Neo4jAuthError, Neo4jUnavailableError
from personagraph.graph.server.choose import Neo4jSource, choose_source
from personagraph.graph.server.connection import ConnectionInfo, open_driver
from personagraph.graph.settings import Settings


def _persona(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "personagraph.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_env_prefix_and_neo4j_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEO4J_URI", "neo4j+s://example.databases.neo4j.io")
    monkeypatch.setenv("PERSONA_BATCH_SIZE", "250")
    monkeypatch.setenv("PERSONA_NEO4J_PLUGINS", "apoc")
    settings = Settings()
    assert settings.neo4j_uri == "neo4j+s://example.databases.neo4j.io"
    assert settings.batch_size == 250 and settings.neo4j_plugins == ("apoc",)
    assert choose_source(settings) is Neo4jSource.URI


def test_bad_uri_scheme_says_what_was_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEO4J_URI", "http://localhost:7474")
    with pytest.raises(ValidationError, match="expected a URI starting with one of"):
        Settings()


def test_wrong_password_is_one_clear_error(neo4j_connection: ConnectionInfo) -> None:
    wrong = ConnectionInfo(neo4j_connection.uri, "neo4j", "not-the-password", "neo4j", Neo4jSource.URI)
    with pytest.raises(Neo4jAuthError, match="refused user 'neo4j': wrong or missing password"):
        open_driver(wrong)


def test_nobody_listening_is_unavailable() -> None:
    from personagraph.graph.server.local import free_port

    info = ConnectionInfo(f"bolt://127.0.0.1:{free_port()}", "neo4j", "x" * 8, "neo4j", Neo4jSource.URI)
    with pytest.raises(Neo4jUnavailableError, match="does not answer"):
        open_driver(info)


def test_cli_wrong_password_prints_one_line_not_a_traceback(neo4j_env: dict[str, str]) -> None:
    done = _persona("schema", "apply", env={**neo4j_env, "PERSONA_NEO4J_PASSWORD": "wrong-password"})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "wrong or missing password" in done.stderr


def test_cli_bad_setting_is_one_line(neo4j_env: dict[str, str]) -> None:
    done = _persona("schema", "apply", env={**neo4j_env, "PERSONA_BATCH_SIZE": "zero"})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "batch_size" in done.stderr


def test_cli_schema_apply_and_load_against_the_test_neo4j(neo4j_env: dict[str, str], store: object) -> None:
    applied = _persona("schema", "apply", env=neo4j_env)
    assert applied.returncode == 0, applied.stderr
    assert "schema up to date" in applied.stderr
    from tests.conftest import DEMO_DATA

    loaded = _persona("load", str(DEMO_DATA), env=neo4j_env)
    assert loaded.returncode == 0, loaded.stderr
    assert "users.csv" in loaded.stderr


def test_cli_help_lists_the_commands() -> None:
    done = _persona("--help", env={})
    assert done.returncode == 0
    for command in ("neo4j", "schema", "load", "serve", "demo"):
        assert command in done.stdout
