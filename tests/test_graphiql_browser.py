"""Issue 15, item 11, in a real browser: the GraphiQL page works with no internet, opens with the
project's example and a place for the key, runs it once a key is typed, and survives a reload.

Debian's chromium (``/usr/bin/chromium``; .ci/run installs it) driven by Playwright for Python, whose
own browser downloads are never used. The page comes from the real app under uvicorn on 127.0.0.1,
over the test Neo4j with a small generated shop loaded. Every request the browser makes to anything
but that server is aborted and recorded, and the tests fail if there was one: GraphiQL and React must
come from the API itself (api/ide.py), not from a CDN.

Where chromium cannot be installed the tests skip and say so; a missing GraphiQL install
(``make install``) fails them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Browser, Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route as StarletteRoute

from personagraph.api.app import create_app
from personagraph.api.ide import EXAMPLE_VARIABLES, KEY_PLACEHOLDER, missing_vendor_files
from personagraph.api.policy import Role
from personagraph.graph.records import RowContext
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import LoadOptions, load_dataset
from tests.api_support import Secured, secured
from tests.browser_support import TIMEOUT_MS, Offline, chromium, offline_page
from tests.live_server import live

USER = str(EXAMPLE_VARIABLES["id"])  # the example's user, which the loaded shop has


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium("the GraphiQL browser tests") as launched:
        missing = missing_vendor_files()
        if missing:
            pytest.fail(f"GraphiQL's files are not installed ({', '.join(missing)}): run `make install`")
        yield launched


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Secured:
    return secured(tmp_path_factory.mktemp("ide-keys"))


@pytest.fixture
def api(store: GraphStore, neo4j_connection: ConnectionInfo, keys: Secured, tmp_path: Path) -> Iterator[str]:
    """The API's base URL, over a small generated shop (it has the example's user)."""
    shop = generate(tmp_path / "shop", users=60, seed=3)
    options = LoadOptions(rejects_dir=tmp_path / "rejects", context=RowContext(identity_salt="t"))
    load_dataset(store, shop.out_dir, options=options)
    with live(create_app(keys.settings, connection=neo4j_connection), name="graphiql-api") as base:
        yield base


@pytest.fixture
def offline(browser: Browser, api: str) -> Iterator[Offline]:
    with offline_page(browser, api) as watched:
        yield watched


def open_ide(page: Page, url: str) -> None:
    answer = page.goto(url)
    assert answer is not None and answer.status == 200, answer and answer.status
    page.locator(".graphiql-container").wait_for(timeout=TIMEOUT_MS)


def query_text(page: Page) -> str:
    return page.locator(".graphiql-query-editor .CodeMirror").inner_text()


def headers_editor(page: Page) -> str:
    return page.locator(".graphiql-editor-tool .CodeMirror").last.inner_text()


def type_key(page: Page, token: str) -> None:
    """Replace the Headers pane's text with the key, typed as a person would."""
    page.locator(".graphiql-editor-tool .CodeMirror").last.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(json.dumps({"Authorization": f"Bearer {token}"}), delay=2)


def run_and_read(page: Page, expect: str) -> str:
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window", has_text=expect)
    result.wait_for(timeout=TIMEOUT_MS)
    return result.inner_text()


def test_graphiql_runs_the_example_with_a_typed_key_and_nothing_from_outside(
    offline: Offline, api: str, keys: Secured
) -> None:
    page = offline.page
    open_ide(page, f"{api}/graphql")
    assert "query Profile($id: ID!)" in query_text(page)  # docs/queries.md's profile page
    assert KEY_PLACEHOLDER in headers_editor(page)  # the Headers pane, open, says where the key goes
    # Without a key the page sends nothing (no 401s against this address's budget) and says what to do.
    page.locator(".graphiql-execute-button").click()
    page.locator(".result-window", has_text="Put your API key in the Headers pane").wait_for(
        timeout=TIMEOUT_MS
    )
    assert offline.graphql_posts == []

    type_key(page, keys.tokens[Role.ADMIN])
    result = run_and_read(page, USER)
    assert '"user"' in result and USER in result and "errors" not in result
    assert offline.graphql_posts and all("authorization" in h for h in offline.graphql_posts)


def test_reloading_graphiql_with_its_query_string_shows_the_page(
    offline: Offline, api: str, keys: Secured
) -> None:
    page = offline.page
    mine = "query Mine($id: ID!) { user(id: $id) { id city } }"
    # A link as GraphiQL leaves it in the address bar (and strawberry's older `q`): the page, not a 401.
    for state in ({"query": mine, "variables": json.dumps(EXAMPLE_VARIABLES)}, {"q": mine}):
        open_ide(page, f"{api}/graphql?{urlencode(state)}")
        assert "query Mine" in query_text(page)

    # Edit the query, reload: the page keeps it, and runs it once the key is in.
    open_ide(page, f"{api}/graphql")
    page.locator(".graphiql-query-editor .CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text('query Edited { user(id: "u0000041") { id city } }')
    page.wait_for_url("**/graphql?query=*", timeout=TIMEOUT_MS)
    page.reload()
    page.locator(".graphiql-container").wait_for(timeout=TIMEOUT_MS)
    assert "query Edited" in query_text(page)
    type_key(page, keys.tokens[Role.ADMIN])
    assert "u0000041" in run_and_read(page, "u0000041")

    # Only the page is open: the operation itself, without the key, is still refused.
    refused = httpx.get(f"{api}/graphql", params={"query": mine}, headers={"accept": "application/json"})
    assert refused.status_code == 401


FRONT_END_PAGE = """<!doctype html><html><body><pre id="out">waiting</pre><script>
var given = new URLSearchParams(window.location.hash.slice(1));
fetch(given.get("api") + "/graphql", {method: "POST", headers: {"Content-Type": "application/json",
  "Authorization": "Bearer " + given.get("key")}, body: JSON.stringify({query: "{ __typename }"})})
  .then(function (r) { return r.text(); })
  .then(function (t) { document.getElementById("out").textContent = "answer " + t; })
  .catch(function (e) { document.getElementById("out").textContent = "refused " + e; });
</script></body></html>"""


async def front_end_page(request: Request) -> HTMLResponse:
    return HTMLResponse(FRONT_END_PAGE)


def test_a_front_end_on_another_origin_calls_the_api_only_when_allowed(
    browser: Browser, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    """Item 10 as a browser sees it: a page served from another origin (another port of 127.0.0.1)
    POSTs to /graphql with a key, which takes a preflight. Listed in PERSONA_API_CORS_ORIGINS, it gets
    the answer; not listed (the default), the browser keeps the answer from it."""
    front_end = Starlette(routes=[StarletteRoute("/", front_end_page)])
    with live(front_end, name="front-end") as origin:
        for listed in (True, False):
            keys = secured(tmp_path / f"keys-{listed}", api_cors_origins=(origin,) if listed else ())
            app = create_app(keys.settings, connection=neo4j_connection)
            with live(app, name="cors-api") as api:
                context = browser.new_context()
                page = context.new_page()
                watched = Offline(page, (origin, api))
                page.route("**/*", watched.route)
                token = keys.headers()["Authorization"].split()[1]
                page.goto(f"{origin}/#{urlencode({'api': api, 'key': token})}")
                out = page.locator("#out", has_text=re.compile("answer|refused"))
                out.wait_for(timeout=TIMEOUT_MS)
                text = out.inner_text()
                context.close()
            assert not watched.refused, watched.refused
            if listed:
                assert text == 'answer {"data":{"__typename":"Query"}}', text
            else:
                assert text.startswith("refused TypeError"), text
