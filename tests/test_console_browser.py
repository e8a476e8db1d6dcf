"""Issue 19, the console's audience builder, in a real browser (tests/browser_support.py) against the
real app under uvicorn over the test Neo4j with a generated shop: the page loads with no errors and
nothing from outside; an audience built by clicking shows the count the API gives the same role for
the same definition (k-anonymous below admin, exact for admin); its controls are labelled and reachable
by keyboard. Screenshots go to build/test-artifacts/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from personagraph.api.app import create_app
from personagraph.api.policy import Role
from personagraph.graph.records import RowContext
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import LoadOptions, load_dataset
from tests.api_support import Secured, secured
from tests.browser_support import TIMEOUT_MS, Offline, chromium, offline_page, screenshot
from tests.live_server import live

pytestmark = pytest.mark.neo4j

K = 5  # a small shop: the k-anonymity floor low enough that some audiences are shown
COUNT = (
    "query($d: AudienceInput!, $p: Purpose!) { audience(definition: $d, purpose: $p) { "
    "count { value fewerThan exact } excludedByConsent { value fewerThan exact } } }"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium("the console browser tests") as launched:
        yield launched


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Secured:
    return secured(tmp_path_factory.mktemp("console-keys"), privacy_k=K, api_rate_limit=0)


@pytest.fixture
def api(store: GraphStore, neo4j_connection: ConnectionInfo, keys: Secured, tmp_path: Path) -> Iterator[str]:
    shop = generate(tmp_path / "shop", users=300, seed=5)
    options = LoadOptions(rejects_dir=tmp_path / "rejects", context=RowContext(identity_salt="t"))
    load_dataset(store, shop.out_dir, options=options)
    with live(create_app(keys.settings, connection=neo4j_connection), name="console-api") as base:
        yield base


@pytest.fixture
def offline(browser: Browser, api: str) -> Iterator[Offline]:
    with offline_page(browser, api) as watched:
        yield watched


def _commonest(store: GraphStore) -> tuple[str, str]:
    """The tag most users hold, and the city most of its holders live in."""
    found = store.driver.execute_query(
        "MATCH (t:Tag)<-[:HAS_TAG]-(u:User) WHERE u.city IS NOT NULL "
        "WITH t, u.city AS city, count(*) AS n ORDER BY n DESC, t.tagId, city LIMIT 1 "
        "RETURN t.tagId AS tag, city",
        database_=store.database,
    ).records[0]
    return found["tag"], found["city"]


def _api_count(api: str, token: str, definition: dict[str, Any], purpose: str = "MARKETING") -> str:
    """The audience's size as the console words it, from the API for the same role and definition."""
    answer = httpx.post(
        f"{api}/graphql",
        json={"query": COUNT, "variables": {"d": definition, "p": purpose}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    count = answer["data"]["audience"]["count"]
    if count["value"] is None:
        return f"fewer than {count['fewerThan']:,}"
    return f"{count['value']:,}" + ("" if count["exact"] else " (rounded, with a little noise)")


def _open(page: Page, api: str, token: str) -> None:
    answer = page.goto(f"{api}/console")
    assert answer is not None and answer.status == 200
    page.get_by_label("API key").fill(token)
    page.get_by_role("button", name="Use key").click()
    page.get_by_text("Key in use for this tab.").wait_for(timeout=TIMEOUT_MS)


def _shown_count(page: Page, expected: str) -> str:
    """The size the page shows once it is ``expected`` (the API's own answer), or what it shows after
    the wait (the assertion then names both)."""
    shown = page.get_by_test_id("audience-count")
    with suppress(PlaywrightTimeout):  # the caller's assertion says what was shown instead
        page.wait_for_function(
            "([want]) => { const e = document.querySelector('[data-testid=audience-count]');"
            " return e && e.textContent === want; }",
            arg=[expected],
            timeout=TIMEOUT_MS,
        )
    return shown.inner_text() if shown.count() else page.locator("#audience-size").inner_text()


def _definition(page: Page) -> Any:
    return json.loads(page.locator("#definition").text_content() or "null")


def test_an_audience_built_by_clicking_shows_the_api_count_for_the_role(
    offline: Offline, api: str, keys: Secured, store: GraphStore
) -> None:
    page = offline.page
    tag, city = _commonest(store)
    analyst = keys.tokens[Role.ANALYST]
    _open(page, api, analyst)

    page.get_by_label("Add a condition").first.select_option(label="Tag")
    page.locator("[data-kind=tag]").get_by_label("Tag", exact=True).select_option(value=tag)
    one = {"and": [{"tag": {"tagId": tag}}]}
    assert _definition(page) == one
    want = _api_count(api, analyst, one)
    assert _shown_count(page, want) == want

    page.get_by_label("Add a condition").first.select_option(label="Attribute")
    attribute = page.locator("[data-kind=attribute]")
    attribute.get_by_label("Field", exact=True).select_option("city")
    attribute.get_by_label("Operator", exact=True).select_option("eq")
    attribute.get_by_label("Value (JSON, or text)").fill(city)
    both = {"and": [{"tag": {"tagId": tag}}, {"attribute": {"field": "city", "op": "eq", "value": city}}]}
    page.wait_for_function("() => document.querySelector('#definition').textContent.includes('city')")
    assert _definition(page) == both
    want = _api_count(api, analyst, both)
    assert _shown_count(page, want) == want
    screenshot(page, "console-audience-builder-analyst")

    page.get_by_label("Match").first.select_option(label="Any of")
    either = {"or": both["and"]}
    assert _definition(page) == either
    want = _api_count(api, analyst, either)
    assert _shown_count(page, want) == want
    assert "rounded" in want or "fewer than" in want  # an analyst never sees an exact count

    # For analysis, under the k floor: "fewer than k", as the API says.
    page.get_by_label("Purpose").select_option(label="Analysis")
    attribute.get_by_label("Value (JSON, or text)").fill("Nowhere-at-all")
    page.get_by_label("Match").first.select_option(label="All of")
    nowhere = {"attribute": {"field": "city", "op": "eq", "value": "Nowhere-at-all"}}
    want = _api_count(api, analyst, {"and": [{"tag": {"tagId": tag}}, nowhere]}, "ANALYSIS")
    assert want == f"fewer than {K}"
    assert _shown_count(page, want) == want


def test_an_admin_sees_the_exact_count_and_a_refused_condition_says_why(
    offline: Offline, api: str, keys: Secured, store: GraphStore
) -> None:
    page = offline.page
    tag, _ = _commonest(store)
    admin = keys.tokens[Role.ADMIN]
    _open(page, api, admin)
    page.get_by_label("Add a condition").first.select_option(label="Tag")
    page.locator("[data-kind=tag]").get_by_label("Tag", exact=True).select_option(value=tag)
    want = _api_count(api, admin, {"and": [{"tag": {"tagId": tag}}]})
    assert want.replace(",", "").isdigit()  # exact, no noise note
    assert _shown_count(page, want) == want

    # A marketer may not select by ties: the builder shows the API's refusal, not a count.
    page.get_by_label("API key").fill(keys.tokens[Role.MARKETER])
    page.get_by_role("button", name="Use key").click()
    page.get_by_label("Add a condition").first.select_option(label="Friends who match")
    page.locator("[data-kind=friends]").get_by_label("At least", exact=True).fill("1")
    alert = page.locator("#audience-size [role=alert]")
    alert.wait_for(timeout=TIMEOUT_MS)
    assert "marketer" in alert.inner_text().lower()
    screenshot(page, "console-audience-builder-refused")


def test_the_builder_is_labelled_and_reachable_by_keyboard(offline: Offline, api: str, keys: Secured) -> None:
    page = offline.page
    _open(page, api, keys.tokens[Role.ANALYST])
    page.get_by_label("Add a condition").first.select_option(label="Behaviour")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, button, textarea')]
            .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
                           && !(c.tagName === 'BUTTON' && c.textContent.trim()))
            .map((c) => c.outerHTML.slice(0, 80))"""
    )
    assert unlabelled == []
    # Tab from the key field walks the page in reading order: the key, its button, the purpose, then
    # the builder (its match, the new condition's fields, ...).
    page.get_by_label("API key").focus()
    names = []
    for _ in range(6):
        page.keyboard.press("Tab")
        names.append(
            page.evaluate(
                "() => { const a = document.activeElement;"
                " return (a.labels && a.labels[0] && a.labels[0].textContent) || a.textContent.trim(); }"
            )
        )
    assert names[:4] == ["Use key", "Purpose", "Match", "Action"], names
