"""Issue 19, the console, in a real browser (tests/browser_support.py) against the real app under
uvicorn over the test Neo4j with the analysed shop (tests/api_support.py): every screen loads with no
errors and nothing from outside; an audience built by clicking shows the count the API gives the same
role for the same definition (k-anonymous below admin, exact for admin); the builder's controls are
labelled and reachable by keyboard; an analyst's profile shows PII masked and the neighbourhood drawn
with the API's nodes, a click on a friend opening theirs; personas are cards; insights show what the
role may see. Screenshots go to build/test-artifacts/.
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
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from tests.api_support import AnalysedGraph, Secured
from tests.browser_support import TIMEOUT_MS, Offline, chromium, offline_page, screenshot
from tests.live_server import live

pytestmark = pytest.mark.neo4j

K = 5  # a small shop: the k-anonymity floor low enough that some audiences are shown
API_SETTINGS = {"privacy_k": K}  # for conftest's module-scoped keys
COUNT = (
    "query($d: AudienceInput!, $p: Purpose!) { audience(definition: $d, purpose: $p) { "
    "count { value fewerThan exact } excludedByConsent { value fewerThan exact } } }"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium("the console browser tests") as launched:
        yield launched


@pytest.fixture(scope="module")
def api(graph: AnalysedGraph, neo4j_connection: ConnectionInfo, keys: Secured) -> Iterator[str]:
    """The app over this module's analysed shop, one server for all its tests: they read, but for the last
    ones, which save audiences and withdraw a consent then give it back."""
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


def _ask(api: str, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    """The API's data for ``query`` as the key ``token`` gets it (what the console must show)."""
    answer = httpx.post(
        f"{api}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert "errors" not in answer, answer
    return answer["data"]


def _api_count(api: str, token: str, definition: dict[str, Any], purpose: str = "MARKETING") -> str:
    """The audience's size as the console words it, from the API for the same role and definition."""
    count = _ask(api, token, COUNT, {"d": definition, "p": purpose})["audience"]["count"]
    if count["value"] is None:
        return f"fewer than {count['fewerThan']:,}"
    return f"{count['value']:,}" + ("" if count["exact"] else " (rounded, with a little noise)")


def _open(page: Page, api: str, token: str, screen: str = "") -> None:
    answer = page.goto(f"{api}/console{screen}")
    assert answer is not None and answer.status == 200
    page.get_by_label("API key").fill(token)
    page.get_by_role("button", name="Use key").click()
    page.get_by_text("Key in use for this tab. Signed in as").wait_for(timeout=TIMEOUT_MS)


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


def _add_tag(page: Page, tag: str) -> None:
    """Add a tag condition to the builder's outer group, as a user does: pick the kind, then the tag."""
    page.get_by_label("Add a condition").first.select_option(label="Tag")
    page.locator("[data-kind=tag]").get_by_label("Tag", exact=True).select_option(value=tag)


def _definition(page: Page) -> Any:
    return json.loads(page.locator("#definition").text_content() or "null")


def test_an_audience_built_by_clicking_shows_the_api_count_for_the_role(
    offline: Offline, api: str, keys: Secured, graph: AnalysedGraph
) -> None:
    page = offline.page
    tag, city = _commonest(graph.store)
    analyst = keys.tokens[Role.ANALYST]
    _open(page, api, analyst)

    _add_tag(page, tag)
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
    offline: Offline, api: str, keys: Secured, graph: AnalysedGraph
) -> None:
    page = offline.page
    tag, _ = _commonest(graph.store)
    admin = keys.tokens[Role.ADMIN]
    _open(page, api, admin)
    _add_tag(page, tag)
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


# --- profile, personas, insights ---------------------------------------------------------------------

HOOD = """query($id: ID!) { user(id: $id) { neighborhood(depth: 1, limit: 201) { nodes { id } } } }"""


def _social_user(graph: AnalysedGraph) -> dict[str, Any]:
    """The user with most social ties among those with a birth year, identities and tags."""
    return (
        graph.store.driver.execute_query(
            "MATCH (u:User)-[:HAS_IDENTITY]->(:Identity) "
            "WHERE u.birthYear IS NOT NULL AND (u)-[:HAS_TAG]->() WITH DISTINCT u "
            "RETURN u.userId AS id, u.birthYear AS birthYear, u.customerId AS customerId, u.city AS city, "
            "COUNT { (u)-[:FRIEND_OF|FOLLOWS|REFERRED]-() } AS ties ORDER BY ties DESC, id LIMIT 1",
            database_=graph.store.database,
        )
        .records[0]
        .data()
    )


