"""Issue 15, the API's day-one defects: CORS (10), the GraphiQL page (11, the browser run is in
tests/test_graphiql_browser.py), the Docker files (12) and metrics with several workers (14).

Each test talks to a real server over HTTP (uvicorn on 127.0.0.1, over the test Neo4j), or reads the
real files; none fakes a part.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from personagraph.api.app import create_app
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.server.local import free_port
from personagraph.graph.settings import Settings
from tests.api_support import Secured, secured
from tests.live_server import live

ROOT = Path(__file__).resolve().parent.parent


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


# 11. GraphiQL -----------------------------------------------------------------------------------------

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # a navigation
ASSET = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"')


@pytest.fixture(scope="module")
def ide_keys(tmp_path_factory: pytest.TempPathFactory) -> Secured:
    return secured(tmp_path_factory.mktemp("ide"))


def test_graphiql_page_and_its_assets_come_from_the_api_without_credentials(
    neo4j_connection: ConnectionInfo, ide_keys: Secured
) -> None:
    with live(create_app(ide_keys.settings, connection=neo4j_connection)) as base:
        page = httpx.get(f"{base}/graphql", headers={"accept": BROWSER_ACCEPT}, timeout=10)
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        assets = ASSET.findall(page.text)
        scripts = [a for a in assets if a.endswith(".js")]
        assert len(scripts) >= 3 and any(a.endswith(".css") for a in assets), assets
        for asset in assets:
            if asset.startswith("data:"):
                continue
            assert asset.startswith("/"), f"the page loads {asset} from another host"
            answer = httpx.get(f"{base}{asset}", timeout=10)  # no key: the page's own files are open
            assert answer.status_code == 200, (asset, answer.status_code)
            assert answer.headers["content-type"].startswith(("text/javascript", "text/css")), asset
        assert "unpkg.com" not in page.text and "cdn" not in page.text.lower()
        # The browser is told so too: scripts, styles and calls from this server only.
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "connect-src 'self'" in policy

        # Open files stop at the page's own folder.
        for path in ("/graphiql/%2e%2e/auth.py", "/graphiql/../app.py", "/graphiql/vendor"):
            assert httpx.get(f"{base}{path}", timeout=10).status_code in (401, 404), path


def test_graphiql_opens_with_a_docs_example_and_a_place_for_the_key(
    neo4j_connection: ConnectionInfo, ide_keys: Secured
) -> None:
    from personagraph.api.ide import EXAMPLE_QUERY, EXAMPLE_TITLE, EXAMPLE_VARIABLES, HEADERS_TEMPLATE
    from tests.test_docs_queries import examples

    documented = {e.title: e for e in examples()}
    assert documented[EXAMPLE_TITLE].query == EXAMPLE_QUERY
    assert documented[EXAMPLE_TITLE].variables == EXAMPLE_VARIABLES
    assert json.loads(HEADERS_TEMPLATE) == {"Authorization": "Bearer <paste your key>"}
    with live(create_app(ide_keys.settings, connection=neo4j_connection)) as base:
        page = httpx.get(f"{base}/graphql", headers={"accept": BROWSER_ACCEPT}, timeout=10).text
        block = re.search(r'id="persona-ide-config"[^>]*>(.*?)</script>', page, re.S)
        assert block, page
        config = json.loads(block[1])
        assert config["query"].endswith(EXAMPLE_QUERY)
        assert json.loads(config["variables"]) == EXAMPLE_VARIABLES
        assert config["headers"] == HEADERS_TEMPLATE


def test_reloading_graphiql_with_its_query_string_is_the_page_not_a_401(
    neo4j_connection: ConnectionInfo, ide_keys: Secured
) -> None:
    query = "query Mine($id: ID!) { user(id: $id) { id } }"
    with live(create_app(ide_keys.settings, connection=neo4j_connection)) as base:
        for state in (
            {"query": query, "variables": '{"id": "u1"}'},  # what the page keeps in the address
            {"q": query},  # strawberry's page's parameter
            {"query": query, "operationName": "Mine", "variables": "{"},  # half-typed variables too
        ):
            page = httpx.get(f"{base}/graphql", params=state, headers={"accept": BROWSER_ACCEPT}, timeout=10)
            assert page.status_code == 200, (state, page.status_code, page.text[:200])
            assert page.headers["content-type"].startswith("text/html") and "graphiql" in page.text.lower()

        # Only the page: operations still need a key, whatever they accept.
        for accept in ("application/json", "application/graphql-response+json", "*/*"):
            get = httpx.get(f"{base}/graphql", params={"query": "{ __typename }"}, headers={"accept": accept})
            assert get.status_code == 401, accept
        assert (
            httpx.post(f"{base}/graphql", json=QUERY, headers={"accept": BROWSER_ACCEPT}).status_code == 401
        )
        # With a key, a GET that is not a navigation is still an operation (GraphQL over HTTP).
        ran = httpx.get(f"{base}/graphql", params={"query": "{ __typename }"}, headers=ide_keys.headers())
        assert ran.json() == {"data": {"__typename": "Query"}}


def test_no_graphiql_page_or_files_in_production(neo4j_connection: ConnectionInfo, tmp_path: Path) -> None:
    keys = secured(tmp_path, env="production")
    with live(create_app(keys.settings, connection=neo4j_connection)) as base:
        html = {"accept": BROWSER_ACCEPT}
        assert httpx.get(f"{base}/graphql", headers=html).status_code == 401  # no open page
        assert httpx.get(f"{base}/graphql", headers={**html, **keys.headers()}).status_code == 404
        assert httpx.get(f"{base}/graphiql/ide.js").status_code == 401
        assert httpx.get(f"{base}/graphiql/ide.js", headers=keys.headers()).status_code == 404


# 12. Docker (static: there is no Docker engine on the project's machines) -----------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def dockerfile_stages(text: str) -> list[list[Instruction]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), by build stage."""
    stages: list[list[Instruction]] = []
    logical = re.sub(
        r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    )
    for line in logical.splitlines():
        if not line.strip():
            continue
        keyword, _, args = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append(Instruction(keyword.upper(), args.strip()))
    return stages


