"""Issue 15, the API's day-one defects: CORS (10), the GraphiQL page (11, the browser run is in
tests/test_graphiql_browser.py), the Docker files (12) and metrics with several workers (14).

Each test talks to a real server over HTTP (uvicorn on 127.0.0.1, over the test Neo4j), or reads the
real files; none fakes a part.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from api.app import create_app
from graph.connection import ConnectionInfo
from graph.local_neo4j import free_port
from graph.settings import Settings
from tests.api_support import Secured, secured

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60.0


@contextmanager
def live(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1 in a background thread: its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="day-one-api-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the API server exited during start-up (see the captured log)")
        if time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail(f"the API server did not start within {START_TIMEOUT_S:.0f}s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# 10. CORS ---------------------------------------------------------------------------------------------

FRONT_END = "http://crm.example.test:3000"
OTHER = "https://evil.example.test"
QUERY = {"query": "{ __typename }"}


def preflight(base: str, origin: str) -> httpx.Response:
    """What a browser sends before a cross-origin POST with a key and a JSON body."""
    return httpx.options(
        f"{base}/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=10,
    )


def test_cors_setting_takes_a_list_and_refuses_what_is_not_an_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().api_cors_origins == ()  # off by default
    monkeypatch.setenv("PERSONA_API_CORS_ORIGINS", "https://CRM.example.com/, http://127.0.0.1:3000")
    assert Settings().api_cors_origins == ("https://crm.example.com", "http://127.0.0.1:3000")
    monkeypatch.setenv("PERSONA_API_CORS_ORIGINS", '["https://crm.example.com"]')
    assert Settings().api_cors_origins == ("https://crm.example.com",)
    for wrong in ("crm.example.com", "https://crm.example.com/app", "ftp://crm.example.com", "https://u@crm"):
        monkeypatch.setenv("PERSONA_API_CORS_ORIGINS", wrong)
        with pytest.raises(ValidationError, match="expected origins such as"):
            Settings()


@pytest.fixture(scope="module")
def cors_keys(tmp_path_factory: pytest.TempPathFactory) -> Secured:
    return secured(tmp_path_factory.mktemp("cors"), api_cors_origins=(FRONT_END,))


def test_cors_allowed_origin_gets_the_headers_without_credentials(
    neo4j_connection: ConnectionInfo, cors_keys: Secured
) -> None:
    with live(create_app(cors_keys.settings, connection=neo4j_connection)) as base:
        allowed = preflight(base, FRONT_END)
        assert allowed.status_code == 200, allowed.text
        assert allowed.headers["access-control-allow-origin"] == FRONT_END
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in allowed.headers  # bearer keys, never cookies

        answer = httpx.post(
            f"{base}/graphql", json=QUERY, headers={"Origin": FRONT_END, **cors_keys.headers()}, timeout=10
        )
        assert answer.json() == {"data": {"__typename": "Query"}}
        assert answer.headers["access-control-allow-origin"] == FRONT_END
        assert "access-control-allow-credentials" not in answer.headers

        # The front-end can read why it was refused, too (a missing key: 401).
        refused = httpx.post(f"{base}/graphql", json=QUERY, headers={"Origin": FRONT_END}, timeout=10)
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == FRONT_END

        # Another origin gets no CORS headers, neither on the preflight nor on the request itself.
        other = preflight(base, OTHER)
        assert "access-control-allow-origin" not in other.headers and other.status_code >= 400
        stranger = httpx.post(
            f"{base}/graphql", json=QUERY, headers={"Origin": OTHER, **cors_keys.headers()}, timeout=10
        )
        assert "access-control-allow-origin" not in stranger.headers


def test_cors_is_off_by_default(neo4j_connection: ConnectionInfo, tmp_path: Path) -> None:
    keys = secured(tmp_path)
    assert keys.settings.api_cors_origins == ()
    with live(create_app(keys.settings, connection=neo4j_connection)) as base:
        for origin in (FRONT_END, OTHER):
            refused = preflight(base, origin)
            assert "access-control-allow-origin" not in refused.headers
            answer = httpx.post(
                f"{base}/graphql", json=QUERY, headers={"Origin": origin, **keys.headers()}, timeout=10
            )
            assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
