"""API benchmark: personagraph's GraphQL API vs @neo4j/graphql on Apollo Server vs the raw Cypher, same graph.

One fresh local Neo4j gets a generated dataset (100k users by default, 1M with --million: channels,
products, users, tags, user_tags, orders, ties) and the co-purchase analysis (BOUGHT_WITH edges).
Four queries, each over a pool of different inputs (the same pool for every contender):

- profile: a user with tags (expired ones left out), 20 friends by id with the total, 10 newest orders
  with their totals;
- audience count: users holding a tag AND living in a city (purpose ANALYSIS);
- cross-sell: a product and the 10 products most bought with it (lift, count, sku);
- members page: the list case, where Python GraphQL servers are known to be slow (issue 17): the
  first page of 50 members of such an audience (a tag AND a city, purpose ANALYSIS) by userId, each
  with their tags (expired ones left out) and 5 friends by id with the total: 50 users, up to 250
  friends and every member's tags in one answer. personagraph answers it with its
  `audience { members }` field, @neo4j/graphql with `users(where: city and tag, sort: id ASC,
  limit: 50)`, the raw Cypher with one statement. The pool is (tag, city) pairs with at least 50
  members (a full page), topped up with the biggest others when the graph has too few (a small
  graph). The three agree by construction of the question, not by filtering: purpose ANALYSIS
  applies no consent (MARKETING would leave out users without marketing consent, PERSONALISED those
  who opted out), the bench's admin key may list any audience (other roles only above the
  k-anonymity floor), and forgotten users are deleted (graph/privacy/forget.py), none are left to
  filter. personagraph counts the audience first (members are listed only when the count may be
  shown), then reads the page, then the members' profiles, tags and friends (one batched statement
  each, DataLoaders): five statements where the others run one.

Contenders: (a) personagraph (`uvicorn --factory personagraph.api.app:create_app`, --workers, 1 by default),
(b) @neo4j/graphql on Apollo Server standalone (bench/api-node/server.mjs, one Node process) with
equivalent type definitions, both driven over HTTP by autocannon in a separate Node process
(bench/api-node/loadgen.mjs); (c) the same answer as one Cypher statement through the Python driver
from threads in this process (no HTTP), as an auto-commit read (``raw_read``: RUN and PULL in one round
trip, the cheapest way the driver reads, and the way personagraph's graph/store.py reads). Each runs at 1, 8 and 32 concurrent clients for --duration
seconds after a warm-up. Before timing, all three are asked every input of the pool and their
answers compared (recorded in the results). Last, the floor: `{ __typename }` against personagraph at
1 client, what any of its requests costs before its own work (HTTP, authentication, the GraphQL
pipeline). Results: bench/results/api.json and bench/results/api.md.
Not part of the test suite.

personagraph is served as in production, credentials required: the bench makes an admin API key in
its work directory (PERSONA_API_KEYS_FILE; audit log and master secret there too, see
bench.common.api_credentials) and sends `Authorization: Bearer <key>` on every request to it, so
each of its requests also pays for authentication and the access-control walk over the operation
(api/auth.py, api/policy.py). Admin, because only admins see exact counts (other roles get rounded,
noised values), which the comparison with the other two needs; @neo4j/graphql's server takes no
credentials, as it is set up here.

    .venv/bin/python bench/api.py               # 100k users, 10 s per run
    .venv/bin/python bench/api.py --million     # 1M users (long)
    .venv/bin/python bench/api.py --quick       # 5k users, 3 s per run: a smoke run
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import logging
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neo4j import READ_ACCESS, Driver, Query, Record  # noqa: E402 - after the path setup

from bench.audiences import KINDS, load  # noqa: E402 - after the path setup
from bench.common import AUTH_ENV, api_credentials, machine, write_results  # noqa: E402
from bench.graphs import dataset, fresh_neo4j  # noqa: E402
from personagraph.graph.analytics.copurchase import run_copurchase  # noqa: E402
from personagraph.graph.server.connection import ConnectionInfo, open_driver  # noqa: E402
from personagraph.graph.server.local import free_port  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from personagraph.graph.store import GraphStore  # noqa: E402

log = logging.getLogger("bench.api")
NODE_DIR = Path(__file__).resolve().parent / "api-node"
CLIENTS = (1, 8, 32)
MEMBERS = "members page"
QUERIES = ("profile", "audience count", "cross-sell", MEMBERS)
PAGE, PAGE_FRIENDS = 50, 5  # the members page: members, and friends shown per member
MIN_MEMBERS = PAGE  # members page: pool inputs with at least this many members, where the graph has enough
OURS, NEO, RAW = "personagraph", "neo4j-graphql", "raw-cypher"
# The raw Cypher behind the thinnest Python HTTP server (bench/bare_http.py), at 1 client: the least a
# Python server's p50 can be here, so what the p50 target asks of the HTTP hop is visible.
BARE = "bare-http"
CONTENDERS = (OURS, NEO, RAW)
FLOOR = "{ __typename }"  # the cheapest operation: what any request costs before its own work
RPS_TARGET = 1.0  # personagraph req/s >= this x @neo4j/graphql, each query and level
P50_TARGET = 1.3  # personagraph p50 <= this x raw Cypher, at 1 client

# (a) personagraph: the operations its API answers, verbatim.
PERSONAGRAPH: dict[str, str] = {
    "profile": "query Profile($id: ID!) { user(id: $id) { id city ageBand gender "
    "tags { tagId name tier weight source } "
    "friends(first: 20) { totalCount edges { node { id city } } } "
    "orders(first: 10) { edges { node { orderId orderedAt total } } } } }",
    "audience count": "query Count($definition: AudienceInput!) { "
    "audience(definition: $definition, purpose: ANALYSIS) { count { value } } }",
    "cross-sell": "query CrossSell($sku: ID!) { product(sku: $sku) { sku name "
    "boughtWith(first: 10) { product { sku name } count support confidence lift } } }",
    MEMBERS: "query Members($definition: AudienceInput!) { "
    f"audience(definition: $definition, purpose: ANALYSIS) {{ members(first: {PAGE}) {{ edges {{ node {{ id "
    "tags { tagId name tier weight source } "
    f"friends(first: {PAGE_FRIENDS}) {{ totalCount edges {{ node {{ id city }} }} }} }} }} }} }} }}",
}

# (b) @neo4j/graphql (bench/api-node/typeDefs.graphql): the same answers with its generated API.
# It has no notion of "now", so the client sends the time that tag expiry is judged against.
NOT_EXPIRED = "edge: { OR: [{ expiresAt: { eq: null } }, { expiresAt: { gt: $now } }] }"
NEO4J_GRAPHQL: dict[str, str] = {
    "profile": "query Profile($id: ID!, $now: DateTime!) { users(where: { id: { eq: $id } }) { "
    "id city ageBand gender "
    f"tagsConnection(where: {{ {NOT_EXPIRED} }}) {{ edges {{ node {{ tagId name tier }} "
    "properties { weight source } } } "
    "friendsConnection(first: 20, sort: [{ node: { id: ASC } }]) { totalCount edges { node { id city } } } "
    "ordersConnection(first: 10, sort: [{ node: { orderedAt: DESC } }, { node: { orderId: ASC } }]) { "
    "edges { node { orderId orderedAt total } } } } }",
    "audience count": "query Count($tag: ID!, $city: String!, $now: DateTime!) { "
    "usersConnection(where: { city: { eq: $city }, tagsConnection: { some: { "
    f"node: {{ tagId: {{ eq: $tag }} }}, {NOT_EXPIRED} }} }} }}) {{ aggregate {{ count {{ nodes }} }} }} }}",
    "cross-sell": "query CrossSell($sku: ID!) { products(where: { sku: { eq: $sku } }) { sku name "
    "boughtWithConnection(first: 10, sort: [{ edge: { lift: DESC } }, { edge: { count: DESC } }, "
    "{ node: { sku: ASC } }]) { edges { node { sku name } properties { count support confidence lift } } } } }",
    MEMBERS: "query Members($tag: ID!, $city: String!, $now: DateTime!) { "
    "users(where: { city: { eq: $city }, tagsConnection: { some: { "
    f"node: {{ tagId: {{ eq: $tag }} }}, {NOT_EXPIRED} }} }} }}, sort: [{{ id: ASC }}], limit: {PAGE}) {{ id "
    f"tagsConnection(where: {{ {NOT_EXPIRED} }}) {{ edges {{ node {{ tagId name tier }} "
    "properties { weight source } } } "
    f"friendsConnection(first: {PAGE_FRIENDS}, sort: [{{ node: {{ id: ASC }} }}]) {{ totalCount "
    "edges { node { id city } } } } }",
}

# (c) the raw Cypher: one statement per query, through the Python driver.
ACTIVE = "(h.expiresAt IS NULL OR h.expiresAt > datetime())"
# The (tag, city) pairs with how many users hold the tag now and live in the city (the members pool).
PAIR_SIZES = (
    "MATCH (t:Tag)<-[h:HAS_TAG]-(u:User) WHERE u.city IS NOT NULL "
    "AND (h.expiresAt IS NULL OR h.expiresAt > datetime()) "
    "RETURN t.tagId AS tag, u.city AS city, count(DISTINCT u) AS n ORDER BY tag, city"
)
RAW_CYPHER: dict[str, str] = {
    "profile": f"""
