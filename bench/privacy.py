"""Privacy benchmark: the differencing attack on the counts shown to roles below admin, and what it
costs an attacker to average their noise away.

api/disclosure.py shows counts to roles below admin with a k floor, rounding and noise keyed by the
server's secret and *what was asked* (canonical definition, purpose, which count): asking again gives
the same answer, but a differently worded definition of the same audience gets fresh noise. This
bench measures how far that goes, through the real API.

Set-up: a fresh local Neo4j (bench/ingest.py ``fresh_neo4j``), a generated dataset (bench/ingest.py
``dataset``, loaded as bench/audiences.py does: channels, products, users, tags, user_tags, orders,
ties) and the influence analysis (``run_influence``, which gives every user an ``influenceRank``,
an attribute analysts may filter on). The app runs in process (``create_app`` behind Starlette's
TestClient: the same HTTP handling as uvicorn, without the socket) with a fresh secret and two API
keys (bench/common.py ``api_credentials``): admin and analyst. The per-key rate limit is raised for
the bench (--rate-limit) and the hourly count budget is off (``privacy_count_budget=0``), since the
attack is many requests and many counts; the results translate the request and count numbers into
time at the API's defaults (graph/settings.py ``api_rate_limit``, requests a minute, and
``privacy_count_budget``, counts an hour, both per key and process): the wait under each token
bucket, and the larger of the two as the binding one.

The attack (tests/test_security.py::test_the_differencing_attack_does_not_single_anyone_out):
A = gender female; a target x is pinned by a unique influenceRank; count(A) - count(A and not x) > 0
says x is in A. Targets: --targets users in A and as many not in A, drawn at random (--seed) among
users with a unique rank. Purpose ANALYSIS, one count per request.

1. Single pair: count(A) once, count(A and not x) per target, as admin (exact) and as analyst.
2. Averaging: per target, R wordings of A and R of (A and not x), each with an extra clause no user
   fails (``not city = "nowhere-<rank>-<i>"``), so every wording is a different question with the
   same members; the attacker says "x in A" when mean(A) - mean(A and not x) > 0.5 (the midpoint
   between the expected differences, 0 and 1). Every target has its own wordings (independent
   trials; 2R requests per target); accuracy at R = 1, 2, 4, ... --max-r from prefixes of one run.
   Admin checks on a sample that every wording is accepted and counts exactly what the plain
   definition counts.
3. Offline extension: the noise is a pure function of (secret, canonical definition, purpose,
   which count), so api.disclosure.Disclosure with the app's settings reproduces the analyst's
   answers from the exact counts. The bench checks that it does, answer for answer, on every API
   answer of step 2, then continues the same wordings to R = --extend-to for --offline-targets
   targets (no requests): the R at which 90 % and 99 % are reached, and the cheaper variant where the
   attacker averages A once over --extend-to wordings shared by all targets and then spends R
   requests per target. Each level's cost in time for one key: under the default rate limit (one
   count a request, or as many as one request may carry) and under the default count budget (which
   charges counts, so batching does not change it).
4. Batching: one request with --max-aliases aliased counts (the API's alias limit) plus one plain
   count is accepted and answers as the same counts asked one by one; the rate limit counts requests,
   not counts.
5. Stickiness: the same definitions asked --repeats times, and once more from a second app with the
   same secret: the fraction of answers identical to the first.
6. The count budget binds: a separate app with a budget of --check-budget counts an hour (its own
   audit log): the analyst asks one request carrying as many counts as allowed, then one count a
   request until a field fails with RATE_LIMITED; recorded: how many counts were answered, the
   error, the audit log's ``count-budget`` entries, and that admin counts are still answered.

Results: bench/results/privacy.json and privacy.md. Not part of the test suite.

    .venv/bin/python bench/privacy.py            # 5,000 users, 100 + 100 targets, R up to 64 (5-7 min, 2 cores)
    .venv/bin/python bench/privacy.py --quick    # 1,000 users, 20 + 20 targets, R up to 16: a smoke run
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402 - after the path setup
from fastapi.testclient import TestClient  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from api.app import create_app  # noqa: E402
from api.disclosure import Disclosure  # noqa: E402
from api.policy import Role  # noqa: E402
from bench.audiences import KINDS, load  # noqa: E402
from bench.common import api_credentials, machine, write_results  # noqa: E402
from bench.ingest import dataset, fresh_neo4j  # noqa: E402
from graph.analytics.social import run_influence  # noqa: E402
from graph.audiences.parse import definition_json, parse_definition  # noqa: E402
from graph.audit import AuditLog  # noqa: E402
from graph.connection import open_driver  # noqa: E402
from graph.settings import Settings  # noqa: E402
from graph.store import GraphStore  # noqa: E402

log = logging.getLogger("bench.privacy")

PURPOSE = "analysis"  # the purpose the operations below ask for (ANALYSIS), as api/audiences.py keys it
COUNT = (
    "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) "
    "{ count { value fewerThan exact } } }"
)
# Users with an influenceRank no one else has, and whether they are in A (gender female).
TARGETS = (
    "MATCH (u:User) WHERE u.influenceRank IS NOT NULL "
    "WITH u.influenceRank AS rank, collect(u) AS us WHERE size(us) = 1 "
    "RETURN rank, coalesce(us[0].gender = 'female', false) AS member ORDER BY rank"
)
A: dict[str, Any] = {"attribute": {"field": "gender", "op": "eq", "value": "female"}}
THRESHOLD = 0.5  # "x in A" when mean(A) - mean(A and not x) exceeds this
LEVELS = (0.9, 0.99)
DEFAULT_RATE_LIMIT: int = Settings.model_fields["api_rate_limit"].default  # requests a minute per key
DEFAULT_MAX_ALIASES: int = Settings.model_fields["api_max_aliases"].default
DEFAULT_COUNT_BUDGET: int = Settings.model_fields["privacy_count_budget"].default  # counts an hour per key
PLACEHOLDER = "@@i@@"  # stands for the wording number in a canonical definition's text (offline)


def without(rank: int) -> dict[str, Any]:
    return {"not": {"attribute": {"field": "influenceRank", "op": "eq", "value": rank}}}


def nowhere(tag: str) -> dict[str, Any]:
    """A clause every user passes: no one lives in this city."""
    return {"not": {"attribute": {"field": "city", "op": "eq", "value": f"nowhere-{tag}"}}}


def a_wording(tag: str) -> dict[str, Any]:
    """A, worded differently for each ``tag``."""
    return {"and": [A, nowhere(tag)]}


def ax_wording(rank: int, tag: str) -> dict[str, Any]:
    """A and not x, worded differently for each ``tag``."""
    return {"and": [A, without(rank), nowhere(tag)]}


@dataclass(frozen=True)
class Target:
    rank: int
    member: bool


class Api:
    """POSTs count operations to /graphql with one role's key; counts the requests."""

    def __init__(self, client: TestClient, authorization: str) -> None:
        self.client = client
        self.headers = {"Authorization": authorization}
        self.requests = 0

    def raw(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The response body, errors and all (HTTP 200 expected: field errors are answers too)."""
        self.requests += 1
        response = self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}")
        body: dict[str, Any] = response.json()
        return body

    def post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = self.raw(query, variables)
        if body.get("errors"):
            raise RuntimeError(f"errors: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    def count(self, definition: dict[str, Any]) -> int:
        """The count as shown; the audiences here are far over the floor, so never "fewer than k"."""
        shown = self.post(COUNT, {"d": definition})["audience"]["count"]
        if shown["value"] is None:
            raise RuntimeError(f"unexpectedly under the floor: {definition}")
        return int(shown["value"])


def pick_targets(store: GraphStore, per_side: int, rng: random.Random) -> tuple[list[Target], list[Target]]:
    """All users with a unique rank (shuffled), and ``per_side`` members and non-members of them."""
    records, _, _ = store.driver.execute_query(TARGETS, database_=store.database)
    everyone = [Target(int(r["rank"]), bool(r["member"])) for r in records]
    rng.shuffle(everyone)
    members = [t for t in everyone if t.member]
    others = [t for t in everyone if not t.member]
    if min(len(members), len(others)) < per_side:
        raise SystemExit(
            f"only {len(members)} members and {len(others)} non-members have a unique influenceRank; "
            f"ask for fewer --targets or more --users"
        )
    return everyone, members[:per_side] + others[:per_side]


def accuracy(diffs: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean((diffs > THRESHOLD) == truth))


def single_pair(api: Api, targets: Sequence[Target]) -> dict[str, Any]:
    """count(A) once, count(A and not x) per target: the attack of tests/test_security.py."""
    whole = api.count(A)
    diffs = np.array([whole - api.count({"and": [A, without(t.rank)]}) for t in targets], dtype=float)
    truth = np.array([t.member for t in targets])
    return {
        "targets": len(targets),
        "requests": 1 + len(targets),
        "accuracy": accuracy(diffs, truth),
        "members_right": float(np.mean(diffs[truth] > THRESHOLD)),
        "non_members_right": float(np.mean(diffs[~truth] <= THRESHOLD)),
        "count_a": whole,
        "differences": sorted({int(d) for d in diffs}),
    }


def rewording_check(admin: Api, targets: Sequence[Target], exact_a: int, max_r: int) -> dict[str, Any]:
    """Admin counts of a sample of the wordings: each accepted and equal to the plain definition's."""
    sample = [*targets[:3], *targets[-3:]]  # members and non-members (targets are members first)
    wordings = sorted({0, 1, max_r // 2, max_r - 1})
    checked = wrong = 0
    for t in sample:
        exact_ax = admin.count({"and": [A, without(t.rank)]})
        for i in wordings:
            tag = f"{t.rank}-{i}"
            got = (admin.count(a_wording(tag)), admin.count(ax_wording(t.rank, tag)))
            checked += 2
            wrong += (got[0] != exact_a) + (got[1] != exact_ax)
    for i in wordings:
        checked += 1
        wrong += admin.count(a_wording(f"shared-{i}")) != exact_a
    return {
        "targets": len(sample),
        "wordings_per_target": wordings,
        "definitions_checked": checked,
        "accepted": checked,  # Api.count raises on any error
        "same_exact_count": checked - wrong,
    }


def averaging(analyst: Api, targets: Sequence[Target], max_r: int) -> tuple[np.ndarray, np.ndarray]:
    """Shown counts of R wordings of A and of (A and not x) per target: two (targets, R) arrays."""
    shown_a = np.zeros((len(targets), max_r))
    shown_ax = np.zeros((len(targets), max_r))
    started = time.perf_counter()
    for n, t in enumerate(targets):
        for i in range(max_r):
            tag = f"{t.rank}-{i}"
            shown_a[n, i] = analyst.count(a_wording(tag))
            shown_ax[n, i] = analyst.count(ax_wording(t.rank, tag))
        if (n + 1) % 20 == 0:
            rate = analyst.requests / (time.perf_counter() - started)
            log.info("averaging: %d/%d targets (%.0f requests/s)", n + 1, len(targets), rate)
    return shown_a, shown_ax


def powers(limit: int) -> list[int]:
    return [2**e for e in range(int(math.log2(limit)) + 1)]


def accuracy_by_r(diff_of: Callable[[int], np.ndarray], truth: np.ndarray, rs: list[int]) -> dict[int, float]:
    return {r: accuracy(diff_of(r), truth) for r in rs}


def first_reaching(by_r: dict[int, float], level: float) -> int | None:
    return next((r for r, acc in sorted(by_r.items()) if acc >= level), None)


class Reproduction:
    """The analyst's answers from the exact counts, through api.disclosure.Disclosure with the app's
    settings: the canonical text of each wording is made once per target with a placeholder for the
    wording number (checked against definition_json), so millions of answers take seconds."""

    def __init__(self, settings: Settings, exact_a: int) -> None:
        self.disclosure = Disclosure.from_settings(settings)
        self.exact_a = exact_a

    @staticmethod
    def canonical(definition: dict[str, Any]) -> str:
        return definition_json(parse_definition(definition))

    def _shown(self, n: int, template: str, wordings: range) -> np.ndarray:
        out = np.empty(len(wordings))
        for j, i in enumerate(wordings):
            value = self.disclosure.shown(
                Role.ANALYST, n, template.replace(PLACEHOLDER, str(i)), PURPOSE, "count"
            )
            if value is None:
                raise RuntimeError("a reproduced count fell under the floor")
            out[j] = value
        return out

    def a(self, tag: str, wordings: range) -> np.ndarray:
        template = self.canonical(a_wording(f"{tag}-{PLACEHOLDER}"))
        assert template.replace(PLACEHOLDER, "7") == self.canonical(a_wording(f"{tag}-7"))
        return self._shown(self.exact_a, template, wordings)

    def ax(self, t: Target, wordings: range) -> np.ndarray:
        template = self.canonical(ax_wording(t.rank, f"{t.rank}-{PLACEHOLDER}"))
        assert template.replace(PLACEHOLDER, "7") == self.canonical(ax_wording(t.rank, f"{t.rank}-7"))
        return self._shown(self.exact_a - t.member, template, wordings)


def offline(
    reproduction: Reproduction, targets: Sequence[Target], extend_to: int
) -> tuple[dict[int, float], dict[int, float]]:
    """Accuracy per R of the independent-pairs attack and of the shared-A one, reproduced offline."""
    truth = np.array([t.member for t in targets])
    wordings = range(extend_to)
    sums_a = np.empty((len(targets), extend_to))
    sums_ax = np.empty((len(targets), extend_to))
    started = time.perf_counter()
    for n, t in enumerate(targets):
        sums_a[n] = np.cumsum(reproduction.a(str(t.rank), wordings))
        sums_ax[n] = np.cumsum(reproduction.ax(t, wordings))
        if (n + 1) % 100 == 0:
            log.info("offline: %d/%d targets (%.0f s)", n + 1, len(targets), time.perf_counter() - started)
    shared_a = float(np.mean(reproduction.a("shared", wordings)))
    rs = powers(extend_to)
    pairs = accuracy_by_r(lambda r: (sums_a[:, r - 1] - sums_ax[:, r - 1]) / r, truth, rs)
    shared = accuracy_by_r(lambda r: shared_a - sums_ax[:, r - 1] / r, truth, rs)
    return pairs, shared


BATCHED = "query({variables}) {{ {fields} }}"


def batched(n: int) -> str:
    """A GraphQL operation asking ``n`` counts: one plain ``audience`` field and n - 1 aliased ones
    (``c1`` ...), definitions in ``$d0`` ... (GraphQL text, not Cypher)."""
    variables = ", ".join(f"$d{i}: AudienceInput!" for i in range(n))
    fields = " ".join(
        ("" if i == 0 else f"c{i}: ")
        + f"audience(definition: $d{i}, purpose: ANALYSIS) {{ count {{ value }} }}"
        for i in range(n)
    )
    return BATCHED.format(variables=variables, fields=fields)


def batched_values(data: dict[str, Any], n: int) -> list[int | None]:
    return [data["audience" if i == 0 else f"c{i}"]["count"]["value"] for i in range(n)]


def batching_check(analyst: Api, t: Target, max_aliases: int, known: np.ndarray) -> dict[str, Any]:
    """One request with ``max_aliases`` aliased counts and a plain one: accepted, same answers."""
    n = max_aliases + 1
    data = analyst.post(batched(n), {f"d{i}": a_wording(f"{t.rank}-{i}") for i in range(n)})
    got = batched_values(data, n)
    compared = min(n, len(known))
    return {
        "counts_in_one_request": n,
        "accepted": True,
        "compared_with_single_requests": compared,
        "same_answers": sum(int(got[i] == known[i]) for i in range(compared)),
    }


def stickiness(
    analyst: Api, second: Api, targets: Sequence[Target], repeats: int, definitions_n: int
) -> dict[str, Any]:
    """The same definitions asked ``repeats`` times, then once from a second app with the same secret."""
    definitions: list[dict[str, Any]] = [A]
    for t in targets:
        definitions += [{"and": [A, without(t.rank)]}, ax_wording(t.rank, f"{t.rank}-0")]
    definitions = definitions[:definitions_n]
    same = asked = 0
    restarted_same = 0
    for definition in definitions:
        first = analyst.count(definition)
        for _ in range(repeats - 1):
            same += analyst.count(definition) == first
            asked += 1
        restarted_same += second.count(definition) == first
    return {
        "definitions": len(definitions),
        "repeats": repeats,
        "repeat_answers": asked,
        "identical_fraction": same / asked if asked else None,
        "second_app_identical_fraction": restarted_same / len(definitions),
    }


def budget_check(analyst: Api, admin: Api, budget: int, per_request: int, audit_log: Path) -> dict[str, Any]:
    """Against an app with a count budget of ``budget`` an hour: one request of ``per_request`` counts
    (fewer if the budget is smaller), then one count a request until a field fails; then the audit."""
    started = time.perf_counter()
    first_batch = min(per_request, budget)
    data = analyst.post(batched(first_batch), {f"d{i}": a_wording(f"budget-{i}") for i in range(first_batch)})
    answered = sum(v is not None for v in batched_values(data, first_batch))
    refused: dict[str, Any] | None = None
    while refused is None and answered <= 2 * budget:
        body = analyst.raw(COUNT, {"d": a_wording(f"budget-{answered}")})
        if body.get("errors"):
            refused = body["errors"][0]
        else:
            answered += 1
    if refused is None:
        raise AssertionError(f"the count budget of {budget} never refused ({answered} counts answered)")
    # Asked again, still refused (the bucket refills at budget/3600 a second).
    again = analyst.raw(COUNT, {"d": a_wording(f"budget-{answered}-again")})
    admin_value = admin.count(A)  # admins are not budgeted
    spent = [e for e in AuditLog(audit_log).entries() if e.action == "count-budget"]
    return {
        "budget_per_hour": budget,
        "first_request_counts": first_batch,
        "answered_counts": answered,
        "requests": analyst.requests + admin.requests,
        "refused_code": (refused.get("extensions") or {}).get("code"),
        "refused_message": refused.get("message"),
        "refused_again_code": ((again.get("errors") or [{}])[0].get("extensions") or {}).get("code"),
        "admin_answered": admin_value is not None,
        "audit_count_budget_entries": len(spent),
        "audit_example": None
        if not spent
        else {
            "actor": spent[0].actor,
            "role": spent[0].role,
            "action": spent[0].action,
            "what": spent[0].what,
        },
        "seconds": round(time.perf_counter() - started, 1),
    }


def wait_s(requests: int, per_minute: int) -> float:
    """Seconds one key waits to send ``requests`` requests under the API's token bucket: a burst of
    ``per_minute`` at once, then ``per_minute``/60 a second (api/limits.py RateLimiter)."""
    return max(0, requests - per_minute) / (per_minute / 60)


def budget_wait_s(counts: int, per_hour: int) -> float:
    """Seconds one key waits to be shown ``counts`` counts under the count budget: a burst of
    ``per_hour`` at once, then ``per_hour``/3600 a second (api/context.py, a RateLimiter per hour)."""
    return max(0, counts - per_hour) / (per_hour / 3600)


def duration(seconds: float) -> str:
    if seconds < 1:
        return "at once (within the burst)"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


def cost(
    r: int | None, per_target: int, per_minute: int, per_request: int, once: int = 0, per_hour: int = 0
) -> dict[str, Any] | None:
    """What reaching a level with R wordings costs: counts and requests per target, x admin (2 per
    target), the wait for a first target (``once`` counts asked first, then its own, from a full
    bucket) and per further target at the sustained rate, for ``per_request`` counts a request.

    Under the rate limit (``per_minute`` requests) and, when ``per_hour`` is set, under the count
    budget (``per_hour`` counts: the same whatever ``per_request``, since it charges counts) and the
    binding one, the larger of the two (each a lower bound on the wait under both)."""
    if r is None:
        return None
    counts = per_target * r
    requests = math.ceil(counts / per_request)
    found: dict[str, Any] = {
        "r": r,
        "counts_per_target": counts,
        "counts_once": once,
        "requests_per_target": requests,
        "times_admin": counts / 2,
        "one_target_s": wait_s(math.ceil((once + counts) / per_request), per_minute),
        "sustained_s_per_target": requests / (per_minute / 60),
    }
    if per_hour:
        found["budget_one_target_s"] = budget_wait_s(once + counts, per_hour)
        found["budget_sustained_s_per_target"] = counts / (per_hour / 3600)
        found["binding_one_target_s"] = max(found["one_target_s"], found["budget_one_target_s"])
        found["binding_sustained_s_per_target"] = max(
            found["sustained_s_per_target"], found["budget_sustained_s_per_target"]
        )
    return found


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def markdown(result: dict[str, Any]) -> str:
    s, rl, cb = result["settings"], result["rate_limit"], result["count_budget"]
    per_min, batch = rl["default_per_minute"], result["batching"]["counts_in_one_request"]
    per_hour = cb["default_per_hour"]
    single, pairs_api = result["single_pair"], result["averaging_api"]
    lines = [
        f"# Privacy benchmark: differencing and averaging ({result['users']:,} users, {result['date']}"
        + (", --quick smoke run)" if result["quick"] else ")"),
        "",
        f"Machine: {result['machine']}; Neo4j {result['neo4j_version']}. Dataset: generated, "
        f"{result['users']:,} users (seed {result['seed']}), influence analysis run. Disclosure settings: "
        f"k = {s['k']}, noise = ±{s['noise']}, round to {s['round_to']}; a fresh random secret for the "
        f"run. The API ran in process (create_app behind TestClient), purpose ANALYSIS; **the per-key rate "
        f"limit was raised to {rl['bench_per_minute']:,} a minute for the bench** (default "
        f"{per_min} a minute: a burst of {per_min}, then {per_min // 60} a second), **and the hourly "
        f"count budget per key was off** (`privacy_count_budget = {cb['bench_per_hour']}`; default "
        f"{per_hour:,} counts an hour: a burst of {per_hour:,}, then one every {3600 / per_hour:.1f} s; "
        "section 6 checks that it binds). "
        f"Run time {result['seconds']:.0f} s, {result['requests']:,} API requests. Method: bench/privacy.py "
        "docstring.",
        "",
        f"Attack: A = gender female (count {single['admin']['count_a']:,}); target x pinned by a unique "
        f'influenceRank; "x in A" when mean count(A) - mean count(A and not x) > {THRESHOLD}. '
        f"{result['targets_per_side']} targets in A and {result['targets_per_side']} not, drawn at random. "
        "A coin toss is 50 %.",
        "",
        "## 1. Single pair (one count of A, one of A and not x per target)",
        "",
        "| role | requests | accuracy | members right | non-members right | differences seen |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for role in ("admin", "analyst"):
        p = single[role]
        lines.append(
            f"| {role} | {p['requests']:,} | {pct(p['accuracy'])} | {pct(p['members_right'])} | "
            f"{pct(p['non_members_right'])} | {', '.join(map(str, p['differences']))} |"
        )
    check = result["rewording_check"]
    lines += [
        "",
        "count(A) is asked once and used for every target, as the attacker would: for the analyst, that one "
        "noise draw pushes every decision the same way, hence the split between members and non-members.",
        "",
        "## 2. Averaging differently worded definitions (analyst, through the API)",
        "",
        f"{pairs_api['requests']:,} analyst requests in {pairs_api['seconds']:.0f} s "
        f"({pairs_api['requests'] / max(pairs_api['seconds'], 1e-9):.0f} a second in process, one client).",
        "",
        'Each wording adds `not city = "nowhere-<rank>-<i>"` (no user lives there). Rewording check (admin): '
        f"{check['definitions_checked']} wordings of A and of A-and-not-x for {check['targets']} targets "
        f"(wordings {check['wordings_per_target']}) plus shared ones: {check['accepted']} accepted, "
        f"{check['same_exact_count']} counting exactly what the plain definition counts.",
        "",
        f"| R wordings each | requests per target (2R) | x admin (2) | accuracy | one target at {per_min}/min "
        f"| one target at {per_hour:,} counts/h |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r, acc in pairs_api["accuracy"].items():
        lines.append(
            f"| {r} | {2 * int(r)} | {int(r)} | {pct(acc)} | {duration(wait_s(2 * int(r), per_min))} | "
            f"{duration(budget_wait_s(2 * int(r), per_hour))} |"
        )
    needed = pairs_api["needed"]
    lines += [""]
    for level in LEVELS:
        c = needed[f"{level:.2f}"]
        lines.append(
            f"- ≥ {level:.0%} accuracy: "
            + (
                f"R = {c['r']}, {c['requests_per_target']} requests per target ({c['times_admin']:.0f}x admin)"
                if c
                else f"not reached within R = {result['max_r']} ({2 * result['max_r']} requests per target)"
            )
        )
    off = result["offline"]
    if off:
        lines += [
            "",
            "## 3. The same attack continued offline",
            "",
            f"api.disclosure.Disclosure with the app's settings and secret reproduced all "
            f"{off['reproduced']['compared']:,} analyst answers of section 2 exactly "
            f"({off['reproduced']['equal']:,} equal), so the same wordings were continued offline to "
            f"R = {off['extend_to']:,} for {off['targets']:,} targets ({off['targets'] // 2} in A, "
            f"{off['targets'] // 2} not; no requests). *Independent pairs*: 2R counts per target, as in "
            f"section 2. *Shared A*: the attacker averages A once over {off['extend_to']:,} wordings and "
            "reuses it for every target: R counts per target after that.",
            "",
            "| R | independent pairs: counts per target | accuracy | shared A: counts per target | accuracy |",
            "|---:|---:|---:|---:|---:|",
        ]
        for r, acc in off["pairs"].items():
            lines.append(f"| {r} | {2 * int(r):,} | {pct(acc)} | {int(r):,} | {pct(off['shared'][r])} |")
        lines += [
            "",
            f"What reaching each level costs an attacker holding one analyst key, at the default rate limit "
            f"({per_min}/min, one key, one process): one count per request, or {batch} counts per request "
            '(section 4). "First target": the wait from a full bucket until the first target is decided (for '
            f'shared A including the {off["extend_to"]:,} counts of A, asked once); "each further": per '
            "target when attacking many in a row at the sustained rate. Levels are read on the doubling grid "
            f"of R above, from {off['targets']:,} targets (one error is {100 / off['targets']:.1f} %): a step, not a point estimate.",
            "",
            "| variant | level | R | counts per target | x admin | first target, 1/request | each further, "
            f"1/request | first target, {batch}/request | each further, {batch}/request |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for variant in ("pairs", "shared"):
            for level in LEVELS:
                one, many = off["cost"][variant][f"{level:.2f}"]
                name = "independent pairs" if variant == "pairs" else "shared A"
                if one is None or many is None:
                    lines.append(f"| {name} | {level:.0%} | not within {off['extend_to']:,} | | | | | | |")
                    continue
                lines.append(
                    f"| {name} | {level:.0%} | {one['r']:,} | {one['counts_per_target']:,} | "
                    f"{one['times_admin']:,.0f} | {duration(one['one_target_s'])} | "
                    f"{duration(one['sustained_s_per_target'])} | {duration(many['one_target_s'])} | "
                    f"{duration(many['sustained_s_per_target'])} |"
                )
        lines += [
            "",
            f"The same levels against the count budget (default {per_hour:,} counts an hour per key and "
            f"process: a burst of {per_hour:,}, then one every {3600 / per_hour:.1f} s). The budget charges "
            f"**counts, not requests**: its columns are the same whether the counts come one or {batch} to a "
            "request, so batching no longer helps. *Binding*: the larger of the rate-limit wait (above) and "
            "the budget wait, each a lower bound on the wait under both. *People a day*: one key attacking "
            "one target after another at the binding sustained rate.",
            "",
            "| variant | level | counts per target | first target, budget (any batching) | each further, "
            f"budget (any batching) | binding, first target, 1/request | binding, each further, 1/request "
            f"| binding, first target, {batch}/request | binding, each further, {batch}/request "
            f"| people a day, one key ({batch}/request) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for variant in ("pairs", "shared"):
            for level in LEVELS:
                one, many = off["cost"][variant][f"{level:.2f}"]
                name = "independent pairs" if variant == "pairs" else "shared A"
                if one is None or many is None:
                    lines.append(f"| {name} | {level:.0%} | not within {off['extend_to']:,} | | | | | | | |")
                    continue
                lines.append(
                    f"| {name} | {level:.0%} | {one['counts_per_target']:,} | "
                    f"{duration(one['budget_one_target_s'])} | "
                    f"{duration(one['budget_sustained_s_per_target'])} | "
                    f"{duration(one['binding_one_target_s'])} | "
                    f"{duration(one['binding_sustained_s_per_target'])} | "
                    f"{duration(many['binding_one_target_s'])} | "
                    f"{duration(many['binding_sustained_s_per_target'])} | "
                    f"{86_400 / many['binding_sustained_s_per_target']:.0f} |"
                )
        lines += [
            "",
            f"For shared A the first target includes averaging A over {off['extend_to']:,} wordings, the "
            "bench's choice (fewer wordings of A cost less once and lose a little accuracy).",
        ]
    b, st = result["batching"], result["stickiness"]
    lines += [
        "",
        "## 4. Several counts in one request",
        "",
        f"One analyst request holding {b['counts_in_one_request']} counts ({b['counts_in_one_request'] - 1} "
        f"aliases, the limit, and one plain field) was accepted; {b['same_answers']} of "
        f"{b['compared_with_single_requests']} answers equal the same wordings asked one per request. "
        "The rate limit counts requests, so it allows that many times more counts; the count budget "
        "counts counts (section 6).",
        "",
        "## 5. Stickiness (asking the same definition again)",
        "",
        f"{st['definitions']} definitions asked {st['repeats']} times each as analyst: "
        f"{pct(st['identical_fraction'])} of the {st['repeat_answers']} repeat answers identical to the first; "
        f"from a second app with the same secret: {pct(st['second_app_identical_fraction'])} identical.",
        "",
        f"Audit log entries written for the analyst's {result['analyst_requests']:,} count requests: "
        f"{result['analyst_audit_entries']} (counts are not personal-data reads, exports or mutations, "
        "and the budget was off).",
        "",
    ]
    bc = result["budget_check"]
    example = bc["audit_example"] or {}
    lines += [
        "## 6. The count budget binds",
        "",
        f"A separate app with the same secret and a count budget of {bc['budget_per_hour']} counts an hour "
        f"(its own audit log; small, to keep the check quick). The analyst asked one request of "
        f"{bc['first_request_counts']} counts, then one count a request: **{bc['answered_counts']} counts "
        f"were answered, the next was refused** with `{bc['refused_code']}` "
        f'("{bc["refused_message"]}"), and so was one more ({bc["refused_again_code"]}); '
        f"{bc['requests']} requests (analyst and admin) in {bc['seconds']:.1f} s. "
        f"Admin counts were still answered: {'yes' if bc['admin_answered'] else 'no'}. "
        f"Audit log: {bc['audit_count_budget_entries']} `count-budget` entries (at most one a minute per key, for two refusals)"
        + (
            f", e.g. actor `{example.get('actor')}`, role `{example.get('role')}`, what `{example.get('what')}`."
            if example
            else "."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=5_000, help="generated users (default 5,000)")
    parser.add_argument("--seed", type=int, default=42, help="dataset and target draw (default 42)")
    parser.add_argument("--targets", type=int, default=100, help="targets in A, and as many not in A (100)")
    parser.add_argument("--max-r", type=int, default=64, help="wordings per target through the API (64)")
    parser.add_argument(
        "--extend-to", type=int, default=8192, help="continue offline up to this R (8192; 0: skip)"
    )
    parser.add_argument("--offline-targets", type=int, default=500, help="per side, offline (500)")
    parser.add_argument("--repeats", type=int, default=20, help="asks of each definition, stickiness (20)")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=1_000_000,
        help=f"the bench app's per-key requests a minute (1,000,000; the default is {DEFAULT_RATE_LIMIT})",
    )
    parser.add_argument(
        "--check-budget",
        type=int,
        default=50,
        help=f"count budget of the section 6 app, counts an hour (50; the default is {DEFAULT_COUNT_BUDGET:,})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="1,000 users, 20 + 20 targets, R to 16, offline to 1024"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.targets, args.max_r = 1_000, 20, 16
        args.extend_to, args.offline_targets, args.repeats = 1024, 100, 5
    for name in ("max_r", "extend_to"):
        value = getattr(args, name)
        if value and (value & (value - 1) or value < 2):
            parser.error(f"--{name.replace('_', '-')}: a power of two, at least 2")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("neo4j", "httpx", "api"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    rng = random.Random(args.seed)
    started = time.perf_counter()

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="persona-bench-")))
        data = dataset(args.users, args.seed)
        info, _ = stack.enter_context(fresh_neo4j(workdir, "neo4j"))
        driver = open_driver(info, wait_s=60)
        stack.callback(driver.close)
        store = GraphStore(driver, "neo4j")
        load(store, data, KINDS, workdir / "rejects")
        log.info("influence analysis")
        run_influence(store)
        (loaded,), _, _ = driver.execute_query("MATCH (u:User) RETURN count(u) AS n")
        everyone, targets = pick_targets(store, args.targets, rng)
        truth = np.array([t.member for t in targets])

        env, admin_auth = api_credentials(workdir, "admin")
        _, analyst_auth = api_credentials(workdir, "analyst")
        settings = Settings(
            api_keys_file=Path(env["PERSONA_API_KEYS_FILE"]),
            audit_log=Path(env["PERSONA_AUDIT_LOG"]),
            secret_key=SecretStr(env["PERSONA_SECRET_KEY"]),
            data_dir=workdir,
            api_rate_limit=args.rate_limit,
            privacy_count_budget=0,  # off: the attack is many counts (section 6 checks the budget)
        )
        client = stack.enter_context(TestClient(create_app(settings, connection=info)))
        admin, analyst = Api(client, admin_auth), Api(client, analyst_auth)

        log.info("single pair: %d targets", len(targets))
        single = {"admin": single_pair(admin, targets), "analyst": single_pair(analyst, targets)}
        exact_a = single["admin"]["count_a"]
        check = rewording_check(admin, targets, exact_a, args.max_r)
        log.info("rewording check: %s", check)

        log.info("averaging: %d targets x %d wordings x 2", len(targets), args.max_r)
        attack_started = time.perf_counter()
        shown_a, shown_ax = averaging(analyst, targets, args.max_r)
        attack_s = time.perf_counter() - attack_started
        sums_a, sums_ax = np.cumsum(shown_a, axis=1), np.cumsum(shown_ax, axis=1)
        by_r = accuracy_by_r(lambda r: (sums_a[:, r - 1] - sums_ax[:, r - 1]) / r, truth, powers(args.max_r))
        averaging_api = {
            "accuracy": by_r,
            "needed": {
                f"{level:.2f}": cost(
                    first_reaching(by_r, level), 2, DEFAULT_RATE_LIMIT, 1, per_hour=DEFAULT_COUNT_BUDGET
                )
                for level in LEVELS
            },
            "seconds": round(attack_s, 1),
            "requests": 2 * len(targets) * args.max_r,
        }
        log.info("averaging accuracy by R: %s", by_r)

        batching = batching_check(analyst, targets[0], settings.api_max_aliases, shown_a[0])
        second_client = stack.enter_context(TestClient(create_app(settings, connection=info)))
        sticky = stickiness(analyst, Api(second_client, analyst_auth), targets, args.repeats, 11)
        analyst_audit = sum(e.role == "analyst" for e in AuditLog(settings.audit_log_path).entries())

        log.info("count budget check: %d counts an hour", args.check_budget)
        budget_settings = settings.model_copy(
            update={"privacy_count_budget": args.check_budget, "audit_log": workdir / "budget-audit.log"}
        )
        budget_client = stack.enter_context(TestClient(create_app(budget_settings, connection=info)))
        budget = budget_check(
            Api(budget_client, analyst_auth),
            Api(budget_client, admin_auth),
            args.check_budget,
            batching["counts_in_one_request"],
            budget_settings.audit_log_path,
        )
        log.info("count budget check: %s", budget)

        offline_result: dict[str, Any] | None = None
        if args.extend_to:
            reproduction = Reproduction(settings, exact_a)
            equal = compared = 0
            for n, t in enumerate(targets):
                wordings = range(args.max_r)
                equal += int(np.sum(reproduction.a(str(t.rank), wordings) == shown_a[n]))
                equal += int(np.sum(reproduction.ax(t, wordings) == shown_ax[n]))
                compared += 2 * args.max_r
            if equal != compared:
                raise AssertionError(f"offline reproduction differs: {equal} of {compared} equal")
            members = [t for t in everyone if t.member][: args.offline_targets]
            others = [t for t in everyone if not t.member][: args.offline_targets]
            side = min(len(members), len(others))
            pool = members[:side] + others[:side]
            log.info("offline: %d targets to R = %d", len(pool), args.extend_to)
            pairs, shared = offline(reproduction, pool, args.extend_to)
            costs: dict[str, dict[str, list[dict[str, Any] | None]]] = {}
            for variant, by, per_target in (("pairs", pairs, 2), ("shared", shared, 1)):
                costs[variant] = {
                    f"{level:.2f}": [
                        cost(
                            first_reaching(by, level),
                            per_target,
                            DEFAULT_RATE_LIMIT,
                            per_request,
                            once=0 if variant == "pairs" else args.extend_to,
                            per_hour=DEFAULT_COUNT_BUDGET,
                        )
                        for per_request in (1, batching["counts_in_one_request"])
                    ]
                    for level in LEVELS
                }
            offline_result = {
                "reproduced": {"compared": compared, "equal": equal},
                "extend_to": args.extend_to,
                "targets": len(pool),
                "pairs": pairs,
                "shared": shared,
                "cost": costs,
            }
            log.info("offline accuracy: pairs %s; shared A %s", pairs, shared)
        requests = admin.requests + analyst.requests + sticky["definitions"] + budget["requests"]

    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "neo4j_version": Settings().neo4j_version,
        "users": loaded["n"],
        "seed": args.seed,
        "quick": args.quick,
        "settings": {
            "k": settings.privacy_k,
            "noise": settings.privacy_noise,
            "round_to": settings.privacy_round_to,
        },
        "rate_limit": {"bench_per_minute": args.rate_limit, "default_per_minute": DEFAULT_RATE_LIMIT},
        "count_budget": {
            "bench_per_hour": settings.privacy_count_budget,
            "default_per_hour": DEFAULT_COUNT_BUDGET,
        },
        "max_aliases": settings.api_max_aliases,
        "threshold": THRESHOLD,
        "targets_per_side": args.targets,
        "max_r": args.max_r,
        "single_pair": single,
        "rewording_check": check,
        "averaging_api": averaging_api,
        "offline": offline_result,
        "batching": batching,
        "stickiness": sticky,
        "budget_check": budget,
        "analyst_requests": analyst.requests,
        "analyst_audit_entries": analyst_audit,
        "requests": requests,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_results("privacy", result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