def _drawn(page: Page) -> list[str]:
    """The ids of the nodes in the neighbourhood drawing, once Cytoscape has drawn it."""
    with suppress(PlaywrightTimeout):
        page.wait_for_function(
            "() => { const g = document.querySelector('#neighbourhood'); return g && g.cy; }",
            timeout=TIMEOUT_MS,
        )
    drawn = page.evaluate("() => !!(document.querySelector('#neighbourhood') || {}).cy")
    assert drawn, page.locator("#profile").inner_text()[-500:]
    return sorted(
        page.evaluate("() => document.querySelector('#neighbourhood').cy.nodes().map((n) => n.id())")
    )


def _click_node(page: Page, node_id: str, opens: str) -> None:
    """A real mouse click where the drawing shows the node, until the address is ``opens`` (a click the
    busy page takes too slowly for a tap, a hold, is made again: at most three)."""
    graph = page.locator("#neighbourhood")
    graph.scroll_into_view_if_needed()
    box = graph.bounding_box()
    assert box is not None
    at = page.evaluate(
        "(id) => document.querySelector('#neighbourhood').cy.getElementById(id).renderedPosition()", node_id
    )
    for _ in range(3):
        page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])
        with suppress(PlaywrightTimeout):
            page.wait_for_function("(want) => location.hash === want", arg=opens, timeout=5000)
            return
    raise AssertionError(f"three clicks on {node_id} at {at} did not open {opens}")


def test_an_analysts_profile_masks_pii_and_draws_the_neighbourhood(
    offline: Offline, api: str, keys: Secured, graph: AnalysedGraph
) -> None:
    page = offline.page
    user = _social_user(graph)
    analyst = keys.tokens[Role.ANALYST]
    _open(page, api, analyst, f"#/profile/{user['id']}")
    attributes = page.get_by_test_id("attributes")
    attributes.wait_for(timeout=TIMEOUT_MS)
    row = {
        r.locator("td").nth(0).inner_text(): r.locator("td").nth(1).inner_text()
        for r in attributes.locator("tbody tr").all()
    }
    assert row["Birth year"] == row["Customer id"] == "masked for the analyst role"
    assert row["City"] == (user["city"] or "-")
    identities = page.get_by_role("region", name="Identities")
    assert identities.inner_text().endswith("masked for the analyst role")
    text = page.locator("#profile").inner_text()
    assert str(user["birthYear"]) not in text and (user["customerId"] or "\0") not in text

    expected = sorted(
        n["id"] for n in _ask(api, analyst, HOOD, {"id": user["id"]})["user"]["neighborhood"]["nodes"]
    )
    assert _drawn(page) == expected
    friends = [n for n in expected if n.startswith("User:") and n != f"User:{user['id']}"]
    assert friends and any(n.startswith("Tag:") for n in expected)
    screenshot(page, "console-profile-analyst")

    friend = friends[0].removeprefix("User:")
    _click_node(page, friends[0], f"#/profile/{friend}")  # a click on a friend opens the friend's profile
    page.get_by_role("heading", name=f"User {friend}").wait_for(timeout=TIMEOUT_MS)

    # An admin sees what the analyst may not: the identities and the birth year.
    page.get_by_label("API key").fill(keys.tokens[Role.ADMIN])
    page.get_by_role("button", name="Use key").click()
    page.goto(f"{api}/console#/profile/{user['id']}")
    page.get_by_role("heading", name=f"User {user['id']}").wait_for(timeout=TIMEOUT_MS)
    assert str(user["birthYear"]) in page.get_by_test_id("attributes").inner_text()
    assert "masked" not in page.locator("#profile").inner_text()


def test_a_marketer_is_told_profiles_are_not_for_the_role(offline: Offline, api: str, keys: Secured) -> None:
    page = offline.page
    _open(page, api, keys.tokens[Role.MARKETER], "#/profile/u0001")
    page.get_by_text("The marketer role may not look people up").wait_for(timeout=TIMEOUT_MS)
    assert not offline.errors


def test_the_personas_are_cards_with_a_motto_traits_channels_and_categories(
    offline: Offline, api: str, keys: Secured
) -> None:
    page = offline.page
    token = keys.tokens[Role.MARKETER]
    personas = _ask(api, token, "{ personas { personaId name motto size traits topChannels topCategories } }")
    assert 3 <= len(personas["personas"]) <= 6
    _open(page, api, token, "#/personas")
    page.locator(".persona-card").first.wait_for(timeout=TIMEOUT_MS)
    cards = page.locator(".persona-card")
    assert cards.count() == len(personas["personas"])
    for i, persona in enumerate(personas["personas"]):
        card = cards.nth(i)
        assert card.get_by_role("heading", level=3).inner_text() == persona["name"]
        assert card.locator(".motto").inner_text() == f'"{persona["motto"]}"'
        assert card.locator(".size strong").inner_text() == f"{persona['size']:,}"
        shown = card.inner_text()
        assert all(t in shown for t in persona["traits"] + persona["topChannels"] + persona["topCategories"])
    screenshot(page, "console-personas")


