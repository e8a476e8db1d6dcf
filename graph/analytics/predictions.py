"""Predicted churn and spend: trained on the graph's own history with a time split, checked on a later
window the model never saw, written onto every user with the model's id and held-out metrics.

With horizon ``N`` days and the latest order at ``L``, the evaluation cutoff is ``T = L - N`` (or the one
given). Three cuts of the same history (:mod:`graph.analytics.predictions_features`):

- **train**: features as of ``T - N``, labels from ``(T - N, T]``;
- **held out**: features as of ``T``, labels from ``(T, T + N]``: the models trained above are judged
  here (AUC, Brier, calibration error, MAE), ours beside an RFM-only model, ours without the graph
  features, and the churn_risk rule tag as a score, on the same customers;
- **score**: a model trained on the held-out cut (the latest labels there are) scores every user with
  features as of ``L``, and the scores are written back: ``churnProbability``, ``expectedSpend``,
  ``predictionModelId``, ``predictionTrainedAt``. The run record carries the model id and the metrics.

See docs/predictions.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from personagraph.graph.analytics.predictions_features import (
    DAY,
    GRAPH_FEATURES,
    HISTORY_FEATURES,
    RFM_FEATURES,
    Features,
    History,
    Labels,
    features_at,
    labels_at,
    project_history,
)
from personagraph.graph.analytics.predictions_models import (
    ChurnModel,
    auc,
    brier,
    calibration_error,
    fit,
    mae,
    rule_scores,
)
from personagraph.graph.analytics.runs import analytics_run
from personagraph.graph.errors import GraphLacksDataError
from personagraph.graph.store import GraphStore

MODEL = "churn-hgb-calibrated-v1"  # the method; a model id is this and the run that trained it
HORIZON_DAYS = 90.0
AT_RISK = 0.7  # the probability the report counts users at or above


class PredictionError(GraphLacksDataError):
    """The graph's history cannot support the time split asked for."""


@dataclass(frozen=True)
class Comparison:
    """One scorer's held-out metrics on the evaluated customers (None where it cannot be measured)."""

    auc: float | None
    brier: float | None = None
    calibration_error: float | None = None
    mae: float | None = None

    def as_json(self) -> dict[str, float | None]:
        return {
            "auc": _round(self.auc),
            "brier": _round(self.brier),
            "calibrationError": _round(self.calibration_error),
            "mae": _round(self.mae, 2),
        }


@dataclass(frozen=True)
class PredictionReport:
    """What a prediction run measured on the held-out window and wrote onto the users."""

    run_id: str
    model_id: str
    users: int
    horizon_days: float
    cutoff: str  # the held-out window starts here (ISO)
    evaluated: int  # customers in the held-out window
    churn_rate: float
    auc: float | None
    auc_rfm: float | None
    auc_rule: float | None
    auc_gain: float | None  # ours - RFM-only
    graph_gain: float | None  # ours - ours without the graph features
    brier: float | None
    calibration_error: float | None
    mae: float | None
    at_risk: int  # users scored at or above AT_RISK
    metrics: dict[str, Any] = field(default_factory=dict)

    def headline(self) -> str:
        """The held-out comparison in one line: ours, RFM-only and the rule tag."""
        return (
            f"held out from {self.cutoff[:10]} ({self.horizon_days:g} days, {self.evaluated:,} customers, "
            f"{self.churn_rate:.0%} churned): AUC {_text(self.auc)} with graph features, "
            f"{_text(self.auc_rfm)} RFM-only ({_signed(self.auc_gain)}), "
            f"{_text(self.auc_rule)} churn-risk tag; "
            f"graph features {_signed(self.graph_gain)}; Brier {_text(self.brier)}, MAE {_text(self.mae, 2)}"
        )


