"""Every starter rule tag (rules/tags.yaml) on a generated dataset loaded into a real Neo4j.

Two independent checks per rule:

- where the generator plants the trait (night browsers, bargain hunters, a preferred category,
  influencers), the tagged users are compared with its truth files under recall / precision floors;
- every rule is re-implemented here in plain Python over the generated CSV files (rows the loader
  rejects skipped, parameters read from the starter file, money in exact decimals), and the users it
  tags must be exactly that set.

One dataset is generated, loaded, analysed and tagged once for the module; the tests only read.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from neo4j import Driver

from personagraph.graph.analytics.influence import run_influence
from personagraph.graph.records import RowContext
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.graph.tags import DEFAULT_RULES, latest_order_time, load_rules, parse_rules, refresh_tags
from personagraph.graph.tags.rules import (
    BrandLoyal,
    CategoryLover,
    ChurnRisk,
    HighValue,
    Influencer,
    NewCustomer,
    NightActivity,
    Nps,
    PriceSensitive,
    RuleParams,
    SocialConnector,
    SurveyAnswer,
)
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import LoadOptions, load_file

USERS, SEED = 1500, 5
RULES = load_rules(DEFAULT_RULES)
# What the rules read: identities, tags and manual user tags are left out (no rule looks at them, and
# no generated manual tag shares an id with a rule tag), which keeps the module's load short.
LOADED = ("channels.csv", "products.csv", "users.csv", "orders.csv", "events.csv", "ties.csv")
SURVEY_FILES = ("surveys/surveys.csv", "surveys/survey_answers.csv")
# A share within this of its threshold may land on either side in Neo4j's float sums (exact here).
SLACK = Decimal("1e-9")
P = TypeVar("P", bound=RuleParams)


@dataclass(frozen=True)
class Line:
    """One loaded order line."""

    order: str
    sku: str
    at: datetime
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Product:
    brand: str
    category: str  # the top-level category: the first part of the category path
    price: Decimal


@dataclass(frozen=True)
class Dataset:
    """The generated files as the loader keeps them: every row except those in truth/bad_rows.json."""

    folder: Path
    products: dict[str, Product]
    lines: dict[str, list[Line]]  # by user
    acquired: dict[str, datetime]  # users with an acquisition channel and time
    events: dict[str, list[int]]  # user -> the UTC hour of each behaviour event
    ties: list[tuple[str, str]]  # (src, dst), every kind

    def truth(self, fact: str) -> Any:
        return json.loads((self.folder / "truth" / f"{fact}.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Tagged:
    """The graph after a full refresh with the starter rules."""

    data: Dataset
    as_of: datetime
    holders: dict[str, set[str]]  # tag id -> users holding it through a rule edge
    ranks: dict[str, int]  # influenceRank per ranked user


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _good_rows(folder: Path, name: str, bad: set[int]) -> Iterator[dict[str, str]]:
    """The rows the loader keeps: line numbers are 1-based with the header as line 1, like bad_rows."""
    with (folder / name).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            if reader.line_num not in bad:
                yield row


def read_dataset(folder: Path) -> Dataset:
    bad = {
        name: set(lines)
        for name, lines in json.loads((folder / "truth" / "bad_rows.json").read_text()).items()
    }

    def rows(name: str) -> Iterator[dict[str, str]]:
        return _good_rows(folder, name, bad[name])

    products = {
        r["sku"]: Product(r["brand"], r["category"].split("/")[0].strip(), Decimal(r["price"]))
        for r in rows("products.csv")
    }
    lines: dict[str, list[Line]] = defaultdict(list)
    for r in rows("orders.csv"):
        lines[r["user_id"]].append(
            Line(
                r["order_id"], r["sku"], _when(r["ordered_at"]), int(r["quantity"]), Decimal(r["unit_price"])
            )
        )
    acquired = {r["user_id"]: _when(r["acquired_at"]) for r in rows("users.csv") if r["acquired_via"]}
    events: dict[str, list[int]] = defaultdict(list)
    for r in rows("events.csv"):
        events[r["user_id"]].append(_when(r["at"]).hour)  # loaded with the UTC time zone
    ties = [(r["src_user_id"], r["dst_user_id"]) for r in rows("ties.csv")]
    return Dataset(folder, products, dict(lines), acquired, dict(events), ties)


@pytest.fixture(scope="module")
def tagged(
    driver: Driver, neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> Tagged:
    """Generate, load, rank influence and refresh once for the module (`store` would wipe per test)."""
    folder = tmp_path_factory.mktemp("planted")
    report = generate(folder / "data", users=USERS, seed=SEED, chunk_size=600)  # several chunks
    store = GraphStore(driver, neo4j_connection.database)
    store.run_autocommit("server/write/wipe_data")
    options = LoadOptions(
        batch_size=2000, rejects_dir=folder / "rejects", context=RowContext(identity_salt="t", timezone="UTC")
    )
    for name in LOADED:
        loaded = load_file(store, report.out_dir / name, options=options)
        # The loader rejects exactly the planted bad rows, so skipping them below reads what the graph holds.
        assert loaded.rejected == report.bad_rows[name] and loaded.duplicates == 0, name
    for name in SURVEY_FILES:  # a folder of their own (loaders/generator/surveys.py), after the users
        loaded = load_file(store, report.out_dir / name, options=options)
        assert loaded.rejected == report.bad_rows[name] and loaded.duplicates == 0, name
    run_influence(store)
    as_of = latest_order_time(store)
    assert as_of is not None
    refresh_tags(store, rules=RULES, as_of=as_of)
    records, _, _ = driver.execute_query(
        "MATCH (u:User)-[h:HAS_TAG {source: 'rule'}]->(t:Tag) RETURN u.userId AS user, t.tagId AS tag",
        database_=neo4j_connection.database,
    )
    holders: dict[str, set[str]] = defaultdict(set)
    for r in records:
        holders[r["tag"]].add(r["user"])
    records, _, _ = driver.execute_query(
        "MATCH (u:User) WHERE u.influenceRank IS NOT NULL RETURN u.userId AS user, u.influenceRank AS rank",
        database_=neo4j_connection.database,
    )
    return Tagged(read_dataset(report.out_dir), as_of, dict(holders), {r["user"]: r["rank"] for r in records})


def params(rule_id: str, kind: type[P]) -> P:
    found = RULES.rule(rule_id).params
    assert isinstance(found, kind), (rule_id, type(found))
    return found


def assert_tagged(
    tag: str, got: set[str], expected: set[str], borderline: frozenset[str] = frozenset()
) -> None:
    """The tag holders are the expected users; only `borderline` ones (a float tie) may differ."""
    assert expected, f"{tag}: nobody to expect, so the check would prove nothing"
    wrong = got ^ expected
    assert wrong <= borderline, (
        f"{tag}: {len(got)} tagged, {len(expected)} expected; tagged but not expected "
        f"{sorted(got - expected)[:10]}, expected but not tagged {sorted(expected - got)[:10]}"
    )


def assert_floors(tag: str, got: set[str], planted: set[str], recall: float, precision: float) -> None:
    hits = len(got & planted)
    assert hits / len(planted) >= recall, f"{tag}: recall {hits}/{len(planted)} below {recall}"
    assert hits / max(len(got), 1) >= precision, f"{tag}: precision {hits}/{len(got)} below {precision}"


def near(part: Decimal, total: Decimal, threshold: float) -> bool:
    return abs(part / total - Decimal(str(threshold))) <= SLACK


def test_the_as_of_is_the_latest_order_in_the_files(tagged: Tagged) -> None:
    latest = max(line.at for lines in tagged.data.lines.values() for line in lines)
    assert tagged.as_of == latest


def test_every_starter_rule_is_checked_here() -> None:
    """A rule added to rules/tags.yaml needs a test below (and a line in docs/tags.md)."""
    assert [r.id for r in RULES.rules] == [
        "night-owl",
        "price-sensitive",
        "high-value",
        "new-customer",
        "churn-risk",
        "category-lover",
        "brand-loyal",
        "social-connector",
        "influencer",
        "nps",
        "quality-over-price",
        "eco-minded",
    ]


def test_night_owl_finds_the_planted_night_browsers(tagged: Tagged) -> None:
    rule = params("night-owl", NightActivity)
    got = tagged.holders.get("night-owl", set())
    # Planted night browsers have >= 12 events, ~91% of them at 22:00-04:00 (hour weights 30:1), so
    # missing one takes a long run of bad luck: 47 of 47 at seed 5. Other users browse ~7% at night,
    # so one of them reaching half of >= 10 events is a ~1e-4 fluke: 1 of 48 tagged at seed 5 is not
    # planted. The floors leave room for about two such flukes each way.
    assert_floors("night-owl", got, set(tagged.data.truth("night_browsers")), recall=0.95, precision=0.9)

    night = set(rule.hours())
    expected = {
        user
        for user, hours in tagged.data.events.items()
        if len(hours) >= rule.min_events and sum(h in night for h in hours) / len(hours) >= rule.threshold
    }
    assert_tagged("night-owl", got, expected)  # counts of whole events: no rounding anywhere


def test_price_sensitive_finds_the_planted_bargain_hunters(tagged: Tagged) -> None:
    rule = params("price-sensitive", PriceSensitive)
    got = tagged.holders.get("price-sensitive", set())
    # Planted bargain hunters place >= 2 orders; 80% of their lines are among the cheapest 15% of
    # their category and 70% are bought 15-40% off, so their bargain share is far above 0.6 unless a
    # short history holds a full-price line or two: 72 of 78 at seed 5. Precision is lower by design:
    # the cheapest-15% arm counts anyone who buys cheap products, so ordinary users with two or three
    # cheap lines qualify (72 of 96 tagged at seed 5). Planted users are ~5% of all, so 0.6 is far
    # from chance.
    assert_floors(
        "price-sensitive", got, set(tagged.data.truth("price_sensitive")), recall=0.85, precision=0.6
    )

    by_category: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for sku, product in tagged.data.products.items():
        by_category[product.category].append((float(product.price), sku))
    cheap = {
        sku
        for priced in by_category.values()
        for _, sku in sorted(priced)[: math.ceil(len(priced) * rule.cheap_quantile)]
    }
    expected = set()
    for user, lines in tagged.data.lines.items():
        kept = [line for line in lines if line.at <= tagged.as_of]
        price = tagged.data.products
        # The same float operations as the rule (prices travel to Neo4j as floats), so no slack needed.
        bargains = sum(
            line.sku in cheap
            or 1.0 - float(line.unit_price) / float(price[line.sku].price) >= rule.min_discount - 1e-9
            for line in kept
        )
        if len({line.order for line in kept}) >= rule.min_orders and bargains / len(kept) >= rule.threshold:
            expected.add(user)
    assert_tagged("price-sensitive", got, expected)


def test_high_value_is_the_top_share_of_buyers_by_spend(tagged: Tagged) -> None:
    rule = params("high-value", HighValue)
    since = tagged.as_of - timedelta(days=rule.window_days)
    spend = {
        user: sum(window, Decimal(0))
        for user, lines in tagged.data.lines.items()
        if (window := [line.amount for line in lines if since < line.at <= tagged.as_of])
    }
    bar = Decimal(str(rule.min_amount or 0))
    if rule.top_percent is not None:
        # percentileDisc, nearest rank: the value at rank ceil(p * n) of the spends sorted ascending.
        values, p = sorted(spend.values()), 1.0 - rule.top_percent / 100.0
        rank = p * len(values)  # float, as Neo4j computes it
        index = int(rank) - 1 if rank == int(rank) and rank > 0 else int(rank)
        bar = max(bar, values[len(values) - 1 if p == 1.0 else index])
    expected = {user for user, amount in spend.items() if amount >= bar}
    # Ties at the cut-off are in (spend >= bar). Amounts are whole cents, so no other spend lies within
    # the rule's 1e-6 float slack of the bar: the sets must match exactly.
    assert_tagged("high-value", tagged.holders.get("high-value", set()), expected)
    if rule.top_percent is not None and not rule.min_amount:  # about top_percent of the buyers
        assert len(expected) == pytest.approx(len(spend) * rule.top_percent / 100, abs=2)


def test_new_customer_is_a_first_order_within_the_window(tagged: Tagged) -> None:
    rule = params("new-customer", NewCustomer)
    since = tagged.as_of - timedelta(days=rule.days)
    if rule.basis == "first_order":
        first = {
            user: min(line.at for line in lines if line.at <= tagged.as_of)
            for user, lines in tagged.data.lines.items()
        }
    else:
        first = tagged.data.acquired
    expected = {user for user, at in first.items() if since < at <= tagged.as_of}
    assert_tagged("new-customer", tagged.holders.get("new-customer", set()), expected)


def test_churn_risk_is_repeat_buyers_gone_quiet(tagged: Tagged) -> None:
    rule = params("churn-risk", ChurnRisk)
    quiet_since = tagged.as_of - timedelta(days=rule.quiet_days)
    expected = set()
    for user, lines in tagged.data.lines.items():
        kept = [line for line in lines if line.at <= tagged.as_of]
        orders = {line.order for line in kept}  # orders, not lines
        if len(orders) >= rule.min_orders and max(line.at for line in kept) <= quiet_since:
            expected.add(user)
    assert_tagged("churn-risk", tagged.holders.get("churn-risk", set()), expected)


def test_category_lover_finds_the_preferred_category(tagged: Tagged) -> None:
    rule = RULES.rule("category-lover")
    lover = params("category-lover", CategoryLover)
    expected: dict[str, set[str]] = defaultdict(set)
    borderline: set[str] = set()
    for user, lines in tagged.data.lines.items():
        kept = [line for line in lines if line.at <= tagged.as_of]
        total = sum((line.amount for line in kept), Decimal(0))
        if len({line.order for line in kept}) < lover.min_orders or total <= 0:
            continue
        spent: dict[str, Decimal] = defaultdict(Decimal)
        for line in kept:
            spent[tagged.data.products[line.sku].category] += line.amount
        for category, amount in spent.items():
            if amount / total >= Decimal(str(lover.threshold)):
                expected[rule.tag.for_key(category).id].add(user)
            if near(amount, total, lover.threshold):
                borderline.add(user)
    lover_tags = {tag for tag in tagged.holders if tag.startswith("loves-")}
    assert lover_tags == set(expected)
    for tag, users in expected.items():
        assert_tagged(tag, tagged.holders[tag], users, frozenset(borderline))

    preferred: dict[str, str] = tagged.data.truth("category_lovers")
    assert set(preferred) >= set(tagged.data.lines) and len(preferred) == USERS
    got = {(user, tag) for tag in lover_tags for user in tagged.holders[tag]}
    planted = {
        (user, rule.tag.for_key(category).id)
        for user, category in preferred.items()
        if len({line.order for line in tagged.data.lines.get(user, [])}) >= lover.min_orders
    }
    # Recall counts users with >= min_orders orders only: the rule cannot hold for the others. About
    # two thirds of a user's lines are in their category, but the rule weighs spend and list prices
    # differ ~20x between categories (e-bikes 2,600, hair care 120), so one off-category e-bike or
    # watch outweighs several on-category lines: the preferred category is found for 399 of 644 at
    # seed 5, and 127 of the 526 tags name another category (mostly Vehicles, Fashion, Electronics).
    # Guessing one of the 6 categories would score ~0.17 on both.
    hits = len(got & planted)
    assert hits / len(planted) >= 0.5, f"category-lover: recall {hits}/{len(planted)}"
    assert hits / len(got) >= 0.65, f"category-lover: precision {hits}/{len(got)}"


def test_brand_loyal_is_half_the_spend_on_one_brand_over_several_orders(tagged: Tagged) -> None:
    rule = params("brand-loyal", BrandLoyal)
    expected: set[str] = set()
    borderline: set[str] = set()
    for user, lines in tagged.data.lines.items():
        kept = [line for line in lines if line.at <= tagged.as_of]
        total = sum((line.amount for line in kept), Decimal(0))
        if total <= 0:
            continue
        spent: dict[str, Decimal] = defaultdict(Decimal)
        orders: dict[str, set[str]] = defaultdict(set)
        for line in kept:
            brand = tagged.data.products[line.sku].brand.lower()  # Brand nodes are keyed in lower case
            spent[brand] += line.amount
            orders[brand].add(line.order)  # orders holding the brand, not lines
        for brand, amount in spent.items():
            if len(orders[brand]) >= rule.min_orders:
                if amount / total >= Decimal(str(rule.threshold)):
                    expected.add(user)
                if near(amount, total, rule.threshold):
                    borderline.add(user)
    assert_tagged("brand-loyal", tagged.holders.get("brand-loyal", set()), expected, frozenset(borderline))


def test_social_connector_counts_distinct_people_tied_either_way(tagged: Tagged) -> None:
    rule = params("social-connector", SocialConnector)
    tied: dict[str, set[str]] = defaultdict(set)
    for src, dst in tagged.data.ties:  # friends, follows and referrals, in or out, each person once
        if src != dst:
            tied[src].add(dst)
            tied[dst].add(src)
    expected = {user for user, others in tied.items() if len(others) >= rule.min_degree}
    assert_tagged("social-connector", tagged.holders.get("social-connector", set()), expected)


def test_influencer_finds_the_planted_influencers(tagged: Tagged) -> None:
    rule = params("influencer", Influencer)
    got = tagged.holders.get("influencer", set())
    ranked = len(tagged.ranks)
    cutoff = rule.max_rank if rule.max_rank is not None else ranked
    if rule.top_percent is not None:
        cutoff = min(cutoff, math.ceil(ranked * rule.top_percent / 100))
    assert_tagged("influencer", got, {user for user, rank in tagged.ranks.items() if rank <= cutoff})

    planted = set(tagged.data.truth("influencers"))
    # Every planted influencer must be in. The rule tags the top 1% of ranked users (15 at 1,500)
    # while the generator plants max(3, users // 5000) = 3, so 3/15 is the best precision there is:
    # the floor asks for exactly that.
    assert len(got) == cutoff and len(planted) <= cutoff
    assert_floors("influencer", got, planted, recall=1.0, precision=len(planted) / cutoff)


def _latest_answer_times(folder: Path) -> list[datetime]:
    """When each user last answered each question (an earlier answer may be older than any window)."""
    bad = set(json.loads((folder / "truth" / "surveys.json").read_text())["bad_rows"]["survey_answers.csv"])
    latest: dict[tuple[str, str], datetime] = {}
    for r in _good_rows(folder, "surveys/survey_answers.csv", bad):
        key, at = (r["user_id"], r["question_id"]), _when(r["answered_at"])
        latest[key] = max(at, latest.get(key, at))
    return list(latest.values())


def test_the_survey_rules_find_exactly_the_planted_answers(tagged: Tagged) -> None:
    """The generator plants the survey answers, so its truth is exact: promoters, passives and detractors by
    the latest NPS answer (some respondents answered twice), quality over price (4-5 of 5), eco-minded
    (eco 4-5 and sustainability among their values; near misses have only one of the two)."""
    planted = tagged.data.truth("surveys")
    times = _latest_answer_times(tagged.data.folder)
    # every latest answer is judged: given before the as-of, within the rules' windows
    assert max(times) <= tagged.as_of
    nps, quality = params("nps", Nps), params("quality-over-price", SurveyAnswer)
    assert tagged.as_of - min(times) <= timedelta(days=min(nps.max_age_days, quality.max_age_days))
    for band in ("promoter", "passive", "detractor"):
        assert_tagged(f"nps-{band}", tagged.holders.get(f"nps-{band}", set()), set(planted[f"{band}s"]))
    assert_tagged(
        "quality-over-price",
        tagged.holders.get("quality-over-price", set()),
        set(planted["quality_over_price"]),
    )
    assert_tagged("eco-minded", tagged.holders.get("eco-minded", set()), set(planted["eco_minded"]))


def test_high_value_keeps_the_buyer_at_the_cut_off(store: GraphStore, tmp_path: Path) -> None:
    """Regression: the cut-off and the rule add a buyer's spend up in different orders, and float sums
    differ in the last bit (0.1 + 0.2 + 0.3 > 0.3 + 0.2 + 0.1), which dropped the very buyer whose spend
    is the bar. Orders created in ascending amounts make the cut-off sum them ascending."""
    files = {
        "users.csv": "user_id\nu1\n",
        "products.csv": "sku,price\nA,0.10\nB,0.20\nC,0.30\n",
        "orders.csv": "order_id,user_id,sku,ordered_at,quantity,unit_price\n"
        + "".join(
            f"o{i},u1,{sku},2025-06-0{i}T12:00:00Z,1,{price}\n"
            for i, sku, price in ((1, "A", "0.10"), (2, "B", "0.20"), (3, "C", "0.30"))
        ),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert (
            load_file(store, tmp_path / name, options=LoadOptions(rejects_dir=tmp_path / "r")).rejected == 0
        )
    starter = RULES.rule("high-value")  # top 5% over a year
    tag = {"id": starter.tag.id, "name": starter.tag.name, "tier": "basic"}
    rule = {"id": starter.id, "kind": starter.kind, "tag": tag, "params": starter.params.model_dump()}
    rules = parse_rules({"rules": [rule]}, source="high-value only")
    refresh_tags(store, rules=rules, as_of=latest_order_time(store))
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User)-[:HAS_TAG]->(:Tag {tagId: 'high-value'}) RETURN u.userId AS user",
        database_=store.database,
    )
    assert [r["user"] for r in records] == ["u1"]  # the only buyer is the top 5%
