"""The demo graph: a generated shop (seeded, so ids are stable), loaded, analysed and tagged.

`persona demo` serves it; docs/queries.md's examples name its users, products and tags, and a test
runs every example against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from personagraph.graph.store import GraphStore
from personagraph.graph.tags.engine import refresh_tags
from personagraph.graph.tags.rules.churn_risk import ChurnRisk
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import FileReport, LoadOptions, load_dataset

DEMO_USERS = 1000
DEMO_SEED = 42
ANALYSES = ("influence", "communities", "copurchase", "segments", "personas", "attribution", "predictions")
GDS_ANALYSES = ("influence", "communities", "copurchase")  # what --engine gds computes in Graph Data Science


@dataclass(frozen=True)
class DemoReport:
    files: list[FileReport]
    analyses: dict[str, object]
    tagged_users: int


def run_analysis(
    store: GraphStore,
    name: str,
    *,
    shared: dict[str, Any] | None = None,
    reach: bool = True,
    as_of: datetime | None = None,
    engine: str = "python",
) -> object:
    """One analysis by name; imports stay lazy so `persona --help` is fast.

    ``shared`` keeps projections between analyses of one invocation: influence and communities read
    the social graph once between them. ``as_of`` is the segments' reference time (default: the
    graph's data time, as for rule tags). ``engine`` "gds" runs influence, communities and the product
    communities of copurchase in Graph Data Science inside Neo4j (the others always compute in Python).
    """
    if engine == "gds" and name in GDS_ANALYSES:
        return run_gds_analysis(store, name, reach=reach)
    if name in ("influence", "communities"):
        from personagraph.graph.analytics.influence import run_influence
        from personagraph.graph.analytics.social_communities import run_social_communities
        from personagraph.graph.analytics.social_projection import project_social

        projection = None
        if shared is not None:
            projection = shared.get("social") or shared.setdefault("social", project_social(store))
        if name == "influence":
            return run_influence(store, reach=reach, projection=projection)
        return run_social_communities(store, projection=projection)
    if name == "copurchase":
        from personagraph.graph.analytics.copurchase import run_copurchase

        return run_copurchase(store)
    if name == "segments":
        from personagraph.graph.analytics.segments import run_segments

        return run_segments(store, as_of=as_of)
    if name == "personas":
        from personagraph.graph.analytics.personas import run_personas

        return run_personas(store)
    if name == "attribution":
        from personagraph.graph.analytics.attribution import run_attribution

        return run_attribution(store)
    if name == "predictions":
        from personagraph.graph.analytics.predictions import run_predictions

        rule = churn_rule()
        return run_predictions(store, rule_min_orders=rule.min_orders, rule_quiet_days=rule.quiet_days)
    raise ValueError(f"unknown analysis {name!r}")


def run_gds_analysis(store: GraphStore, name: str, *, reach: bool = True) -> object:
    """One of GDS_ANALYSES with the GDS engine (GdsMemoryError when GDS's estimate would not fit)."""
    if name == "copurchase":
        from personagraph.graph.analytics.copurchase import run_copurchase

        return run_copurchase(store, engine="gds")
    from personagraph.graph.analytics.gds_social import run_influence_gds, run_social_communities_gds

    if name == "influence":
        return run_influence_gds(store, reach=reach)
    return run_social_communities_gds(store)


def churn_rule() -> ChurnRisk:
    """The churn_risk rule of rules/tags.yaml (its defaults when the file has none), which a prediction run
    compares its model with."""
    from personagraph.graph.tags.rule_file import load_rules

    for rule in load_rules().rules:
        if isinstance(rule.params, ChurnRisk):
            return rule.params
    return ChurnRisk()


def build_demo(
    store: GraphStore,
    workdir: Path,
    *,
    options: LoadOptions | None = None,
    step: Callable[[str], None] = lambda _: None,
    loaded: Callable[[list[FileReport]], None] = lambda _: None,
) -> DemoReport:
    """Generate (once per folder), load, analyse and tag the demo shop; safe to run again. ``step`` hears
    of each step as it starts, ``loaded`` gets the load's reports as soon as the files are in."""
    data = workdir / "data"
    if not (data / "ties.csv").exists():
        step(f"generating {DEMO_USERS:,} users (seed {DEMO_SEED})")
        generate(data, users=DEMO_USERS, seed=DEMO_SEED)
    step("loading")
    options = options or LoadOptions(rejects_dir=workdir / "rejects")
    files = load_dataset(store, data, options=options)
    if (data / "surveys").is_dir():  # the planted survey answers (docs/surveys.md), once their users are in
        files += load_dataset(store, data / "surveys", options=options)
    loaded(files)
    analyses: dict[str, object] = {}
    shared: dict[str, Any] = {}
    for name in ANALYSES:
        step(f"analysing: {name}")
        analyses[name] = run_analysis(store, name, shared=shared)
    step("refreshing rule tags (as of the latest order or event, as the lifecycle tiers)")
    tags = refresh_tags(store)
    return DemoReport(files, analyses, tags.users)