def run_predictions(
    store: GraphStore,
    *,
    horizon_days: float = HORIZON_DAYS,
    cutoff: datetime | None = None,
    rule_min_orders: int = 2,
    rule_quiet_days: float = 180.0,
    seed: int = 42,
    batch_size: int = 10_000,
) -> PredictionReport:
    """Train, evaluate on the later window, score every user as of the latest order and write it back.

    ``rule_min_orders`` and ``rule_quiet_days`` are the churn_risk rule's parameters (rules/tags.yaml),
    evaluated as of the held-out cutoff to compare with.
    """
    if horizon_days <= 0:
        raise PredictionError(f"horizon_days: {horizon_days!r}; expected a positive number of days")
    params: dict[str, Any] = {
        "horizonDays": horizon_days,
        "cutoff": cutoff.isoformat() if cutoff else None,
        "ruleMinOrders": rule_min_orders,
        "ruleQuietDays": rule_quiet_days,
        "seed": seed,
        "model": MODEL,
    }
    with analytics_run(store, "predictions", params) as run:
        with run.phase("projection"):
            history = project_history(store, seed=seed)
        run.input_sizes.update(
            users=history.size,
            orders=history.orders,
            touches=int(history.touch_at.size),
            ties=int(history.social.neighbours.nnz // 2),
        )
        with run.phase("evaluate"):
            now, held_out = _cutoffs(history, horizon_days, cutoff)
            train_cut = held_out - horizon_days * DAY
            train = features_at(history, train_cut, horizon_days), labels_at(history, train_cut, horizon_days)
            test = features_at(history, held_out, horizon_days), labels_at(history, held_out, horizon_days)
            comparisons, populations = _evaluate(
                train, test, seed=seed, min_orders=rule_min_orders, quiet_days=rule_quiet_days
            )
        with run.phase("train"):
            known = test[0].known
            final = fit(test[0].values[known], test[1].churned[known], test[1].spend[known], seed=seed)
            trained_at = datetime.now(UTC)
        with run.phase("score"):
            latest = features_at(history, now, horizon_days)
            probability = final.churn_probability(latest.values)
            spend = final.expected_spend(latest.values)
        model_id = f"{MODEL}@{run.run_id}"
        metrics = _metrics(comparisons, populations, history, now, held_out, horizon_days, final)
        with run.phase("write"):
            store.write_columns(
                "analytics/write/predictions_write_scores",
                {
                    "ids": history.ids.tolist(),
                    "probabilities": np.round(probability, 6).tolist(),
                    "spends": np.round(spend, 2).tolist(),
                },
                batch_size=batch_size,
                modelId=model_id,
                trainedAt=trained_at,
                horizonDays=float(horizon_days),
                **run.stamp,
            )
            store.write(
                "analytics/write/predictions_record_model",
                runId=run.run_id,
                modelId=model_id,
                trainedAt=trained_at,
                metrics=json.dumps(metrics, sort_keys=True),
            )
        at_risk = int(np.count_nonzero(probability >= AT_RISK))
        run.counts.update(
            users_scored=history.size,
            at_risk=at_risk,
            trained_on=populations["train"],
            evaluated=populations["evaluated"],
        )
        ours, rfm, rule, no_graph = (comparisons[k] for k in ("ours", "rfmOnly", "ruleTag", "noGraph"))
        return PredictionReport(
            run_id=run.run_id,
            model_id=model_id,
            users=history.size,
            horizon_days=float(horizon_days),
            cutoff=_iso(held_out),
            evaluated=populations["evaluated"],
            churn_rate=float(metrics["churnRate"]),
            auc=ours.auc,
            auc_rfm=rfm.auc,
            auc_rule=rule.auc,
            auc_gain=_difference(ours.auc, rfm.auc),
            graph_gain=_difference(ours.auc, no_graph.auc),
            brier=ours.brier,
            calibration_error=ours.calibration_error,
            mae=ours.mae,
            at_risk=at_risk,
            metrics=metrics,
        )


def _cutoffs(history: History, horizon_days: float, cutoff: datetime | None) -> tuple[float, float]:
    """(now: the latest order, the held-out cutoff); refused when a window has no orders on its far side."""
    latest, earliest = history.latest_order(), history.earliest_order()
    if latest is None or earliest is None:
        raise PredictionError("the graph holds no dated orders; predictions learn from order history")
    held_out = cutoff.timestamp() if cutoff is not None else latest - horizon_days * DAY
    train_cut = held_out - horizon_days * DAY
    if train_cut <= earliest or held_out >= latest:
        span = (latest - earliest) / DAY
        raise PredictionError(
            f"horizon_days={horizon_days:g}, cutoff {_iso(held_out)}: the orders span {span:.0f} days "
            f"({_iso(earliest)} to {_iso(latest)}); expected orders before the training cutoff "
            f"{_iso(train_cut)} and after the held-out cutoff (a shorter horizon, or an earlier cutoff)"
        )
    return latest, held_out


def _evaluate(
    train: tuple[Features, Labels],
    test: tuple[Features, Labels],
    *,
    seed: int,
    min_orders: int,
    quiet_days: float,
) -> tuple[dict[str, Comparison], dict[str, int]]:
    """Fit ours, RFM-only and ours-without-the-graph on the earlier window; judge them and the rule tag on
    the customers of the later one (users with an order by its cutoff)."""
    (x_train, y_train), (x_test, y_test) = train, test
    rows = x_train.known
    judged = x_test.known & x_test.customers
    churned, spend = y_test.churned[judged], y_test.spend[judged]
    comparisons: dict[str, Comparison] = {}
    blocks = {
        "ours": RFM_FEATURES + HISTORY_FEATURES + GRAPH_FEATURES,
        "noGraph": RFM_FEATURES + HISTORY_FEATURES,
        "rfmOnly": RFM_FEATURES,
    }
    for name, names in blocks.items():
        model = fit(x_train.columns(names)[rows], y_train.churned[rows], y_train.spend[rows], seed=seed)
        comparisons[name] = _judge(model, x_test.columns(names)[judged], churned, spend)
    rule = rule_scores(
        x_test.columns(("frequency",))[judged, 0],
        x_test.columns(("recency_days",))[judged, 0],
        min_orders=min_orders,
        quiet_days=quiet_days,
    )
    tagged = (rule > 0).astype(np.float64)
    comparisons["ruleTag"] = Comparison(
        auc(churned, rule), brier(churned, tagged), calibration_error(churned, tagged)
    )
    last_window = x_test.columns(("spend_last_window",))[judged, 0]
    comparisons["lastWindowSpend"] = Comparison(None, mae=mae(spend, last_window))
    populations = {
        "train": int(np.count_nonzero(rows)),
        "trainChurned": int(np.count_nonzero(y_train.churned[rows])),
        "evaluated": int(np.count_nonzero(judged)),
        "evaluatedChurned": int(np.count_nonzero(churned)),
    }
    return comparisons, populations


def _judge(model: ChurnModel, x: Any, churned: Any, spend: Any) -> Comparison:
    probability = model.churn_probability(x)
    return Comparison(
        auc(churned, probability),
        brier(churned, probability),
        calibration_error(churned, probability),
        mae(spend, model.expected_spend(x)),
    )


def _metrics(
    comparisons: dict[str, Comparison],
    populations: dict[str, int],
    history: History,
    now: float,
    held_out: float,
    horizon_days: float,
    final: ChurnModel,
) -> dict[str, Any]:
    """The run record's metrics: every scorer's held-out numbers, the windows and the populations."""
    ours, rfm, no_graph = comparisons["ours"], comparisons["rfmOnly"], comparisons["noGraph"]
    evaluated = populations["evaluated"]
    return {
        "horizonDays": horizon_days,
        "trainCutoff": _iso(held_out - horizon_days * DAY),
        "cutoff": _iso(held_out),
        "scoredAsOf": _iso(now),
        "calibration": final.calibration,
        **populations,
        "churnRate": _round(populations["evaluatedChurned"] / evaluated if evaluated else 0.0),
        "auc": ours.as_json()["auc"],
        "brier": ours.as_json()["brier"],
        "calibrationError": ours.as_json()["calibrationError"],
        "mae": ours.as_json()["mae"],
        "aucGainOverRfm": _round(_difference(ours.auc, rfm.auc)),
        "aucGainOfGraph": _round(_difference(ours.auc, no_graph.auc)),
        "compared": {name: c.as_json() for name, c in comparisons.items()},
        "features": {
            "rfm": list(RFM_FEATURES),
            "history": list(HISTORY_FEATURES),
            "graph": list(GRAPH_FEATURES),
        },
        "users": history.size,
    }


def _text(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _iso(epoch: float) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=epoch)).isoformat()
