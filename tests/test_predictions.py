"""Predicted churn and spend against the real Neo4j: scores for every user with the run's metrics, no feature
reading past its cutoff, the `prediction` audience condition, and planted churners scored higher."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from neo4j import Driver

from personagraph.graph.analytics import insights
from personagraph.graph.analytics.predictions import PredictionError, PredictionReport, run_predictions
from personagraph.graph.analytics.predictions_features import (
    ALL_FEATURES,
    DAY,
    features_at,
    labels_at,
    project_history,
)
from personagraph.graph.analytics.predictions_models import auc, calibration_error, fit, rule_scores
from personagraph.graph.audiences.model import AudienceDefinitionError
from personagraph.graph.audiences.parse import parse_definition
from personagraph.graph.audiences.service import count_audience, members_among
from personagraph.graph.records import RowContext
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import LoadOptions, load_file

USERS, SEED = 400, 11
LOADED = ("channels.csv", "products.csv", "users.csv", "orders.csv", "events.csv", "ties.csv")
PLANTED = 50  # steady buyers, and as many who bought as often and then stopped
END = datetime(2025, 6, 28, 12, tzinfo=UTC)  # before the generator's last day, so the horizon is its own


@dataclass(frozen=True)
class Predicted:
    store: GraphStore
    report: PredictionReport
    steady: list[str]
    churners: list[str]
    folder: Path
    sku: str
    channel: str


def _orders(folder: Path, name: str, rows: list[tuple[str, str, datetime]], sku: str, channel: str) -> Path:
    path = folder / name / "orders.csv"
    path.parent.mkdir()
    lines = ["order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id"]
    lines += [
        f"{order},{user},{sku},{at.strftime('%Y-%m-%dT%H:%M:%SZ')},1,40.00,{channel}"
        for order, user, at in rows
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _every(start: datetime, stop: datetime, days: int) -> list[datetime]:
    out, at = [], start
    while at <= stop:
        out.append(at)
        at += timedelta(days=days)
    return out


@pytest.fixture(scope="module")
def predicted(
    driver: Driver, neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> Predicted:
    """A small generated shop with planted steady buyers and churners, predicted once for the module."""
    folder = tmp_path_factory.mktemp("predictions")
    report = generate(folder / "data", users=USERS, seed=SEED)
    store = GraphStore(driver, neo4j_connection.database)
    store.run_autocommit("server/write/wipe_data")
    options = LoadOptions(
        batch_size=2000, rejects_dir=folder / "rejects", context=RowContext(identity_salt="t", timezone="UTC")
    )
    for name in LOADED:
        load_file(store, report.out_dir / name, options=options)
    users = [line.split(",")[0] for line in (report.out_dir / "users.csv").read_text().splitlines()[1:]]
    users = sorted({u for u in users if u.startswith("u")})
    sku = (report.out_dir / "products.csv").read_text().splitlines()[1].split(",")[0]
    channel = (report.out_dir / "channels.csv").read_text().splitlines()[1].split(",")[0]
    steady, churners = users[:PLANTED], users[PLANTED : 2 * PLANTED]
    rows = [
        (f"steady-{u}-{i}", u, at)
        for u in steady
        for i, at in enumerate(_every(datetime(2023, 6, 1, tzinfo=UTC), END, 14))
    ]
    rows += [
        (f"gone-{u}-{i}", u, at)
        for u in churners
        for i, at in enumerate(_every(datetime(2023, 6, 1, tzinfo=UTC), datetime(2024, 9, 1, tzinfo=UTC), 14))
    ]
    load_file(store, _orders(folder, "planted", rows, sku, channel), kind="orders", options=options)
    # A user with no acquisition and no orders (as every user of the Online Retail data lacks acquisitions).
    store.driver.execute_query("CREATE (:User {userId: 'zz-undated'})", database_=store.database)
    return Predicted(store, run_predictions(store), steady, churners, folder, sku, channel)


def _stored(store: GraphStore) -> dict[str, dict[str, Any]]:
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User) RETURN u.userId AS id, u.churnProbability AS p, u.expectedSpend AS s, "
        "u.predictionModelId AS model, u.predictionTrainedAt AS trained, u.predictionRunId AS run",
        database_=store.database,
    )
    return {r["id"]: dict(r) for r in records}


def test_every_user_gets_a_probability_and_a_spend_with_the_model(predicted: Predicted) -> None:
    stored = _stored(predicted.store)
    assert len(stored) == predicted.report.users > USERS * 0.9
    for row in stored.values():
        assert 0.0 <= row["p"] <= 1.0
        assert row["s"] >= 0.0
        assert row["model"] == predicted.report.model_id
        assert row["run"] == predicted.report.run_id
        assert row["trained"] is not None
    assert len({round(r["p"], 6) for r in stored.values()}) > 5  # not one constant
    assert "zz-undated" in stored


def test_the_run_record_carries_the_held_out_metrics(predicted: Predicted) -> None:
    run = insights.get_run(predicted.store, run_id=predicted.report.run_id)
    assert run is not None and run.status == "done" and run.kind == "predictions"
    assert run.counts["users_scored"] == predicted.report.users
    records, _, _ = predicted.store.driver.execute_query(
        "MATCH (r:AnalyticsRun {runId: $id}) RETURN r.metrics AS metrics, r.modelId AS model",
        id=predicted.report.run_id,
        database_=predicted.store.database,
    )
    metrics = json.loads(records[0]["metrics"])
    assert records[0]["model"] == predicted.report.model_id
    assert run.metrics == metrics  # what the API shows
    compared = metrics["compared"]
    assert set(compared) >= {"ours", "rfmOnly", "ruleTag", "noGraph"}
    for name in ("ours", "rfmOnly"):
        assert 0.5 < compared[name]["auc"] <= 1.0  # recency alone ranks the planted churners
        assert 0.0 <= compared[name]["brier"] < 0.25
        assert compared[name]["mae"] >= 0.0
    assert metrics["aucGainOverRfm"] == pytest.approx(
        compared["ours"]["auc"] - compared["rfmOnly"]["auc"], abs=2e-4
    )
    assert metrics["evaluated"] == predicted.report.evaluated > 0
    # The windows: train cutoff one horizon before the held-out one, itself one horizon before the last order.
    cutoff = datetime.fromisoformat(metrics["cutoff"])
    assert datetime.fromisoformat(metrics["trainCutoff"]) == cutoff - timedelta(days=90)
    assert datetime.fromisoformat(metrics["scoredAsOf"]) == cutoff + timedelta(days=90)


def test_planted_churners_score_higher_than_steady_buyers(predicted: Predicted) -> None:
    stored = _stored(predicted.store)
    gone = np.mean([stored[u]["p"] for u in predicted.churners])
    steady = np.mean([stored[u]["p"] for u in predicted.steady])
    assert gone > steady + 0.4, (gone, steady)
    assert np.mean([stored[u]["s"] for u in predicted.steady]) > np.mean(
        [stored[u]["s"] for u in predicted.churners]
    )


@pytest.mark.parametrize(
    ("condition", "test"),
    [
        ({"field": "churnProbability", "op": "gte", "value": 0.7}, lambda p, s: p >= 0.7),
        ({"field": "churnProbability", "op": "lt", "value": 0.3}, lambda p, s: p < 0.3),
        ({"field": "expectedSpend", "op": "between", "value": [10, 1000]}, lambda p, s: 10 <= s <= 1000),
        ({"field": "churnProbability", "op": "exists"}, lambda p, s: True),
    ],
)
def test_the_prediction_condition_selects_exactly_the_stored_scores(
    predicted: Predicted, condition: dict[str, Any], test: Any
) -> None:
    stored = _stored(predicted.store)
    expected = {u for u, r in stored.items() if test(r["p"], r["s"])}
    definition = {"prediction": condition}
    assert count_audience(predicted.store, definition, purpose="analysis").count == len(expected)
    some = sorted(stored)[:200]
    assert members_among(predicted.store, definition, some, purpose="analysis") == expected & set(some)
    assert len(expected) > 0 or condition["op"] == "lt"


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"field": "churnProbability", "op": "gte", "value": 1.5}, "from 0 to 1"),
        ({"field": "churnProbability", "op": "eq", "value": 0.5}, "op"),
        ({"field": "lifecycle", "op": "gte", "value": 0.5}, "field"),
        ({"field": "expectedSpend", "op": "gte", "value": "100"}, "float"),
        ({"field": "expectedSpend", "op": "between", "value": [5, 1]}, "above high"),
    ],
)
def test_malformed_prediction_conditions_are_refused(condition: dict[str, Any], message: str) -> None:
    with pytest.raises(AudienceDefinitionError, match=message):
        parse_definition({"prediction": condition})


def test_metric_helpers_on_known_answers() -> None:
    churned = np.array([True, True, False, False])
    assert auc(churned, np.array([0.9, 0.8, 0.2, 0.1])) == 1.0
    assert auc(churned, np.array([0.1, 0.2, 0.8, 0.9])) == 0.0
    assert auc(np.array([True, True]), np.array([0.1, 0.2])) is None
    assert calibration_error(churned, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.0)
    assert calibration_error(churned, np.array([0.0, 0.0, 1.0, 1.0])) == pytest.approx(1.0)
    # The rule tag: two orders or more and none for quiet_days; weight = quiet / (2 quiet_days), at most 1.
    scores = rule_scores(
        np.array([3.0, 1.0, 2.0, 2.0]), np.array([200.0, 400.0, 100.0, 500.0]), min_orders=2, quiet_days=180
    )
    assert scores.tolist() == pytest.approx([200 / 360, 0.0, 0.0, 1.0])


def test_a_horizon_longer_than_the_history_is_refused(predicted: Predicted) -> None:
    with pytest.raises(PredictionError, match="horizon_days=2000"):
        run_predictions(predicted.store, horizon_days=2000)


def test_no_feature_reads_past_its_cutoff(predicted: Predicted) -> None:
    """Orders (and a touch) added after the cutoff change no feature as of it; one added before does.
    Runs last: it adds orders to the module's graph."""
    store = predicted.store
    before = project_history(store)
    cutoff = before.latest_order() - 90 * DAY  # type: ignore[operator]
    at_cutoff = features_at(before, cutoff, 90)
    labels = labels_at(before, cutoff, 90)
    users = predicted.churners[:5] + predicted.steady[:5]
    later = datetime.fromtimestamp(cutoff, UTC) + timedelta(days=3)
    _load_orders(predicted, "after", [(f"late-{u}", u, later) for u in users])
    after = project_history(store)
    assert after.orders == before.orders + len(users)
    assert np.array_equal(after.ids, before.ids)
    np.testing.assert_array_equal(features_at(after, cutoff, 90).values, at_cutoff.values)  # NaN == NaN here
    assert not np.array_equal(labels_at(after, cutoff, 90).spend, labels.spend)  # the labels did see them
    earlier = datetime.fromtimestamp(cutoff, UTC) - timedelta(days=3)
    _load_orders(predicted, "before", [(f"early-{u}", u, earlier) for u in users])
    changed = features_at(project_history(store), cutoff, 90).values
    differs = ~((changed == at_cutoff.values) | (np.isnan(changed) & np.isnan(at_cutoff.values)))
    assert differs.any(axis=0)[ALL_FEATURES.index("frequency")]
    assert not math.isnan(float(changed[:, ALL_FEATURES.index("frequency")].sum()))


def _load_orders(predicted: Predicted, name: str, rows: list[tuple[str, str, datetime]]) -> None:
    options = LoadOptions(batch_size=2000, rejects_dir=predicted.folder / f"rejects-{name}")
    load_file(
        predicted.store,
        _orders(predicted.folder, name, rows, predicted.sku, predicted.channel),
        kind="orders",
        options=options,
    )


def test_a_feature_nobody_has_does_not_stop_the_models() -> None:
    """Online Retail has no ties: graph features are missing for everyone, which boosting cannot bin."""
    rng = np.random.default_rng(0)
    recency = rng.uniform(0, 100, 300)
    x = np.column_stack([recency, np.full(300, np.nan)])
    churned = recency + rng.normal(0, 10, 300) > 50
    model = fit(x, churned, np.where(churned, 0.0, 20.0))
    p = model.churn_probability(x)
    assert ((p >= 0) & (p <= 1)).all() and auc(churned, p) > 0.8  # type: ignore[operator]
    assert (model.expected_spend(x) >= 0).all()