def test_insights_show_what_the_role_may_see(offline: Offline, api: str, keys: Secured) -> None:
    page = offline.page
    analyst = keys.tokens[Role.ANALYST]
    truth = _ask(
        api,
        analyst,
        "{ influencers(first: 10) { id } boughtTogether(first: 10) { first { sku name } } "
        "channelStats { channelId } analyticsRuns(first: 10) { kind } }",
    )
    _open(page, api, analyst)
    page.get_by_role("navigation", name="Screens").get_by_role("link", name="Insights").click()
    influencers = page.get_by_role("region", name="Influencers")
    influencers.locator("tbody tr").first.wait_for(timeout=TIMEOUT_MS)
    links = influencers.locator("tbody tr td:nth-child(2) a")
    assert links.all_inner_texts() == [u["id"] for u in truth["influencers"]]
    pairs = page.get_by_role("region", name="Bought together").locator("tbody tr")
    assert pairs.count() == len(truth["boughtTogether"]) > 0
    channels = page.get_by_role("region", name="Channel attribution").locator("tbody tr td:first-child")
    assert channels.all_inner_texts() == [c["channelId"] for c in truth["channelStats"]]
    runs = page.get_by_role("region", name="Analytics runs").locator("tbody tr td:first-child")
    assert runs.all_inner_texts() == [r["kind"] for r in truth["analyticsRuns"]]
    screenshot(page, "console-insights")

    links.first.click()  # an influencer opens their profile
    page.get_by_role("heading", name=f"User {truth['influencers'][0]['id']}").wait_for(timeout=TIMEOUT_MS)

    # A marketer sees the aggregates, not the people.
    page.get_by_label("API key").fill(keys.tokens[Role.MARKETER])
    page.get_by_role("button", name="Use key").click()
    page.goto(f"{api}/console#/insights")
    page.get_by_role("region", name="Analytics runs").wait_for(timeout=TIMEOUT_MS)
    assert (
        "The marketer role may not list people."
        in page.get_by_role("region", name="Influencers").inner_text()
    )


# --- the builder's explorations, and the live view (these two write: saved audiences, consent) ------

BREAKDOWN = (
    "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { "
    'count { value } breakdown(by: "city") { value grouped count { value fewerThan } } '
    "members(first: 1000) { edges { node { id } } } } }"
)


LOOKALIKES = (
    "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { "
    "lookalikes(first: 20) { userId } } }"
)


def _explore(page: Page, button: str) -> None:
    page.locator("#explore").get_by_role("button", name=button).click()