def env_of(instructions: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for i in instructions:
        if i.keyword == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", i.args)))
    return env


SECRET_NAME = re.compile(r"PASSWORD|SECRET|AUTH$|_KEY$")
FROM_ENV = re.compile(r"(neo4j/)?\$\{\w+(:?[?-][^}]*)?\}")  # an interpolation, at most a user name before it


def test_dockerfile_runs_unprivileged_from_a_wheel_with_a_data_volume() -> None:
    stages = dockerfile_stages((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    final = stages[-1]
    users = [i.args for i in final if i.keyword == "USER"]
    assert users, "the image runs as root: no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users
    runs = " ".join(i.args for s in stages for i in s if i.keyword == "RUN")
    assert not re.search(r"pip3? install[^&;]*(\s-e\s|--editable)", runs), "an editable install"
    data_dir = env_of(final).get("PERSONA_DATA_DIR")
    assert data_dir, "PERSONA_DATA_DIR is not set in the image"
    volumes = [v for i in final if i.keyword == "VOLUME" for v in re.findall(r"[\w/.-]+", i.args)]
    assert data_dir in volumes, (data_dir, volumes)
    assert f"chown {user}:" in runs or f"chown {user} " in runs, "the data folder is not the user's"
    # No secret baked in: none in ENV, no .env copied, .env kept out of the build context.
    assert not [k for k in env_of(final) if SECRET_NAME.search(k)]
    assert ".env" not in " ".join(i.args for s in stages for i in s if i.keyword in ("COPY", "ADD"))
    assert ".env" in (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    # GraphiQL's files are built into the image from npm (item 11), not fetched when the page is served.
    assert any(i.keyword == "COPY" and "api/static/vendor" in i.args for s in stages for i in s)


def test_compose_keeps_api_state_in_a_volume_and_takes_secrets_from_env_files() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    api = compose["services"]["api"]
    data_dir = api["environment"]["PERSONA_DATA_DIR"]
    mounts = {target: source for source, _, target in (v.partition(":") for v in api["volumes"])}
    assert data_dir in mounts and mounts[data_dir] in compose["volumes"], (
        "the data folder is not a named volume"
    )
    dockerfile_data_dir = env_of(dockerfile_stages((ROOT / "Dockerfile").read_text(encoding="utf-8"))[-1])
    assert dockerfile_data_dir["PERSONA_DATA_DIR"] == data_dir
    # What the volume holds: the keys file, the audit log, secret.key and rejects all live in the data dir.
    settings = Settings(data_dir=Path(data_dir), api_keys_file=None, audit_log=None)
    assert settings.api_keys_path.parent == settings.audit_log_path.parent == Path(data_dir)

    # Secrets: no literal in any service; the Neo4j password interpolated from .env (or the shell), the
    # API's secrets (PERSONA_SECRET_KEY, ...) from the .env file, which git ignores.
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert FROM_ENV.fullmatch(str(value)), f"{name}.{key} is a literal: {value!r}"
    assert "${PERSONA_NEO4J_PASSWORD:?" in compose["services"]["neo4j"]["environment"]["NEO4J_AUTH"]
    assert "${PERSONA_NEO4J_PASSWORD:?" in api["environment"]["PERSONA_NEO4J_PASSWORD"]
    env_files = [e["path"] if isinstance(e, dict) else e for e in api["env_file"]]
    assert ".env" in env_files
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, ".env is not git-ignored"

    # .env.example documents both secrets, with no value in it.
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    values = dict(re.findall(r"^(PERSONA_\w+)=(.*)$", example, re.MULTILINE))
    assert values.get("PERSONA_SECRET_KEY") == "" and values.get("PERSONA_NEO4J_PASSWORD") == "", values
    assert ".env.example" in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def test_an_empty_secret_key_from_an_env_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """`PERSONA_SECRET_KEY=` left blank (the template's line) would key every secret hash with nothing."""
    monkeypatch.setenv("PERSONA_SECRET_KEY", "")
    with pytest.raises(ValidationError, match="PERSONA_SECRET_KEY is set but empty"):
        Settings()


# 14. Metrics with several workers -------------------------------------------------------------------

WORKERS = 2
REQUESTS = 40
STALE = 1000  # what a previous run left in the metrics folder


def metric_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text -> {(sample name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def graphql_posts(values: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    labels = (("method", "POST"), ("route", "/graphql"), ("status", "200"))
    return values.get(("persona_http_requests_total", labels), 0.0)


@contextmanager
def persona_serve(
    env: dict[str, str], port: int, log: Path, workers: int = WORKERS
) -> Iterator[subprocess.Popen[bytes]]:
    """`persona serve --workers 2`: real uvicorn worker processes, stopped (SIGINT, as Ctrl-C) afterwards.
    Their output goes to ``log``, printed (shown on failure) at the end."""
    persona = Path(sys.executable).with_name("persona")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(persona), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"persona serve exited ({process.returncode}):\n{log.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"persona serve did not answer /healthz within 180 s:\n{log.read_text()}")
            time.sleep(0.25)
        if workers > 1:
            time.sleep(3)  # the other worker, started beside the first
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(log.read_text(errors="replace"))


@pytest.mark.parametrize("given", [False, True], ids=["own-folder", "given-folder"])
def test_metrics_with_several_workers_count_every_request(
    neo4j_connection: ConnectionInfo, neo4j_env: dict[str, str], tmp_path: Path, given: bool
) -> None:
    """`persona serve --workers 2` makes its own metrics folder (in TMPDIR, removed at the end), or
    empties the PROMETHEUS_MULTIPROC_DIR it is given of a previous run's counts."""
    keys = secured(tmp_path / "keys")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        **neo4j_env,
        "PERSONA_API_KEYS_FILE": str(keys.settings.api_keys_path),
        "PERSONA_AUDIT_LOG": str(keys.settings.audit_log_path),
        "PERSONA_DATA_DIR": str(tmp_path / "data"),
        "PERSONA_SECRET_KEY": "day-one-metrics-secret",
        "PERSONA_API_RATE_LIMIT": "0",
        "TMPDIR": str(temp),
    }
    if given:
        folder = tmp_path / "prometheus"
        folder.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        # A previous run's counts in the folder: `persona serve` must start from nothing.
        stale = (
            "from prometheus_client import Counter\n"
            "c = Counter('persona_http_requests', 'x', ['route', 'method', 'status'])\n"
            f"c.labels('/graphql', 'POST', '200').inc({STALE})\n"
        )
        subprocess.run([sys.executable, "-c", stale], env=env, check=True)
        assert list(folder.glob("*.db"))

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with persona_serve(env, port, tmp_path / "serve.log"):

        def one(_: int) -> int:
            # A new connection each time, several at once, so the kernel hands them to both workers.
            answer = httpx.post(f"{base}/graphql", json=QUERY, headers=keys.headers(), timeout=30)
            assert answer.json() == {"data": {"__typename": "Query"}}, answer.text
            return answer.status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(one, range(REQUESTS))) == [200] * REQUESTS

        def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            answer = httpx.get(f"{base}/metrics", headers=keys.headers("service"), timeout=30)
            assert answer.status_code == 200, answer.text
            return metric_values(answer.text)

        # A request is counted just after its answer is sent: give the last few a moment.
        deadline = time.monotonic() + 20
        while graphql_posts(values := scrape()) != REQUESTS and time.monotonic() < deadline:
            time.sleep(0.2)
        # Whichever worker answers /metrics reports every request, and nothing from before the start.
        for _ in range(8):
            assert graphql_posts(values) == REQUESTS, (
                f"{graphql_posts(values)} of {REQUESTS} requests counted"
            )
            ops = values.get(("persona_graphql_operations_total", (("outcome", "ok"), ("type", "query"))))
            assert ops == REQUESTS
            # A gauge with a multiprocess mode (summed over the live workers): this scrape is in flight.
            assert values.get(("persona_http_requests_in_progress", ()), 0.0) >= 1.0
            values = scrape()
        own = list(temp.glob("persona-metrics-*"))
        if given:
            assert not own and list(folder.glob("*.db"))
        else:  # the workers' files are in persona serve's own folder
            assert len(own) == 1 and list(own[0].glob("*.db")), own
    assert not list(temp.glob("persona-metrics-*")), "persona serve left its metrics folder behind"