MATCH (u:User {{userId: $id}})
RETURN u.userId AS id, u.city AS city, u.ageBand AS ageBand, u.gender AS gender,
  COLLECT {{ MATCH (u)-[h:HAS_TAG]->(t:Tag) WHERE {ACTIVE}
            RETURN t {{.tagId, .name, .tier, weight: h.weight, source: h.source}} }} AS tags,
  COUNT {{ (u)-[:FRIEND_OF]-(:User) }} AS friendsTotal,
  COLLECT {{ MATCH (u)-[:FRIEND_OF]-(f:User) WITH f ORDER BY f.userId LIMIT 20
            RETURN f {{id: f.userId, .city}} }} AS friends,
  COLLECT {{ MATCH (u)-[:PLACED]->(o:Order) WITH o ORDER BY o.orderedAt DESC, o.orderId LIMIT 10
            CALL (o) {{ MATCH (o)-[line:CONTAINS]->(:Product) RETURN sum(line.quantity * line.unitPrice) AS total }}
            RETURN o {{.orderId, .orderedAt, total: total}} }} AS orders""",
    "audience count": f"""
MATCH (:Tag {{tagId: $tag}})<-[h:HAS_TAG]-(u:User {{city: $city}}) WHERE {ACTIVE}
RETURN count(DISTINCT u) AS count""",
    "cross-sell": """
