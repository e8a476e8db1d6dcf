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
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import FileReport, LoadOptions, load_dataset

DEMO_USERS = 1000
DEMO_SEED = 42
ANALYSES = ("influence", "communities", "copurchase", "segments", "personas", "attribution")


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
) -> object:
    """One analysis by name; imports stay lazy so `persona --help` is fast.

    ``shared`` keeps projections between analyses of one invocation: influence and communities read
    the social graph once between them. ``as_of`` is the segments' reference time (default: the
    graph's data time, as for rule tags).
    """
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
    raise ValueError(f"unknown analysis {name!r}")


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
    files = load_dataset(store, data, options=options or LoadOptions(rejects_dir=workdir / "rejects"))
    loaded(files)
    analyses: dict[str, object] = {}
    shared: dict[str, Any] = {}
    for name in ANALYSES:
        step(f"analysing: {name}")
        analyses[name] = run_analysis(store, name, shared=shared)
    step("refreshing rule tags (as of the latest order or event, as the lifecycle tiers)")
    tags = refresh_tags(store)
    return DemoReport(files, analyses, tags.users)
