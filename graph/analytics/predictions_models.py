"""The prediction models and their metrics: calibrated gradient boosting for churn, a Poisson regressor for
spend, the churn-risk rule as a score, and AUC, Brier, calibration error and MAE to compare them.

Pure functions over arrays (no Neo4j): :mod:`graph.analytics.predictions` feeds them the features and
labels of :mod:`graph.analytics.predictions_features`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import brier_score_loss, mean_absolute_error, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits  # ships with scikit-learn

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
SEED = 42
ISOTONIC_FROM = 1000  # training rows from which isotonic calibration beats Platt's sigmoid
THREADED_FROM = 20_000  # rows from which the boosting uses every core (below, one thread is faster)
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class ChurnModel:
    """A fitted churn classifier (calibrated) and spend regressor, or constants when a label never varies."""

    classifier: CalibratedClassifierCV | None
    regressor: HistGradientBoostingRegressor | None
    base_rate: float  # share churned in training: the answer when the classifier could not be fitted
    mean_spend: float
    calibration: str  # isotonic | sigmoid | constant
    empty: (
        BoolArray  # columns with no value at all in training (no ties, say): read as 0, which boosting bins
    )

    def churn_probability(self, x: FloatArray) -> FloatArray:
        x = _filled(x, self.empty)
        if self.classifier is None:
            return np.full(x.shape[0], self.base_rate)
        with threadpool_limits(limits=None if len(x) >= THREADED_FROM else 1):
            churned = int(np.flatnonzero(self.classifier.classes_ == 1)[0])
            return np.clip(
                np.asarray(self.classifier.predict_proba(x), dtype=np.float64)[:, churned], 0.0, 1.0
            )

    def expected_spend(self, x: FloatArray) -> FloatArray:
        x = _filled(x, self.empty)
        if self.regressor is None:
            return np.full(x.shape[0], self.mean_spend)
        with threadpool_limits(limits=None if len(x) >= THREADED_FROM else 1):
            return np.maximum(np.asarray(self.regressor.predict(x), dtype=np.float64), 0.0)


def fit(x: FloatArray, churned: BoolArray, spend: FloatArray, *, seed: int = SEED) -> ChurnModel:
    """Gradient boosting (NaN-aware) calibrated by cross-validation, and a Poisson regressor for spend."""
    empty: BoolArray = np.asarray(np.isnan(x).all(axis=0) if len(x) else np.zeros(x.shape[1]), dtype=np.bool_)
    x = _filled(x, empty)
    y = churned.astype(np.int64)
    base_rate = float(y.mean()) if y.size else 0.5
    mean_spend = float(spend.mean()) if spend.size else 0.0
    counts = np.bincount(y, minlength=2)
    classifier: CalibratedClassifierCV | None = None
    calibration = "constant"
    with threadpool_limits(limits=None if len(x) >= THREADED_FROM else 1):
        if counts.min() >= 3:  # each calibration fold needs both classes
            calibration = "isotonic" if len(y) >= ISOTONIC_FROM else "sigmoid"
            # Shuffled folds: rows come in internal-id order, which follows load order, not chance.
            folds = StratifiedKFold(min(3, int(counts.min())), shuffle=True, random_state=seed)
            classifier = CalibratedClassifierCV(_booster(seed), method=calibration, cv=folds).fit(x, y)
        regressor = None
        if spend.size and float(spend.max()) > 0:
            regressor = HistGradientBoostingRegressor(
                loss="poisson", max_iter=150, learning_rate=0.05, max_leaf_nodes=15, random_state=seed
            ).fit(x, spend)
    return ChurnModel(classifier, regressor, base_rate, mean_spend, calibration, empty)


def _filled(x: FloatArray, empty: BoolArray) -> FloatArray:
    """``x`` with the ``empty`` columns set to 0 (a copy when there are any)."""
    if not empty.any():
        return x
    x = x.copy()
    x[:, empty] = 0.0
    return x


def _booster(seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.05, max_leaf_nodes=15, l2_regularization=1.0, random_state=seed
    )


def rule_scores(
    frequency: FloatArray, recency_days: FloatArray, *, min_orders: int, quiet_days: float
) -> FloatArray:
    """The churn_risk rule tag as a score as of the cutoff: its weight (quiet days / twice ``quiet_days``,
    at most 1) for the users it would tag (``min_orders`` orders or more, none in ``quiet_days``), else 0."""
    tagged = (frequency >= min_orders) & (np.nan_to_num(recency_days, nan=0.0) >= quiet_days)
    return np.where(tagged, np.minimum(np.nan_to_num(recency_days) / (2 * quiet_days), 1.0), 0.0)


def auc(churned: BoolArray, score: FloatArray) -> float | None:
    """ROC AUC of ``score`` for churn; None when only one class is there to rank."""
    if churned.size == 0 or churned.all() or not churned.any():
        return None
    return float(roc_auc_score(churned.astype(np.int64), score))


def brier(churned: BoolArray, probability: FloatArray) -> float | None:
    """Mean squared error of the probabilities (0 is perfect, 0.25 a coin)."""
    if churned.size == 0:
        return None
    return float(brier_score_loss(churned.astype(np.int64), np.clip(probability, 0.0, 1.0)))


def calibration_error(
    churned: BoolArray, probability: FloatArray, bins: int = CALIBRATION_BINS
) -> float | None:
    """Expected calibration error: the gap between mean predicted and observed churn per probability bin,
    weighted by the bin's size."""
    if churned.size == 0:
        return None
    which = np.minimum((np.clip(probability, 0.0, 1.0) * bins).astype(np.int64), bins - 1)
    predicted = np.bincount(which, weights=probability, minlength=bins)
    observed = np.bincount(which, weights=churned.astype(np.float64), minlength=bins)
    return float(np.abs(predicted - observed).sum() / churned.size)


def mae(spend: FloatArray, predicted: FloatArray) -> float | None:
    """Mean absolute error of predicted spend, in the data's currency."""
    if spend.size == 0:
        return None
    return float(mean_absolute_error(spend, predicted))