MATCH (p:Product {sku: $sku})
RETURN p.sku AS sku, p.name AS name,
  COLLECT { MATCH (p)-[r:BOUGHT_WITH]->(q:Product) WITH r, q ORDER BY r.lift DESC, r.count DESC, q.sku LIMIT 10
            RETURN {sku: q.sku, name: q.name, count: r.count, support: r.support,
                    confidence: r.confidence, lift: r.lift} } AS boughtWith""",
    MEMBERS: f"""
RETURN COLLECT {{
  MATCH (:Tag {{tagId: $tag}})<-[h:HAS_TAG]-(u:User {{city: $city}}) WHERE {ACTIVE}
  WITH DISTINCT u ORDER BY u.userId LIMIT {PAGE}
  RETURN u {{id: u.userId,
    tags: COLLECT {{ MATCH (u)-[h:HAS_TAG]->(t:Tag) WHERE {ACTIVE}
                    RETURN t {{.tagId, .name, .tier, weight: h.weight, source: h.source}} }},
    friendsTotal: COUNT {{ (u)-[:FRIEND_OF]-(:User) }},
    friends: COLLECT {{ MATCH (u)-[:FRIEND_OF]-(f:User) WITH f ORDER BY f.userId LIMIT {PAGE_FRIENDS}
                       RETURN f {{id: f.userId, .city}} }}}}
}} AS members""",
}


# --- inputs --------------------------------------------------------------------------------------


def pick_pool(store: GraphStore, size: int, seed: int) -> dict[str, list[Any]]:
    """Per query, ``size`` inputs drawn with a fixed seed: any user; a (tag, city) some user has;
    a product with co-purchase edges (any product when there are none); for the members page, a
    (tag, city) with at least MIN_MEMBERS members (a full page), topped up with the biggest of the
    others when there are fewer than ``size`` such pairs (a small graph)."""
    run = store.driver.execute_query
    rng = random.Random(seed)

    def sample(values: list[Any]) -> list[Any]:
        return rng.sample(values, min(size, len(values)))

    users = [r["id"] for r in run("MATCH (u:User) RETURN u.userId AS id ORDER BY id")[0]]
    pairs = [
        (r["tag"], r["city"])
        for r in run(
            "MATCH (u:User)-[:HAS_TAG]->(t:Tag) WHERE u.city IS NOT NULL "
            "RETURN DISTINCT t.tagId AS tag, u.city AS city ORDER BY tag, city"
        )[0]
    ]
    skus = [
        r["sku"]
        for r in run(
            "MATCH (p:Product) WHERE EXISTS { (p)-[:BOUGHT_WITH]->() } RETURN p.sku AS sku ORDER BY sku"
        )[0]
    ] or [r["sku"] for r in run("MATCH (p:Product) RETURN p.sku AS sku ORDER BY sku")[0]]
    sized = [((r["tag"], r["city"]), r["n"]) for r in run(PAIR_SIZES)[0]]
    pool = {"profile": sample(users), "audience count": sample(pairs), "cross-sell": sample(skus)}
    full = [pair for pair, n in sized if n >= MIN_MEMBERS]
    biggest = sorted(((n, pair) for pair, n in sized if n < MIN_MEMBERS), reverse=True)
    pool[MEMBERS] = sample(full) + [pair for _, pair in biggest[: max(0, size - len(full))]]
    return pool


def variables(contender: str, query: str, item: Any, now: str) -> dict[str, Any]:
    """The variables (or Cypher parameters) that ask ``contender`` ``query`` for one pool input."""
    if query == "profile":
        return {"id": item, "now": now} if contender == NEO else {"id": item}
    if query == "cross-sell":
        return {"sku": item}
    tag, city = item
    if contender == OURS:
        return {
            "definition": {
                "and": [
                    {"tag": {"tagId": tag}},
                    {"attribute": {"field": "city", "op": "eq", "value": city}},
                ]
            }
        }
    return {"tag": tag, "city": city, "now": now} if contender == NEO else {"tag": tag, "city": city}


def body(contender: str, query: str, item: Any, now: str) -> str:
    text = PERSONAGRAPH[query] if contender == OURS else NEO4J_GRAPHQL[query]
    return json.dumps({"query": text, "variables": variables(contender, query, item, now)})


# --- answers, made comparable --------------------------------------------------------------------


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)


def _instant(value: Any) -> str | None:
    """A DateTime from the driver or an ISO string from either API, as UTC to the millisecond."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        value = value.to_native()
    return str(value.astimezone(dt.UTC).isoformat(timespec="milliseconds"))


