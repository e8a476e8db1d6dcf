"""Look-alikes: rank users by what they share with seed users (tags, categories, community, ties)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from personagraph.graph.errors import NotFoundError
from personagraph.graph.paging import check_first
from personagraph.graph.store import GraphStore


class Lookalike(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    score: float
    reasons: list[str]  # the strongest shared features, strongest first


def lookalikes(
    store: GraphStore, *, seed_user_ids: Sequence[str], first: int = 20, max_categories: int = 5
) -> list[Lookalike]:
    """Top ``first`` (1..100) users most like the seeds (seeds themselves excluded), with the reasons."""
    return ranked(store, seed_user_ids=seed_user_ids, first=check_first(first), max_categories=max_categories)


def ranked(
    store: GraphStore, *, seed_user_ids: Sequence[str], first: int, max_categories: int = 5
) -> list[Lookalike]:
    """``lookalikes`` without the page cap, for callers that widen their own search (``first`` >= 1)."""
    seeds = sorted(set(seed_user_ids))
    if not seeds:
        raise NotFoundError("no seed users given")
    users = store.read("profiles/read/count_users")[0]["users"]
    records = store.read(
        "analytics/read/lookalike_scores",
        seedIds=seeds,
        users=max(users, 1),
        first=first,
        maxCategories=max_categories,
    )
    return [Lookalike(user_id=r["userId"], score=r["score"], reasons=r["reasons"]) for r in records]
