"""The synthetic dataset generator (no database): deterministic, well-formed, and its planted truth holds."""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from personagraph.graph.entities import KINDS
from personagraph.graph.records import ANSWER_SEPARATOR, RowContext
from personagraph.loaders.generator import GeneratorReport, generate

USERS = 2000
SEED = 7
HEADERS = {
    "channels.csv": "channel_id,name,kind",
    "products.csv": "sku,name,brand,category,price,currency",
    "users.csv": "user_id,gender,birth_year,occupation,education,income_band,city,region,country,"
    "marketing_consent,personalization_opt_out,acquired_via,acquired_at",
    "identities.csv": "user_id,kind,value",
    "orders.csv": "order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id",
    "events.csv": "event_id,user_id,kind,at,target,channel_id",
    "ties.csv": "src_user_id,dst_user_id,kind,since",
    "tags.csv": "tag_id,name,tier,parent_id,description",
    "user_tags.csv": "user_id,tag_id,weight,source,assigned_at,expires_at",
}
NIGHT = {22, 23, 0, 1, 2, 3}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GeneratorReport]:
    out = tmp_path_factory.mktemp("generated") / "data"
    return out, generate(out, users=USERS, seed=SEED, chunk_size=700)  # several chunks


def rows(folder: Path, name: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs, the header being line 1, as the loader numbers them."""
    with (folder / name).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return [(reader.line_num, row) for row in reader]


def truth(folder: Path, fact: str) -> Any:
    return json.loads((folder / "truth" / f"{fact}.json").read_text(encoding="utf-8"))


def good(folder: Path, name: str) -> list[dict[str, str]]:
    bad = set(truth(folder, "bad_rows")[name])
    return [row for line, row in rows(folder, name) if line not in bad]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(
    dataset: tuple[Path, GeneratorReport], tmp_path: Path
) -> None:
    folder, _ = dataset
    generate(tmp_path / "again", users=USERS, seed=SEED, chunk_size=700)
    generate(tmp_path / "other", users=USERS, seed=SEED + 1, chunk_size=700)
    first, again, other = files(folder), files(tmp_path / "again"), files(tmp_path / "other")
    assert len(first) == 9 + 2 + 10  # the data files, the survey files (surveys/), the truth files
    assert first == again
    changed = ("users.csv", "identities.csv", "events.csv", "ties.csv", "truth/communities.json")
    assert all(other[name] != first[name] for name in changed)


def test_every_file_has_its_header_and_well_formed_rows(dataset: tuple[Path, GeneratorReport]) -> None:
    folder, report = dataset
    for name, header in HEADERS.items():
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        assert lines[0] == header
        assert report.rows[name] == len(lines) - 1
        width = len(header.split(","))
        assert all(len(row) == width for row in csv.reader(lines)), name


def test_row_counts_scale_with_users(dataset: tuple[Path, GeneratorReport], tmp_path: Path) -> None:
    _, report = dataset
    small = generate(tmp_path / "small", users=1000, seed=SEED)
    for r, users in ((report, USERS), (small, 1000)):
        assert r.rows["users.csv"] == users + r.bad_rows["users.csv"]
        assert 15 <= r.rows["events.csv"] / users <= 25
        assert 8 <= r.rows["ties.csv"] / users <= 12
        assert 1.5 <= r.rows["orders.csv"] / users <= 2.5
        assert r.rows["products.csv"] == 50 + r.bad_rows["products.csv"]
        assert all(0 < r.bad_rows[name] <= max(1, r.rows[name] * 0.02) for name in HEADERS)
    assert 1.6 < report.rows["events.csv"] / small.rows["events.csv"] < 2.4


def test_ids_are_unique_and_zero_padded(dataset: tuple[Path, GeneratorReport]) -> None:
    folder, _ = dataset
    users = [row["user_id"] for row in good(folder, "users.csv")]
    assert users[0] == "u0000001" and len(set(users)) == USERS
    skus = [row["sku"] for row in good(folder, "products.csv")]
    assert skus[0] == "P00001" and len(set(skus)) == len(skus)
    events = [row["event_id"] for row in good(folder, "events.csv")]
    assert len(set(events)) == len(events) and all(e.startswith("e") for e in events)
    assert all(row["order_id"].startswith("o") for row in good(folder, "orders.csv"))


# The survey files are in a folder of their own; their bad rows are listed in truth/surveys.json.
SURVEY_FILES = {"surveys": "surveys/surveys.csv", "survey_answers": "surveys/survey_answers.csv"}


def fits(questions: dict[str, dict[str, Any]], answer_key: str) -> bool:
    """Whether an answer fits its question (as cypher/surveys/read/fitting_answers decides, in Python)."""
    key, _, answer = answer_key.partition(ANSWER_SEPARATOR)
    question, picks = questions.get(key), answer.split("|")
    if question is None:
        return False
    if question["scale"] == "single":
        return len(picks) == 1 and picks[0] in question["options"]
    if question["scale"] == "multi":
        return all(p in question["options"] for p in picks)
    return (
        len(picks) == 1
        and picks[0].lstrip("-").isdigit()
        and question["low"] <= int(picks[0]) <= question["high"]
    )


def test_bad_rows_are_exactly_the_rows_the_loader_would_reject(dataset: tuple[Path, GeneratorReport]) -> None:
    """Validate with the loader's own models, and check references the way the pipeline does."""
    folder, _ = dataset
    bad = {**truth(folder, "bad_rows"), **truth(folder, "surveys")["bad_rows"], "surveys.csv": []}
    key_of = {"channels": "channelId", "products": "sku", "users": "userId", "tags": "tagId"}
    known: dict[str, set[str]] = defaultdict(set)
    questions: dict[str, dict[str, Any]] = {}
    for name, kind in KINDS.items():
        rejected = []
        seen: set[tuple[str, ...]] = set()
        for line, raw in rows(folder, SURVEY_FILES.get(name, f"{name}.csv")):
            assert tuple(raw.values()) not in seen, f"{name}.csv:{line} repeats an earlier row"
            seen.add(tuple(raw.values()))
            try:
                record = kind.model.model_validate(raw)
            except ValidationError:
                rejected.append(line)
                continue
            statement, row = kind.statement_for(record), record.to_row(RowContext())
            keys = [(ref.target, ref.key(statement, row)) for ref in kind.references]
            if any(
                key is not None
                and (not fits(questions, key) if target == "answers" else key not in known[target])
                for target, key in keys
            ):
                rejected.append(line)
            elif name in key_of:
                known[name].add(row[key_of[name]])
            elif name == "surveys":
                known["questions"].add(row["questionKey"])
                questions[row["questionKey"]] = row
        assert rejected == bad[f"{name}.csv"], name
        assert rejected or name == "surveys", (
            f"{name}: no bad rows planted"
        )  # a bad question loses its answers


def test_consent_is_mixed(dataset: tuple[Path, GeneratorReport]) -> None:
    folder, _ = dataset
    users = good(folder, "users.csv")
    consent = Counter(row["marketing_consent"] for row in users)
    opt_out = Counter(row["personalization_opt_out"] for row in users)
    assert set(consent) == set(opt_out) == {"true", "false"}
    assert truth(folder, "consent") == {
        "marketing_consent_false": consent["false"],
        "personalization_opt_out_true": opt_out["true"],
    }


def test_duplicate_accounts_share_an_email_or_phone_across_channels(
    dataset: tuple[Path, GeneratorReport],
) -> None:
    folder, _ = dataset
    values: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in good(folder, "identities.csv"):
        values[row["user_id"]].add((row["kind"], row["value"].strip().lower()))
    channel = {row["user_id"]: row["acquired_via"] for row in good(folder, "users.csv")}
    pairs = truth(folder, "duplicates")
    assert len(pairs) >= USERS // 200
    for a, b in pairs:
        shared = values[a] & values[b]
        assert shared and {kind for kind, _ in shared} <= {"email", "phone"}, (a, b)
        assert channel[a] != channel[b]
    planted = {frozenset(pair) for pair in pairs}
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for user, found in values.items():
        for value in found:
            owners[value].add(user)
    assert {frozenset(users) for users in owners.values() if len(users) > 1} == planted


def test_ties_stay_mostly_inside_communities(dataset: tuple[Path, GeneratorReport]) -> None:
    folder, _ = dataset
    community = {user: c for c, members in truth(folder, "communities").items() for user in members}
    assert len(community) == USERS
    ties = good(folder, "ties.csv")
    inside = sum(community[t["src_user_id"]] == community[t["dst_user_id"]] for t in ties)
    assert inside / len(ties) > 0.8


def test_influencers_are_followed_far_more_than_anyone_else(dataset: tuple[Path, GeneratorReport]) -> None:
    folder, _ = dataset
    ties = good(folder, "ties.csv")
    followers = Counter(t["dst_user_id"] for t in ties if t["kind"] == "follows")
    referrals = Counter(t["src_user_id"] for t in ties if t["kind"] == "referred")
    median = statistics.median(followers[row["user_id"]] for row in good(folder, "users.csv"))
    influencers = truth(folder, "influencers")
    assert len(influencers) >= 3
    for user in influencers:
        assert followers[user] > 10 * max(median, 1)
        assert referrals[user] > 5


def test_night_browsers_browse_at_night(dataset: tuple[Path, GeneratorReport]) -> None:
    folder, _ = dataset
    night_owls = set(truth(folder, "night_browsers"))
    hours: dict[str, list[bool]] = defaultdict(list)
    for row in good(folder, "events.csv"):
        hours[row["user_id"]].append(int(row["at"][11:13]) in NIGHT)
    assert night_owls
    for user in night_owls:
        assert sum(hours[user]) / len(hours[user]) > 0.6, user
    others = [h for user, found in hours.items() if user not in night_owls for h in found]
    assert sum(others) / len(others) < 0.15


def test_price_sensitive_buyers_pay_less_than_list_price(dataset: tuple[Path, GeneratorReport]) -> None:
    folder, _ = dataset
    price = {row["sku"]: float(row["price"]) for row in good(folder, "products.csv")}
    thrifty = set(truth(folder, "price_sensitive"))
    ratios: dict[bool, list[float]] = defaultdict(list)
    for row in good(folder, "orders.csv"):
        ratios[row["user_id"] in thrifty].append(float(row["unit_price"]) / price[row["sku"]])
    assert statistics.mean(ratios[True]) < 0.85 < statistics.mean(ratios[False])


def test_bundles_are_bought_together_with_the_stated_lift(dataset: tuple[Path, GeneratorReport]) -> None:
    folder, _ = dataset
    baskets: dict[str, set[str]] = defaultdict(set)
    for row in good(folder, "orders.csv"):
        baskets[row["order_id"]].add(row["sku"])
    n = len(baskets)
    for bundle in truth(folder, "bundles"):
        a, b = bundle["skus"]
        with_a = sum(a in basket for basket in baskets.values())
        with_b = sum(b in basket for basket in baskets.values())
        both = sum(a in basket and b in basket for basket in baskets.values())
        lift = both * n / (with_a * with_b)
        assert lift == pytest.approx(bundle["lift"], rel=1e-3)
        assert lift >= bundle["lift_min"] > 2


def test_progress_reports_users_done(tmp_path: Path) -> None:
    calls: list[tuple[str, int]] = []
    generate(tmp_path, users=250, seed=1, chunk_size=100, progress=lambda stage, n: calls.append((stage, n)))
    assert calls == [("users", 100), ("users", 200), ("users", 250)]


def test_no_bad_rows_when_the_share_is_zero(tmp_path: Path) -> None:
    report = generate(tmp_path, users=300, seed=2, bad_row_share=0.0)
    assert not any(report.bad_rows.values())
    assert all(lines == [] for lines in truth(tmp_path, "bad_rows").values())


@pytest.mark.parametrize("kwargs", [{"users": 5}, {"seed": -1}, {"bad_row_share": 0.7}])
def test_refuses_nonsense_arguments(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"users": 100, "seed": 1} | kwargs
    with pytest.raises(ValueError):
        generate(tmp_path, **args)


def test_fifty_thousand_users_in_chunks(tmp_path: Path) -> None:
    report = generate(tmp_path, users=50_000, seed=3)
    assert report.rows["users.csv"] == 50_000 + report.bad_rows["users.csv"]
    assert report.rows["products.csv"] == 1000 + report.bad_rows["products.csv"]
    assert len(truth(tmp_path, "influencers")) == 10
