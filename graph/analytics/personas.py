"""Personas: clustering on weighted feature blocks (k by silhouette, KMeans), names from distinctive
features, identity across runs, and the persona run that writes them (:func:`run_personas`).

Features are grouped in blocks (RFM scores, spend share per top category, order share per channel
kind, time of day, activity, tags per tier). Each column is standardised, then scaled by
1/sqrt(block width) so every block weighs the same in the distance: eight category columns do not
outvote the single night-share column. k is the one of ``K_RANGE`` with the best silhouette on a
seeded sample; the final KMeans (fixed seed) runs on all users.

Identity across runs: each persona keeps its centroid (raw feature means, by feature key). A new run
maps the previous run's centroids into its own weighted, standardised space and pairs them with its
clusters by Hungarian matching on distance (``match_centroids``); a pair further apart than the
cut-off is no match. Matched clusters keep the persona id, the others are new personas; unmatched
previous personas are retired.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from neo4j import Record
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits  # ships with scikit-learn

from personagraph.graph.analytics.rfm import rfm_scores
from personagraph.graph.analytics.runs import AnalyticsRun, analytics_run
from personagraph.graph.analytics.user_features import (
    NIGHT_HOURS,
    PersonaInputs,
    UserOrders,
    project_persona_inputs,
    project_user_orders,
)
from personagraph.graph.errors import PersonaGraphError
from personagraph.graph.store import GraphStore

log = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]
K_RANGE = range(3, 7)
SEED = 7
PHRASE_Z = 0.3  # a feature this many population std from the mean is worth a phrase
NAME_Z = 0.5  # ...and this many, a word in the name
MAX_PHRASES = 3
TOP_LABELS = 3  # typical categories and channel kinds on a persona's card
TIMES = "\u00d7"
THREADED_FROM = 50_000  # fewer rows fit faster on one thread than with OpenMP start-up on few cores
MATCH_DISTANCE = 1.0  # farthest a previous persona's centroid may be to be the same persona (see below)
PERSONA_ID = re.compile(r"persona-(\d+)")


@dataclass(frozen=True)
class Feature:
    """One clustering column: its block, what it measures and how to say it."""

    block: str
    kind: str  # rfm | category | channel | night | work | activity | tag
    label: str

    @property
    def key(self) -> str:
        """Names the column across runs (categories and channel kinds come and go), e.g. 'category:Home'."""
        return f"{self.kind}:{self.label}"


@dataclass(frozen=True)
class FeatureMatrix:
    """Raw values (users x features) and their column descriptions."""

    features: tuple[Feature, ...]
    values: FloatArray


@dataclass(frozen=True)
class Clustering:
    """Labels 0..k-1 per user, the chosen k (clusters found) and the silhouette of every k tried."""

    labels: npt.NDArray[np.int64]
    k: int
    silhouettes: dict[int, float]


@dataclass(frozen=True)
class PersonaProfile:
    """A persona's generated card: name, description, a motto in the customer's voice, its key traits
    (the description's phrases) and its typical channel kinds and categories (highest shares first)."""

    name: str
    description: str
    size: int
    motto: str = ""
    traits: tuple[str, ...] = ()
    top_categories: tuple[str, ...] = ()
    top_channels: tuple[str, ...] = ()


def feature_matrix(rfm: npt.NDArray[np.int64], inputs: PersonaInputs) -> FeatureMatrix:
    """Stack the persona features of every user in a fixed column order."""
    b = inputs.behaviour
    parts: list[tuple[list[Feature], FloatArray]] = [
        ([Feature("rfm", "rfm", n) for n in ("recency", "frequency", "monetary")], rfm.astype(np.float64)),
        (
            [Feature("category", "category", n) for n in inputs.categories.names],
            inputs.categories.values,
        ),
        ([Feature("channel", "channel", n) for n in inputs.channels.names], inputs.channels.values),
        (
            [Feature("time", "night", "night"), Feature("time", "work", "work hours")],
            np.column_stack([b.night_share, b.work_share]),
        ),
        ([Feature("activity", "activity", "product events")], np.log1p(b.events)[:, None]),
        ([Feature("tag", "tag", n) for n in inputs.tags.names], inputs.tags.values),
    ]
    features = tuple(f for names, _ in parts for f in names)
    values = np.hstack([v.reshape(rfm.shape[0], -1) for _, v in parts])
    return FeatureMatrix(features, values)


def weighted_standardised(matrix: FeatureMatrix) -> FloatArray:
    """z-scores, each block scaled to equal total weight (constant columns become 0)."""
    std = matrix.values.std(axis=0)
    z = (matrix.values - matrix.values.mean(axis=0)) / np.where(std > 0, std, 1.0)
    weighted: FloatArray = z / _block_root_widths(matrix.features)
    return weighted


def _block_root_widths(features: tuple[Feature, ...]) -> FloatArray:
    """Per column, the square root of its block's width: dividing by it makes every block weigh the same."""
    blocks = [f.block for f in features]
    return np.sqrt(np.asarray([blocks.count(b) for b in blocks], dtype=np.float64))


class PersonaClusteringError(PersonaGraphError):
    """Too few users for the clusters asked for."""


def cluster(x: FloatArray, *, k: int | None, sample: int) -> Clustering:
    """Pick k by silhouette on a seeded sample (unless given), then fit KMeans on everyone."""
    n = x.shape[0]
    candidates = [k] if k is not None else [c for c in K_RANGE if c < n]
    if not candidates or not 2 <= candidates[0] < n:
        raise PersonaClusteringError(
            f"personas need 2 <= k < users; got k={k if k is not None else 'auto (3-6)'} for {n} users"
        )
    rng = np.random.default_rng(SEED)
    picked = x[np.sort(rng.choice(n, min(max(sample, 2 * max(candidates)), n), replace=False))]
    # KMeans finds no more clusters than distinct points (users alike in every feature, as in a social
    # network without orders or behaviour); asked for more it warns (ConvergenceWarning) and merges them.
    # So k never exceeds the distinct points: of the sample for the silhouettes, of everyone for the fit.
    in_sample = _distinct_points(picked)
    points = _distinct_points(x) if k is not None and k > in_sample else in_sample
    fitting = [c for c in candidates if c <= points] or ([points] if points >= 2 else [])
    if fitting != candidates:
        log.info(
            "personas: %d user(s) have %d distinct feature profile(s): k=%s",
            n,
            points,
            fitting[0] if fitting else 1,
        )
    if not fitting:  # everyone alike: one persona
        return Clustering(np.zeros(n, dtype=np.int64), 1, {})
    silhouettes: dict[int, float] = {}
    for c in fitting:
        if c > in_sample:
            continue  # a k given, and the sample too alike for it: no silhouette
        labels = _kmeans(picked, c)
        distinct = np.unique(labels).size
        silhouettes[c] = float(silhouette_score(picked, labels)) if 1 < distinct < len(picked) else -1.0
    best = max(silhouettes, key=lambda c: (silhouettes[c], -c)) if silhouettes else fitting[0]
    labels, found = _by_size(_kmeans(x, best), best)
    return Clustering(labels, found, silhouettes)


def _distinct_points(x: FloatArray) -> int:
    """Rows of ``x`` that differ from each other."""
    return int(np.unique(x, axis=0).shape[0]) if x.size else int(x.shape[0])


def _kmeans(x: FloatArray, k: int) -> npt.NDArray[np.int64]:
    """Seeded KMeans, single-threaded on small inputs where OpenMP start-up dominates."""
    with threadpool_limits(limits=None if len(x) >= THREADED_FROM else 1):
        labels = KMeans(k, n_init=10, random_state=SEED).fit_predict(x)
    return np.asarray(labels, dtype=np.int64)


def _by_size(labels: npt.NDArray[np.int64], k: int) -> tuple[npt.NDArray[np.int64], int]:
    """Renumber clusters largest first (persona ids read in order of size); empty ones are dropped."""
    sizes = np.bincount(labels, minlength=k)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return rank[labels], int(np.count_nonzero(sizes))


def describe(matrix: FeatureMatrix, labels: npt.NDArray[np.int64], k: int) -> list[PersonaProfile]:
    """A name and a one-line description per cluster from its most distinctive features."""
    mean = matrix.values.mean(axis=0)
    std = matrix.values.std(axis=0)
    buyer = matrix.values[:, 1] > 0  # frequency score 0 = never ordered
    profiles: list[PersonaProfile] = []
    for c in range(k):
        members = labels == c
        own = matrix.values[members].mean(axis=0)
        z = np.where(std > 0, (own - mean) / np.where(std > 0, std, 1.0), 0.0)
        buyers = matrix.values[members & buyer, :3]
        rfm = buyers.mean(axis=0) if buyers.size else np.zeros(3)
        share = float(buyers.shape[0] / max(int(members.sum()), 1))
        noun = _noun(share, rfm)
        name = _name(matrix.features, own, mean, z, noun)
        distinctive = _distinctive(matrix.features, z)
        phrases = [_buyer_phrase(share, rfm)] + [
            _phrase(matrix.features[i], own[i], mean[i]) for i in distinctive
        ]
        size = int(members.sum())
        text = f"{name}: {'; '.join(phrases)} ({size} users, {size / max(labels.size, 1):.0%})"
        profiles.append(
            PersonaProfile(
                name,
                text,
                size,
                motto=_motto(noun, [(matrix.features[i], float(z[i])) for i in distinctive]),
                traits=tuple(phrases),
                top_categories=_top(matrix.features, own, "category"),
                top_channels=_top(matrix.features, own, "channel"),
            )
        )
    return _unique_names(profiles)


def _top(features: tuple[Feature, ...], own: FloatArray, kind: str, n: int = TOP_LABELS) -> tuple[str, ...]:
    """The labels of one kind of share column (categories, channel kinds) the cluster has most of."""
    shares = sorted(
        ((float(own[i]), f.label) for i, f in enumerate(features) if f.kind == kind),
        key=lambda t: (-t[0], t[1]),
    )
    return tuple(label for share, label in shares[:n] if share > 0)


MOTTOS = {  # what each kind of buyer would say of themselves
    "browsers": "I like to look around before I buy anything.",
    "big spenders": "When I like something, I buy it, and I come back for more.",
    "lapsed buyers": "I used to shop here more often.",
    "repeat buyers": "I know what I like and I keep coming back for it.",
    "shoppers": "I buy what I need when I need it.",
}


def _motto(noun: str, distinctive: list[tuple[Feature, float]]) -> str:
    """A one-line motto in the customer's voice: how they buy, then their strongest distinctive trait
    that can be said in words (``distinctive``: features with their z-scores, strongest first)."""
    said = (_motto_trait(feature, z) for feature, z in distinctive)
    return " ".join([MOTTOS[noun], next((s for s in said if s), "")]).strip()


def _motto_trait(feature: Feature, z: float) -> str:
    match feature.kind:
        case "category":
            return f"{feature.label} is where my money goes."
        case "channel":
            return f"I order through {feature.label} channels."
        case "night":
            return "I shop late at night."
        case "work":
            return "I shop during the working day."
        case "activity":
            return "I look at a lot of products first." if z > 0 else "I don't spend long looking."
        case _:
            return ""


def _distinctive(features: tuple[Feature, ...], z: FloatArray) -> list[int]:
    """Columns (not RFM) furthest from the population, highs first; time of day only when high."""
    scored = [
        (abs(float(z[i])), i)
        for i, f in enumerate(features)
        if f.kind != "rfm" and (z[i] >= PHRASE_Z or (z[i] <= -PHRASE_Z and f.kind == "activity"))
    ]
    return [i for _, i in sorted(scored, key=lambda t: -t[0])[:MAX_PHRASES]]


def _name(features: tuple[Feature, ...], own: FloatArray, mean: FloatArray, z: FloatArray, noun: str) -> str:
    """'<time of day> <strongest other trait> <buyer noun>', each part only when the cluster stands out."""
    parts: list[str] = []
    for i, f in enumerate(features):
        if f.kind == "night" and z[i] >= 1.0 and own[i] >= 2 * mean[i]:
            parts.append("night-time")
        elif f.kind == "work" and z[i] >= 1.0 and not parts:
            parts.append("office-hours")
    others = [i for i, f in enumerate(features) if f.kind not in ("rfm", "night", "work")]
    if others:
        best = max(others, key=lambda i: abs(float(z[i])))
        if abs(z[best]) >= NAME_Z and (z[best] > 0 or features[best].kind == "activity"):
            parts.append(_trait(features[best], float(z[best])))
    text = " ".join([*parts, noun])
    return text[0].upper() + text[1:]


def _trait(feature: Feature, z: float) -> str:
    """The word a distinctive feature adds to a persona name."""
    match feature.kind:
        case "category":
            return feature.label.lower()
        case "channel":
            return f"{feature.label}-channel"
        case "activity":
            return "highly engaged" if z > 0 else "low-engagement"
        case _:
            return f"{feature.label}-tagged"


def _noun(buyer_share: float, rfm: FloatArray) -> str:
    """Who they are as buyers, from the share who ordered and the buyers' mean R, F, M scores."""
    r, f, m = (float(v) for v in rfm)
    if buyer_share < 0.5:
        return "browsers"
    if m >= 3.8 and f >= 3.5:
        return "big spenders"
    if r <= 2.0:
        return "lapsed buyers"
    if f >= 3.5:
        return "repeat buyers"
    return "shoppers"


def _buyer_phrase(buyer_share: float, rfm: FloatArray) -> str:
    """Every description opens with how much the persona buys, the first thing marketers ask."""
    if buyer_share == 0:
        return "never ordered"
    r, f, m = (float(v) for v in rfm)
    return f"{buyer_share:.0%} have ordered (their mean R/F/M scores {r:.1f}/{f:.1f}/{m:.1f})"


def _phrase(feature: Feature, own: float, mean: float) -> str:
    """One feature of the cluster against the population, in plain units."""
    ratio = f"{own / mean:.1f}{TIMES}" if mean > 0 else "far"
    hours = f"{NIGHT_HOURS[0]:02d}:00-{(NIGHT_HOURS[-1] + 1) % 24:02d}:00"
    match feature.kind:
        case "night":
            return f"{ratio} more night activity ({own:.0%} of events at {hours})"
        case "work":
            return f"{ratio} more activity in work hours ({own:.0%} of events)"
        case "category":
            return f"{own:.0%} of spend on {feature.label} ({ratio} the average)"
        case "channel":
            return f"{own:.0%} of orders through {feature.label} channels ({ratio} the average)"
        case "activity":
            return f"typically {np.expm1(own):.0f} product events vs {np.expm1(mean):.0f} overall"
        case _:
            return f"{own:.1f} {feature.label} tags per user vs {mean:.1f} overall"


def _unique_names(profiles: list[PersonaProfile]) -> list[PersonaProfile]:
    """Number repeated names ('Shoppers', 'Shoppers 2'), so every persona can be told apart."""
    seen: dict[str, int] = {}
    out: list[PersonaProfile] = []
    for p in profiles:
        seen[p.name] = seen.get(p.name, 0) + 1
        if seen[p.name] == 1:
            out.append(p)
        else:
            name = f"{p.name} {seen[p.name]}"
            out.append(replace(p, name=name, description=name + p.description[len(p.name) :]))
    return out


# --- identity across runs -----------------------------------------------------------------------


@dataclass(frozen=True)
class KnownCentroid:
    """A previous persona's centroid: raw feature means keyed by Feature.key (empty when never kept)."""

    persona_id: str
    values: dict[str, float]


@dataclass(frozen=True)
class CentroidMatch:
    """Which previous persona (index into the list given) a cluster continues, and how far it moved."""

    previous: int
    distance: float


def centroids(matrix: FeatureMatrix, labels: npt.NDArray[np.int64], k: int) -> FloatArray:
    """Raw feature means per cluster (k x features), what a persona keeps to be recognised next run."""
    sums = np.zeros((k, matrix.values.shape[1]))
    np.add.at(sums, labels, matrix.values)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    means: FloatArray = sums / np.maximum(counts, 1.0)[:, None]
    return means


def match_centroids(
    previous: list[KnownCentroid],
    matrix: FeatureMatrix,
    current: FloatArray,
    *,
    max_distance: float = MATCH_DISTANCE,
) -> dict[int, CentroidMatch]:
    """Pair this run's clusters with previous personas: Hungarian matching on centroid distance.

    Distances are taken in this run's space (columns standardised, each block weighing the same, as the
    clustering sees them) over the feature keys both runs have and that vary now. A pair further apart
    than ``max_distance`` is no match, so a cluster is new and a previous persona retires. With
    ``MATCH_DISTANCE`` = 1 a persona may move one population standard deviation in one block.
    """
    keys = [f.key for f in matrix.features]
    std = matrix.values.std(axis=0)
    scale = np.where(std > 0, std, 1.0) * _block_root_widths(matrix.features)
    mean = matrix.values.mean(axis=0)
    usable = [p for p in previous if p.values]
    shared = [i for i, key in enumerate(keys) if std[i] > 0 and all(key in p.values for p in usable)]
    if not usable or not shared or current.shape[0] == 0:
        return {}
    cols = np.asarray(shared)
    now = (current[:, cols] - mean[cols]) / scale[cols]
    before = np.asarray([[p.values[keys[i]] for i in shared] for p in usable], dtype=np.float64)
    before = (before - mean[cols]) / scale[cols]
    distance = np.sqrt(((before[:, None, :] - now[None, :, :]) ** 2).sum(axis=2))  # previous x current
    rows, columns = linear_sum_assignment(distance)
    index = {id(p): i for i, p in enumerate(previous)}
    return {
        int(c): CentroidMatch(index[id(usable[r])], round(float(distance[r, c]), 4))
        for r, c in zip(rows.tolist(), columns.tolist(), strict=True)
        if distance[r, c] <= max_distance
    }


# --- a persona run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonaSummary:
    """One persona of a run: ``new`` (first found now) or ``kept`` (the same cluster as a persona of the
    previous run, so the same id; its name may have changed, and its centroid moved by ``distance``)."""

    persona_id: str
    name: str
    description: str
    size: int
    status: Literal["new", "kept"] = "new"
    previous_name: str | None = None
    distance: float | None = None
    first_run_id: str | None = None  # the run that first found it


@dataclass(frozen=True)
class RetiredPersona:
    """A persona of the previous run not found again: its id is recorded and never given to a new cluster."""

    persona_id: str
    name: str
    size: int  # members in the last run that had it


@dataclass(frozen=True)
class PersonaReport:
    """What a persona run wrote: the chosen k, the silhouette of each k tried, the personas (new or kept)
    and the previous run's personas it retired."""

    run_id: str
    users: int
    k: int
    silhouettes: dict[int, float]
    personas: list[PersonaSummary]
    retired: list[RetiredPersona] = field(default_factory=list)

    @property
    def sizes(self) -> dict[str, int]:
        """Members per persona id, for quick checks and run counts."""
        return {p.persona_id: p.size for p in self.personas}

    @property
    def new(self) -> list[str]:
        """Ids of the personas first found in this run."""
        return [p.persona_id for p in self.personas if p.status == "new"]


def run_personas(
    store: GraphStore,
    *,
    k: int | None = None,
    sample: int = 20000,
    batch_size: int = 5000,
    match_distance: float = MATCH_DISTANCE,
) -> PersonaReport:
    """Cluster users into personas (k by silhouette unless given), name them, and link every user.

    A cluster whose centroid is within ``match_distance`` of a persona of the previous run (Hungarian
    matching, :func:`graph.analytics.personas.match_centroids`) keeps that persona's id; the others get
    ids never used before, and the previous personas left unmatched are retired (RetiredPersona nodes).
    """
    params = {"k": k, "sample": sample, "matchDistance": match_distance}
    with analytics_run(store, "personas", params) as run:
        with run.phase("projection"):
            orders = project_user_orders(store)
            inputs = project_persona_inputs(store, orders.ids)
        run.input_sizes["users"] = orders.size
        with run.phase("compute"):
            rfm = rfm_scores(orders)
            matrix = feature_matrix(np.column_stack([rfm.r, rfm.f, rfm.m]), inputs)
            clustering = cluster(weighted_standardised(matrix), k=k, sample=sample)
            profiles = describe(matrix, clustering.labels, clustering.k)
            means = centroids(matrix, clustering.labels, clustering.k)
        with run.phase("match"):
            previous = store.read("analytics/read/previous_personas")
            known = [
                KnownCentroid(
                    r["personaId"], dict(zip(r["features"] or [], r["centroid"] or [], strict=True))
                )
                for r in previous
            ]
            matches = match_centroids(known, matrix, means, max_distance=match_distance)
            used = store.read("analytics/read/persona_ids_used")[0]["ids"]
            personas, retired = _identify(profiles, matches, previous, used, run.run_id)
        with run.phase("write"):
            _write_personas(
                store,
                run,
                orders,
                clustering.labels,
                list(zip(personas, profiles, strict=True)),
                means,
                matrix,
                previous,
                retired,
                batch_size,
            )
        run.counts.update(
            {"k": clustering.k, "new": sum(p.status == "new" for p in personas), "retired": len(retired)}
        )
        run.counts.update({p.persona_id: p.size for p in personas})
        for p in personas:
            log.info("%s %s: %s (%d users)", p.persona_id, p.status, p.name, p.size)
        for gone in retired:
            log.info("%s retired: %s", gone.persona_id, gone.name)
        return PersonaReport(
            run_id=run.run_id,
            users=orders.size,
            k=clustering.k,
            silhouettes={c: round(s, 4) for c, s in clustering.silhouettes.items()},
            personas=personas,
            retired=retired,
        )


def _identify(
    profiles: list[PersonaProfile],
    matches: dict[int, CentroidMatch],
    previous: list[Record],
    used: list[str],
    run_id: str,
) -> tuple[list[PersonaSummary], list[RetiredPersona]]:
    """Matched clusters keep their persona's id; new ones take the next never-used number, largest first."""
    numbers = [int(m.group(1)) for u in used if (m := PERSONA_ID.fullmatch(u))]
    next_number = max(numbers, default=0) + 1
    personas: list[PersonaSummary] = []
    for c, profile in enumerate(profiles):  # clusters are numbered by size
        found = matches.get(c)
        if found is None:
            personas.append(
                PersonaSummary(
                    f"persona-{next_number}",
                    profile.name,
                    profile.description,
                    profile.size,
                    first_run_id=run_id,
                )
            )
            next_number += 1
            continue
        before = previous[found.previous]
        personas.append(
            PersonaSummary(
                before["personaId"],
                profile.name,
                profile.description,
                profile.size,
                status="kept",
                previous_name=before["name"],
                distance=found.distance,
                first_run_id=before["firstRunId"] or before["runId"],
            )
        )
    matched = {m.previous for m in matches.values()}
    retired = [
        RetiredPersona(r["personaId"], r["name"], int(r["size"] or 0))
        for i, r in enumerate(previous)
        if i not in matched
    ]
    return personas, retired


def _write_personas(
    store: GraphStore,
    run: AnalyticsRun,
    orders: UserOrders,
    labels: npt.NDArray[np.int64],
    personas: list[tuple[PersonaSummary, PersonaProfile]],
    means: npt.NDArray[np.float64],
    matrix: FeatureMatrix,
    previous: list[Record],
    retired: list[RetiredPersona],
    batch_size: int,
) -> None:
    """Create this run's personas (with centroids and cards), relink every user, retire the personas not
    found again, then drop the persona nodes of earlier runs."""
    store.write(
        "analytics/write/create_personas",
        rows=[
            {
                "personaId": p.persona_id,
                "name": p.name,
                "description": p.description,
                "size": p.size,
                "firstRunId": p.first_run_id,
                "centroid": [round(v, 9) for v in means[i].tolist()],
                "motto": card.motto,
                "traits": list(card.traits),
                "topCategories": list(card.top_categories),
                "topChannels": list(card.top_channels),
            }
            for i, (p, card) in enumerate(personas)
        ],
        features=[f.key for f in matrix.features],
        **run.stamp,
    )
    ids = [p.persona_id for p, _ in personas]
    rows = (
        {"id": user, "personaId": ids[label]}
        for user, label in zip(orders.ids.tolist(), labels.tolist(), strict=True)
    )
    store.write_batches("analytics/write/assign_user_personas", rows, batch_size=batch_size, runId=run.run_id)
    gone = {r.persona_id for r in retired}
    store.write(
        "analytics/write/retire_personas",
        rows=[
            {
                "personaId": r["personaId"],
                "name": r["name"],
                "description": r["description"],
                "size": r["size"],
                "lastRunId": r["runId"],
            }
            for r in previous
            if r["personaId"] in gone
        ],
        **run.stamp,
    )
    store.write("analytics/write/delete_old_personas", runId=run.run_id)