def _tags(tags: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """A user's tags in one order (by tagId): none of the three promises one."""
    return sorted(
        ((t["tagId"], t["name"], t["tier"], _num(t["weight"]), t["source"]) for t in tags),
        key=lambda t: t[0],
    )


def canonical(query: str, answer: dict[str, Any] | None) -> Any:
    """One shape for the three contenders' answers (after `from_*`), so they compare with ==."""
    if answer is None:
        return None
    if query == "audience count":
        return int(answer["count"])
    if query == MEMBERS:  # in the order given: all three page by userId
        return [
            (m["id"], _tags(m["tags"]), m["friendsTotal"], [(f["id"], f["city"]) for f in m["friends"]])
            for m in answer["members"]
        ]
    if query == "cross-sell":
        return (
            answer["sku"],
            answer["name"],
            [
                (b["sku"], b["name"], b["count"], _num(b["support"]), _num(b["confidence"]), _num(b["lift"]))
                for b in answer["boughtWith"]
            ],
        )
    return (
        answer["id"],
        answer["city"],
        answer["ageBand"],
        answer["gender"],
        _tags(answer["tags"]),
        answer["friendsTotal"],
        [(f["id"], f["city"]) for f in answer["friends"]],
        [(o["orderId"], _instant(o["orderedAt"]), _num(o["total"])) for o in answer["orders"]],
    )


def from_personagraph(query: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if query == "audience count":
        return {"count": data["audience"]["count"]["value"]}  # exact: the bench's key is admin
    if query == MEMBERS:
        return {
            "members": [
                {
                    "id": m["id"],
                    "tags": m["tags"],
                    "friendsTotal": m["friends"]["totalCount"],
                    "friends": [f["node"] for f in m["friends"]["edges"]],
                }
                for m in (e["node"] for e in data["audience"]["members"]["edges"])
            ]
        }
    if query == "cross-sell":
        p = data["product"]
        return p and {
            "sku": p["sku"],
            "name": p["name"],
            "boughtWith": [
                {**b["product"], **{k: v for k, v in b.items() if k != "product"}} for b in p["boughtWith"]
            ],
        }
    u = data["user"]
    return u and {
        **{k: u[k] for k in ("id", "city", "ageBand", "gender", "tags")},
        "friendsTotal": u["friends"]["totalCount"],
        "friends": [e["node"] for e in u["friends"]["edges"]],
        "orders": [e["node"] for e in u["orders"]["edges"]],
    }


def from_neo4j_graphql(query: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if query == "audience count":
        return {"count": data["usersConnection"]["aggregate"]["count"]["nodes"]}
    if query == MEMBERS:
        return {
            "members": [
                {
                    "id": u["id"],
                    "tags": [{**e["node"], **e["properties"]} for e in u["tagsConnection"]["edges"]],
                    "friendsTotal": u["friendsConnection"]["totalCount"],
                    "friends": [e["node"] for e in u["friendsConnection"]["edges"]],
                }
                for u in data["users"]
            ]
        }
    if query == "cross-sell":
        p = (data["products"] or [None])[0]
        return p and {
            "sku": p["sku"],
            "name": p["name"],
            "boughtWith": [{**e["node"], **e["properties"]} for e in p["boughtWithConnection"]["edges"]],
        }
    u = (data["users"] or [None])[0]
    return u and {
        **{k: u[k] for k in ("id", "city", "ageBand", "gender")},
        "tags": [{**e["node"], **e["properties"]} for e in u["tagsConnection"]["edges"]],
        "friendsTotal": u["friendsConnection"]["totalCount"],
        "friends": [e["node"] for e in u["friendsConnection"]["edges"]],
        "orders": [e["node"] for e in u["ordersConnection"]["edges"]],
    }


def raw_read(driver: Driver, query: str, params: dict[str, Any]) -> list[Record]:
    """The raw Cypher of ``query`` as an auto-commit read."""
    with driver.session(database="neo4j", default_access_mode=READ_ACCESS) as session:
        return list(session.run(Query(RAW_CYPHER[query]), params))


def raw_answer(driver: Driver, query: str, params: dict[str, Any]) -> dict[str, Any] | None:
    records = raw_read(driver, query, params)
    return dict(records[0]) if records else None


def post(url: str, payload: str, authorization: str | None = None) -> dict[str, Any]:
    """One GraphQL request (with this Authorization header, if any); the decoded body, whatever the
    status (GraphQL errors come as bodies, so does a 401)."""
    headers = {"content-type": "application/json", "accept": "application/json"}
    if authorization:
        headers["authorization"] = authorization
    request = urllib.request.Request(url, payload.encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        try:
            return dict(json.loads(text))
        except ValueError:
            return {"errors": [{"message": f"HTTP {exc.code}: {text[:300]}"}]}
    except (urllib.error.URLError, OSError) as exc:
        return {"errors": [{"message": f"no answer: {exc}"}]}


def check_answers(
    driver: Driver,
    urls: dict[str, str],
    pool: dict[str, list[Any]],
    now: str,
    ours_down: str | None,
    authorization: dict[str, str | None],
) -> dict[str, dict[str, Any]]:
    """Ask all three every input; @neo4j/graphql must equal the raw Cypher (else this run is wrong),
    personagraph's result is recorded: ok, mismatch (with the first difference) or unavailable
    (its server did not start, or it answered errors, e.g. while its API lacks the operation)."""
    convert: dict[str, Callable[[str, dict[str, Any]], dict[str, Any] | None]] = {
        OURS: from_personagraph,
        NEO: from_neo4j_graphql,
    }
    checks: dict[str, dict[str, Any]] = {}
    for query in QUERIES:
        status: dict[str, Any] = {"inputs": len(pool[query]), OURS: "ok", NEO: "ok", "mismatches": {OURS: 0}}
        if query == MEMBERS:
            status["full_pages"] = 0  # inputs whose page is full (fewer when the graph is small)
        if ours_down:
            status[OURS], status[f"{OURS}_error"] = "unavailable", f"server did not start: {ours_down}"
        for item in pool[query]:
            expected = canonical(query, raw_answer(driver, query, variables(RAW, query, item, now)))
            if query == MEMBERS and len(expected) == PAGE:
                status["full_pages"] += 1
            for contender in (NEO, OURS):
                if status[contender] == "unavailable":
                    continue
                reply = post(urls[contender], body(contender, query, item, now), authorization[contender])
                if reply.get("errors") or reply.get("data") is None:
                    message = json.dumps(reply.get("errors"))[:500]
                    if contender == NEO:
                        raise RuntimeError(f"{query}: @neo4j/graphql answered errors for {item!r}: {message}")
                    status[OURS], status[f"{OURS}_error"] = "unavailable", message
                    continue
                try:
                    got = canonical(query, convert[contender](query, reply["data"]))
                except (KeyError, TypeError, ValueError) as exc:
                    if contender == NEO:
                        raise
                    message = f"unexpected answer ({exc!r}): {json.dumps(reply)[:300]}"
                    status[OURS], status[f"{OURS}_error"] = "unavailable", message
                    continue
                if got == expected:
                    continue
                if contender == NEO:
                    raise AssertionError(
                        f"{query} {item!r}: @neo4j/graphql {str(got)[:400]} != raw Cypher {str(expected)[:400]}"
                    )
                status[OURS] = "mismatch"
                status["mismatches"][OURS] += 1
                status.setdefault(
                    f"{OURS}_first_mismatch",
                    {"input": item, "personagraph": str(got)[:600], "raw": str(expected)[:600]},
                )
        log.info("check %s: %s", query, status)
        checks[query] = status
    return checks


# --- load ----------------------------------------------------------------------------------------


def summary(latencies_ms: list[float], seconds: float, errors: int) -> dict[str, Any]:
    ordered = sorted(latencies_ms)

    def pct(p: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 3)

    return {
        "requests": len(ordered),
        "seconds": round(seconds, 3),
        "rps": round(len(ordered) / seconds, 1) if seconds else 0.0,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "errors": errors,
    }


def node_env(authorization: str | None) -> dict[str, str]:
    """The environment of a Node load generator: with AUTH_ENV (the header it adds to every request)
    when given, else without it, whatever this process has."""
    env = {k: v for k, v in os.environ.items() if k != AUTH_ENV}
    if authorization:
        env[AUTH_ENV] = authorization
    return env


def drive_http(
    url: str,
    bodies: list[str],
    clients: int,
    seconds: float,
    *,
    workdir: Path,
    authorization: str | None = None,
) -> dict[str, Any]:
    """autocannon (bench/api-node/loadgen.mjs) in its own Node process against one endpoint, every
    request carrying ``authorization`` (when given) in its Authorization header."""
    job = workdir / "loadgen-job.json"
    job.write_text(json.dumps({"url": url, "bodies": bodies, "connections": clients, "duration": seconds}))
    done = subprocess.run(
        ["node", str(NODE_DIR / "loadgen.mjs"), str(job)],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        env=node_env(authorization),
    )
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed ({done.returncode}):\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout)
    result = summary(out["latencies"], float(out["duration"]), out["failed"] + out["socketErrors"])
    if out["errorSamples"]:
        result["error_samples"] = out["errorSamples"]
    return result


def drive_raw(
    driver: Driver, query: str, params: list[dict[str, Any]], clients: int, seconds: float
) -> dict[str, Any]:
    """The raw Cypher from ``clients`` threads, each sending its next query when the last returns."""
    counter = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(i: int) -> None:
        start.wait()
        mine = latencies[i]
        while time.perf_counter() < deadline[0]:
            p = params[next(counter) % len(params)]
            t0 = time.perf_counter()
            try:
                raw_read(driver, query, p)
            except Exception:  # counted, like a failed HTTP request
                errors[i] += 1
                continue
            mine.append((time.perf_counter() - t0) * 1000)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for t in threads:
        t.join()
    return summary([ms for mine in latencies for ms in mine], time.perf_counter() - began, sum(errors))


# --- servers -------------------------------------------------------------------------------------


def wait_http(
    url: str, payload: str | None, proc: subprocess.Popen[bytes], timeout_s: float, log_file: Path
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited ({proc.returncode}):\n{log_file.read_text()[-3000:]}")
        try:
            data = payload.encode() if payload else None
            request = urllib.request.Request(url, data, {"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=5):
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{url}: no answer after {timeout_s} s:\n{log_file.read_text()[-3000:]}"
                ) from None
            time.sleep(0.3)


@contextmanager
def server(
    name: str, cmd: list[str], env: dict[str, str], cwd: Path, probe: tuple[str, str | None], workdir: Path
) -> Iterator[None]:
    """A server subprocess (output to a log file) that answers ``probe``; stopped on the way out."""
    log_file = workdir / f"{name}.log"
    with log_file.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_http(*probe, proc, 120, log_file)
            log.info("%s up (pid %d)", name, proc.pid)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def persona_neo4j_env(info: ConnectionInfo) -> dict[str, str]:
    """The PERSONA_NEO4J_* variables that point a personagraph process at ``info``."""
    return {
        "PERSONA_NEO4J_URI": info.uri,
        "PERSONA_NEO4J_USER": info.user,
        "PERSONA_NEO4J_PASSWORD": info.password,
        "PERSONA_NEO4J_DATABASE": info.database,
    }


@contextmanager
def personagraph_server(info: ConnectionInfo, port: int, workers: int, workdir: Path) -> Iterator[str]:
    """personagraph under uvicorn, as served in production: credentials required. Yields the
    ``Authorization`` header value of an admin API key made for it (keys file, audit log and master
    secret in ``workdir``); /healthz and /readyz answer without one."""
    credentials, authorization = api_credentials(workdir)
    env = {
        **os.environ,
        **credentials,
        **persona_neo4j_env(info),
        # One load generator on 127.0.0.1 is one client to the per-client rate limit: switch it off
        # (the limit is a production guard, measured on its own in tests/test_api_limits.py).
        "PERSONA_API_RATE_LIMIT": os.environ.get("PERSONA_API_RATE_LIMIT", "0"),
    }
    if workers > 1:  # as `persona serve --workers N` runs: /metrics adds up every worker's values
        folder = workdir / f"metrics-{port}"
        folder.mkdir(exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "personagraph.api.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with server(OURS, cmd, env, ROOT, (f"http://127.0.0.1:{port}/healthz", None), workdir):
        yield authorization


@contextmanager
def bare_http_server(info: ConnectionInfo, port: int, workdir: Path) -> Iterator[None]:
    """bench/bare_http.py (the raw Cypher behind a plain ASGI app) under the same uvicorn, 1 worker."""
    queries = workdir / "bare-http-queries.json"
    queries.write_text(json.dumps(RAW_CYPHER))
    env = {**os.environ, **persona_neo4j_env(info), "BARE_HTTP_QUERIES": str(queries)}
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "bench.bare_http:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with server(BARE, cmd, env, ROOT, (f"http://127.0.0.1:{port}/", "{}"), workdir):
        yield


def neo4j_graphql_server(info: ConnectionInfo, port: int, workdir: Path) -> Any:
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "NEO4J_URI": info.uri,
        "NEO4J_USER": info.user,
        "NEO4J_PASSWORD": info.password,
        "NEO4J_DATABASE": info.database,
        "PORT": str(port),
    }
    probe = (f"http://127.0.0.1:{port}/", json.dumps({"query": "{ __typename }"}))
    return server(NEO, ["node", str(NODE_DIR / "server.mjs")], env, NODE_DIR, probe, workdir)


def npm_install() -> None:
    if not (NODE_DIR / "node_modules" / "@neo4j" / "graphql").exists():
        log.info("npm ci in %s", NODE_DIR)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)


def versions() -> dict[str, str]:
    found = {"node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()}
    for pkg in ("@neo4j/graphql", "@apollo/server", "graphql", "neo4j-driver", "autocannon"):
        manifest = NODE_DIR / "node_modules" / pkg / "package.json"
        found[pkg] = json.loads(manifest.read_text())["version"]
    for dist in ("strawberry-graphql", "fastapi", "uvicorn", "neo4j"):
        found[f"python {dist}"] = metadata.version(dist)
    return found


# --- report --------------------------------------------------------------------------------------


def ratios(runs: dict[str, Any], checks: dict[str, Any]) -> dict[str, Any]:
    """Per query: personagraph / @neo4j/graphql req/s per level, personagraph / raw p50 at 1 client."""
    out: dict[str, Any] = {}
    for query, by in runs.items():
        ours, neo, raw = by.get(OURS), by[NEO], by[RAW]
        if not ours:
            out[query] = {"available": False}
            continue
        rps = {
            str(c): round(ours[str(c)]["rps"] / neo[str(c)]["rps"], 3) if neo[str(c)]["rps"] else None
            for c in CLIENTS
            if str(c) in ours
        }
        one = str(CLIENTS[0])
        p50 = round(ours[one]["p50_ms"] / raw[one]["p50_ms"], 3) if ours[one]["p50_ms"] else None
        clean = checks[query][OURS] == "ok" and not any(ours[str(c)]["errors"] for c in CLIENTS)
        bare = by.get(BARE, {}).get(one)
        out[query] = {
            "available": True,
            "rps_vs_neo4j_graphql": rps,
            "p50_vs_raw_1_client": p50,
            "bare_http_p50_vs_raw_1_client": round(bare["p50_ms"] / raw[one]["p50_ms"], 3) if bare else None,
            "rps_target_met": clean and all(r is not None and r >= RPS_TARGET for r in rps.values()),
            "p50_target_met": clean and p50 is not None and p50 <= P50_TARGET,
        }
    return out


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def markdown(result: dict[str, Any]) -> str:
    v, checks, r = result["versions"], result["checks"], result["ratios"]
    loads = [
        x
        for by in result["runs"].values()
        for c in by.values()
        for run in c.values()
        for x in run["loadavg_1min"]
    ]
    low, high = (min(loads), max(loads)) if loads else (0.0, 0.0)
    lines = [
        f"# API benchmark ({result['users']:,} users, {result['date']})",
        "",
        f"Machine: {result['machine']}; Neo4j {result['neo4j_version']}; Node {v['node']}. "
        f"**{OURS}**: uvicorn, {result['workers']} worker(s), strawberry-graphql {v['python strawberry-graphql']}, "
        "credentials required as in production (every request sends an admin API key: authentication and "
        "the access-control walk included; admin sees exact counts). "
        f"**{NEO}**: @neo4j/graphql {v['@neo4j/graphql']} on @apollo/server {v['@apollo/server']} standalone, "
        f"one Node process. **{RAW}**: the same answer as one Cypher statement through the Python driver "
        f"(neo4j {v['python neo4j']}, an auto-commit read) from 1/8/32 threads in the bench process, no HTTP.",
        "",
        "Queries: **profile**, a user with tags, 20 friends with the total and the 10 newest orders; "
        "**audience count**, users with a tag AND in a city (purpose ANALYSIS); **cross-sell**, a product "
        f"and the 10 products most bought with it; **{MEMBERS}**, the list case: the first {PAGE} members "
        f"of a tag-AND-city audience by id, each with tags and {PAGE_FRIENDS} friends with the total "
        f"({OURS}: `audience {{ members }}`, which below admin counts the audience and each of its conditions "
        "before listing it; the admin key here lists at once).",
        "",
        f"Load: autocannon {v['autocannon']} in its own Node process, keep-alive connections = clients, "
        f"{result['duration_s']} s per run after a {result['warmup_s']} s warm-up per query and contender, "
        f"cycling through {result['pool']} different inputs per query (the same for all). "
        "p50/p99 from every response's latency; errors = non-2xx, socket errors or GraphQL `errors` "
        "(every body checked). Neo4j, the server under test and the load generator share the machine's "
        f"cores, and other work on it shows in the 1-minute load average (from {low:.1f} to {high:.1f} "
        "during the timed runs; recorded per run in the JSON), so expect noise between runs: compare "
        "ratios within this run, not absolute numbers across runs.",
        "",
        f"Targets: {OURS} req/s >= {RPS_TARGET}x {NEO} on each query and level; "
        f"{OURS} p50 <= {P50_TARGET}x {RAW} at 1 client.",
        "",
        f"| query | contender | clients | req/s | p50 ms | p99 ms | errors | {OURS} / {NEO} req/s "
        f"| {OURS} p50 / {RAW} p50 (1 client) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for query, by in result["runs"].items():
        for clients in CLIENTS:
            for contender in (*CONTENDERS, BARE):
                run = by.get(contender, {}).get(str(clients))
                if contender == BARE:
                    if run is not None:
                        ratio = r[query].get("bare_http_p50_vs_raw_1_client")
                        lines.append(
                            f"| {query} | {BARE} | {clients} | {run['rps']:,.1f} | {_ms(run['p50_ms'])} | "
                            f"{_ms(run['p99_ms'])} | {run['errors']} | | {'' if ratio is None else f'{ratio:.2f}'} |"
                        )
                    continue
                if run is None:
                    lines.append(f"| {query} | {contender} | {clients} | - | - | - | - | not run | |")
                    continue
                rps_ratio = p50_ratio = ""
                if contender == OURS:
                    value = r[query]["rps_vs_neo4j_graphql"].get(str(clients))
                    rps_ratio = f"{value:.2f}" if value is not None else "-"
                    if clients == CLIENTS[0] and r[query]["p50_vs_raw_1_client"] is not None:
                        p50_ratio = f"{r[query]['p50_vs_raw_1_client']:.2f}"
                lines.append(
                    f"| {query} | {contender} | {clients} | {run['rps']:,.1f} | {_ms(run['p50_ms'])} | "
                    f"{_ms(run['p99_ms'])} | {run['errors']} | {rps_ratio} | {p50_ratio} |"
                )
    bare_floor = result.get("bare_floor")
    if bare_floor:
        lines += [
            "",
            f"{BARE}: the raw Cypher behind the thinnest Python HTTP server (bench/bare_http.py: a plain ASGI "
            "app under the same uvicorn calling the same driver as the raw Cypher on its event loop's thread, "
            "orjson; no GraphQL, no credentials, no checks), "
            f"at 1 client; its last column is its p50 over {RAW}'s: the least any Python GraphQL server's "
            f"can be on this machine. Its HTTP hop alone (no Neo4j): p50 {_ms(bare_floor['p50_ms'])} ms, "
            f"{bare_floor['rps']:,.1f} req/s.",
        ]
    floor = result.get("floor")
    if floor:
        lines += [
            "",
            f"Floor: `{FLOOR}` through the same server, key and checks at 1 client: p50 "
            f"{_ms(floor['p50_ms'])} ms, {floor['rps']:,.1f} req/s (HTTP over loopback, authentication, "
            "parse, validation, the access-control walk, the response; no Neo4j). Every personagraph p50 "
            "above is at least this plus its Cypher, so a p50 target of 1.3x the raw Cypher can only be "
            "met where 0.3x the raw Cypher's p50 exceeds the floor.",
        ]
    lines += ["", "Answers compared on every pool input before timing:", ""]
    for query, c in checks.items():
        ours = c[OURS]
        if ours == "mismatch":
            ours = (
                f"MISMATCH on {c['mismatches'][OURS]} of {c['inputs']} (first: {c[f'{OURS}_first_mismatch']})"
            )
        elif ours == "unavailable":
            ours = f"unavailable, not timed ({c.get(f'{OURS}_error', '')[:200]})"
        else:
            ours = f"= {RAW} on all {c['inputs']}"
        full = f" ({c['full_pages']} of them a full page of {PAGE})" if "full_pages" in c else ""
        lines.append(f"- {query}: {NEO} = {RAW} on all {c['inputs']}{full}; {OURS}: {ours}")
    lines += ["", "Targets met:", ""]
    for query, q in r.items():
        if not q["available"]:
            lines.append(f"- {query}: {OURS} not run")
            continue
        lines.append(
            f"- {query}: req/s >= {RPS_TARGET}x {NEO}: {'yes' if q['rps_target_met'] else 'NO'}; "
            f"p50 <= {P50_TARGET}x {RAW}: {'yes' if q['p50_target_met'] else 'NO'}"
        )
    lines += [
        "",
        f"Loaded ({', '.join(f'{k} {s}s' for k, s in result['load_seconds'].items())}); "
        f"co-purchase: {result['copurchase']['pairs_written']:,} BOUGHT_WITH edges in "
        f"{result['copurchase']['seconds']} s.",
        "",
    ]
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def bench(
    info: ConnectionInfo,
    urls: dict[str, str],
    pool: dict[str, list[Any]],
    args: argparse.Namespace,
    workdir: Path,
    ours_down: str | None,
    ours_authorization: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    driver = open_driver(info, wait_s=30)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    authorization = {OURS: ours_authorization, NEO: None}  # @neo4j/graphql's server takes none
    checks = check_answers(driver, urls, pool, now, ours_down, authorization)
    runs: dict[str, Any] = {}
    for query in QUERIES:
        contenders = [c for c in CONTENDERS if c != OURS or checks[query][OURS] != "unavailable"]
        bodies = {c: [body(c, query, item, now) for item in pool[query]] for c in contenders if c != RAW}
        params = [variables(RAW, query, item, now) for item in pool[query]]

        once: dict[str, Callable[[int, float], dict[str, Any]]] = {
            c: partial(drive_http, urls[c], bodies[c], workdir=workdir, authorization=authorization[c])
            for c in bodies
        }
        once[RAW] = partial(drive_raw, driver, query, params)
        if BARE in urls:
            bare = [json.dumps({"query": query, "params": p}) for p in params]
            once[BARE] = partial(drive_http, urls[BARE], bare, workdir=workdir)
            contenders.append(BARE)
        for contender in contenders:
            log.info("%s: warming up %s", query, contender)
            once[contender](8, args.warmup)
        runs[query] = {c: {} for c in contenders}
        for clients in CLIENTS:
            for contender in contenders:  # interleaved, so drift hits all alike
                if contender == BARE and clients != CLIENTS[0]:
                    continue
                load_before = os.getloadavg()[0]
                result = once[contender](clients, args.duration)
                result["loadavg_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
                runs[query][contender][str(clients)] = result
                log.info("%s %s x%d: %s", query, contender, clients, result)
    driver.close()
    return checks, runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 users")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5k users, 3 s runs, 1 s warm-ups")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per timed run")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds of warm-up per query and contender"
    )
    parser.add_argument("--pool", type=int, default=100, help="different inputs per query")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers for personagraph")
    parser.add_argument(
        "--results", default="api", help="results file name under bench/results/ (api: api.json, api.md)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    if args.quick:
        args.users, args.duration, args.warmup = 5_000, 3.0, 1.0
    users = 1_000_000 if args.million else args.users
    if shutil.which("node") is None:
        raise SystemExit("node (>= 20) is needed for @neo4j/graphql and autocannon")
    npm_install()
    data = dataset(users, args.seed)

    with (
        tempfile.TemporaryDirectory(prefix="persona-bench-") as tmp,
        fresh_neo4j(Path(tmp), "neo4j") as (info, _),
    ):
        workdir = Path(tmp)
        driver = open_driver(info, wait_s=60)
        store = GraphStore(driver, "neo4j")
        load_seconds = load(store, data, KINDS, workdir / "rejects")
        log.info("co-purchase analysis")
        copurchase = run_copurchase(store)
        log.info("co-purchase: %s", copurchase)
        pool = pick_pool(store, args.pool, args.seed)
        loaded = driver.execute_query("MATCH (u:User) RETURN count(u) AS n")[0][0]["n"]
        driver.close()
        ours_port, neo_port = free_port(), free_port()
        urls = {OURS: f"http://127.0.0.1:{ours_port}/graphql", NEO: f"http://127.0.0.1:{neo_port}/"}
        with ExitStack() as servers:
            servers.enter_context(neo4j_graphql_server(info, neo_port, workdir))
            bare_port = free_port()
            servers.enter_context(bare_http_server(info, bare_port, workdir))
            urls[BARE] = f"http://127.0.0.1:{bare_port}/"
            ours_down, ours_authorization = None, None
            try:
                ours_authorization = servers.enter_context(
                    personagraph_server(info, ours_port, args.workers, workdir)
                )
            except RuntimeError as exc:  # its API may be mid-rewrite: report, time the others
                ours_down = str(exc)[-1000:]
                log.warning("personagraph did not start, not timed: %s", ours_down)
            checks, runs = bench(info, urls, pool, args, workdir, ours_down, ours_authorization)
            floor = None
            log.info("bare floor: the HTTP hop alone through the thinnest Python server, at 1 client")
            bare_floor = drive_http(urls[BARE], ["{}"], 1, args.duration, workdir=workdir)
            if ours_authorization is not None:
                log.info("floor: the least a personagraph request costs, at 1 client")
                floor = drive_http(
                    urls[OURS],
                    [json.dumps({"query": FLOOR})],
                    1,
                    args.duration,
                    workdir=workdir,
                    authorization=ours_authorization,
                )

    result = {
        "users": loaded,
        "seed": args.seed,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "clients": list(CLIENTS),
        "pool": args.pool,
        "workers": args.workers,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "neo4j_version": Settings().neo4j_version,
        "versions": versions(),
        "load_seconds": load_seconds,
        "copurchase": {
            "orders": copurchase.orders,
            "products": copurchase.products,
            "pairs_written": copurchase.pairs_written,
            "seconds": copurchase.seconds,
        },
        "operations": {OURS: PERSONAGRAPH, NEO: NEO4J_GRAPHQL, RAW: RAW_CYPHER},
        "checks": checks,
        "runs": runs,
        "floor": floor,
        "bare_floor": bare_floor,
        "ratios": ratios(runs, checks),
    }
    write_results(args.results, result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