def test_the_builder_breaks_down_previews_exports_saves_and_compares(
    offline: Offline, api: str, keys: Secured, graph: AnalysedGraph
) -> None:
    page = offline.page
    tag, _ = _commonest(graph.store)
    admin = keys.tokens[Role.ADMIN]
    definition = {"and": [{"tag": {"tagId": tag}}]}
    truth = _ask(api, admin, BREAKDOWN, {"d": definition})["audience"]
    _open(page, api, admin)
    page.get_by_label("Purpose").select_option(label="Analysis")
    _add_tag(page, tag)

    page.get_by_label("Break down by").select_option("city")
    _explore(page, "Show breakdown")
    rows = page.get_by_test_id("breakdown").locator("tbody tr")
    rows.first.wait_for(timeout=TIMEOUT_MS)
    shown = [tuple(r.locator("td").all_inner_texts()[:2]) for r in rows.all()]
    assert shown == [(b["value"] or "(none)", f"{b['count']['value']:,}") for b in truth["breakdown"]]

    _explore(page, "Preview members")
    members = page.get_by_test_id("members")
    members.wait_for(timeout=TIMEOUT_MS)
    ids = [m["node"]["id"] for m in truth["members"]["edges"]]
    assert members.locator("tbody tr td:first-child").all_inner_texts() == ids[:20]
    assert "customerId" in members.locator("thead").inner_text()

    with page.expect_download(timeout=TIMEOUT_MS) as download:
        _explore(page, "Export CSV")
        page.get_by_role("link", name="members (CSV)").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0].split(",")[:2] == ["id", "customerId"]
    assert [line.split(",")[0] for line in lines[1:]] == ids and len(ids) == truth["count"]["value"]
    screenshot(page, "console-audience-explore")

    alike = _ask(api, admin, LOOKALIKES, {"d": definition})["audience"]["lookalikes"]
    assert alike, "the analysed shop has look-alikes for its commonest tag"
    _explore(page, "Look-alikes")
    page.get_by_test_id("lookalikes").wait_for(timeout=TIMEOUT_MS)
    shown_alike = page.get_by_test_id("lookalikes").locator("tbody tr td:first-child").all_inner_texts()
    assert shown_alike == [a["userId"] for a in alike]
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.get_by_role("link", name="with its").click()
    expanded = [line.split(",") for line in Path(download.value.path()).read_text().splitlines()]
    assert expanded[0][:3] == ["source", "score", "id"]
    assert [row[2] for row in expanded[1:] if row[0] == "member"] == ids
    assert [row[2] for row in expanded[1:] if row[0] == "look-alike"] == shown_alike

    page.get_by_label("Save as (id)").fill("console-saved")
    page.get_by_label("Name", exact=True).fill("From the console")
    page.locator("#explore").get_by_role("button", name="Save").click()
    page.get_by_text('Saved "From the console" as console-saved').wait_for(timeout=TIMEOUT_MS)
    saved = _ask(api, admin, '{ savedAudience(id: "console-saved") { purpose definition } }')["savedAudience"]
    assert saved["purpose"] == "ANALYSIS" and saved["definition"]["and"][0]["tag"]["tagId"] == tag

    page.reload()  # the saved audience is now one to compare with
    _add_tag(page, tag)
    page.get_by_label("Purpose").select_option(label="Analysis")
    page.get_by_label("Overlap with").select_option("console-saved")
    _explore(page, "Compare")
    overlap = page.get_by_test_id("overlap").locator("tbody tr td:nth-child(2)")
    overlap.first.wait_for(timeout=TIMEOUT_MS)
    assert overlap.all_inner_texts() == [f"{truth['count']['value']:,}"] * 3  # the same audience thrice


def test_an_analysts_member_preview_masks_the_customer_id(
    offline: Offline, api: str, keys: Secured, graph: AnalysedGraph
) -> None:
    page = offline.page
    tag, _ = _commonest(graph.store)
    _open(page, api, keys.tokens[Role.ANALYST])
    _add_tag(page, tag)
    _explore(page, "Preview members")
    members = page.get_by_test_id("members")
    members.wait_for(timeout=TIMEOUT_MS)
    assert "customerId" not in members.locator("thead").inner_text()
    assert "customerId: masked for the analyst role" in members.locator("caption").inner_text()
    customer_ids = graph.store.driver.execute_query(
        "MATCH (u:User) WHERE u.customerId IS NOT NULL RETURN collect(u.customerId) AS ids",
        database_=graph.store.database,
    ).records[0]["ids"]
    text = members.inner_text()
    assert not [c for c in customer_ids if c in text.split()]


CONSENT = (
    "mutation($u: ID!, $g: Boolean!) "
    '{ setConsent(userId: $u, purpose: MARKETING, granted: $g, source: "console test") { granted } }'
)


def test_the_live_view_shows_members_leaving_and_entering(
    offline: Offline, api: str, keys: Secured, graph: AnalysedGraph
) -> None:
    page = offline.page
    admin = keys.tokens[Role.ADMIN]
    everyone = {"attribute": {"field": "city", "op": "exists"}}
    _ask(
        api,
        admin,
        'mutation($d: AudienceInput!) { saveAudience(id: "console-live", name: "Live", definition: $d, '
        "purpose: MARKETING) { id } }",
        {"d": everyone},
    )
    user = graph.store.driver.execute_query(
        "MATCH (u:User) WHERE u.marketingConsent = true AND u.city IS NOT NULL "
        "RETURN u.userId AS id ORDER BY id LIMIT 1",
        database_=graph.store.database,
    ).records[0]["id"]
    _open(page, api, admin, "#/live/console-live")
    page.get_by_text("Live.", exact=True).wait_for(timeout=TIMEOUT_MS)
    _ask(api, admin, CONSENT, {"u": user, "g": False})  # leaves: marketing needs consent
    changes = page.get_by_test_id("live-changes").locator("tbody tr")
    with suppress(PlaywrightTimeout):
        changes.first.wait_for(timeout=TIMEOUT_MS)
    assert changes.count(), page.locator("#live").inner_text()
    _ask(api, admin, CONSENT, {"u": user, "g": True})  # and comes back
    page.get_by_test_id("live-tally").get_by_text("1 entered, 1 left").wait_for(timeout=TIMEOUT_MS)
    assert [r.locator("td").all_inner_texts()[1:3] for r in changes.all()] == [
        [user, "entered"],
        [user, "left"],
    ]
    screenshot(page, "console-live")
