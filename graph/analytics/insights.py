"""Typed reads of what analytics wrote: communities, personas, influencers and the runs themselves.

The API shows these as they are stored; nothing here computes. Run details are stored as JSON
strings on ``(:AnalyticsRun)`` (see :mod:`graph.analytics.runs`) and are decoded here, so callers
get plain dicts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from personagraph.graph.errors import PersonaGraphError
from personagraph.graph.profiles.read import UserProfile
from personagraph.graph.store import GraphStore
from personagraph.graph.times import aware

log = logging.getLogger(__name__)

COMMUNITY_KINDS = ("social", "product")
MAX_FIRST = 500
Info = TypeVar("Info", "CommunityInfo", "PersonaInfo")


class InsightInputError(PersonaGraphError):
    """An insight read was asked for with arguments that cannot work."""


def _check_first(first: int) -> None:
    """Bound page sizes so one request cannot ask for every user."""
    if not 1 <= first <= MAX_FIRST:
        raise InsightInputError(f"first must be between 1 and {MAX_FIRST}, got {first}")


def _datetime(value: Any) -> datetime | None:
    """Neo4j temporal values as aware Python datetimes (a zoneless time is taken as UTC)."""
    return None if value is None else aware(value)


def _by_ids(
    store: GraphStore, statement: str, node: str, ids: Sequence[str], model: type[Info]
) -> dict[str, Info]:
    """Nodes by id in one read (for DataLoaders): input order, unknown ids left out.

    ``statement`` takes the distinct ids as ``$<node>Ids`` and returns each node found as ``<node>``,
    a map whose ``<node>Id`` is its id.
    """
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    records = store.read(statement, **{f"{node}Ids": wanted})
    found = {r[node][f"{node}Id"]: model.from_node(r[node]) for r in records}
    return {i: found[i] for i in wanted if i in found}


# --- communities ---------------------------------------------------------------------------------


class CommunityInfo(BaseModel):
    """A social (Leiden on user ties) or product (Leiden on co-purchase) community and its summary."""

    model_config = ConfigDict(frozen=True)

    community_id: str
    kind: str  # social | product
    size: int
    top_city: str | None = None  # social only
    top_tags: list[str] = []  # social only
    top_categories: list[str] = []  # categoryIds
    run_id: str | None = None
    computed_at: datetime | None = None

    @classmethod
    def from_node(cls, props: Mapping[str, Any]) -> CommunityInfo:
        return cls(
            community_id=props["communityId"],
            kind=props["kind"],
            size=int(props.get("size") or 0),
            top_city=props.get("topCity"),
            top_tags=list(props.get("topTags") or []),
            top_categories=list(props.get("topCategories") or []),
            run_id=props.get("runId"),
            computed_at=_datetime(props.get("computedAt")),
        )


def communities(store: GraphStore, *, kind: str = "social", first: int = 50) -> list[CommunityInfo]:
    """The ``first`` largest communities of ``kind`` (size desc, then id)."""
    if kind not in COMMUNITY_KINDS:
        raise InsightInputError(f"kind must be one of {', '.join(COMMUNITY_KINDS)}, got {kind!r}")
    _check_first(first)
    records = store.read("analytics/read/insight_communities", kind=kind, first=first)
    return [CommunityInfo.from_node(r["community"]) for r in records]


def get_communities(store: GraphStore, *, community_ids: Sequence[str]) -> dict[str, CommunityInfo]:
    """Communities by id in one read (for DataLoaders): input order, unknown ids left out."""
    statement = "analytics/read/insight_communities_by_id"
    return _by_ids(store, statement, "community", community_ids, CommunityInfo)


# --- personas ------------------------------------------------------------------------------------


class PersonaInfo(BaseModel):
    """A persona of the latest persona run: its generated name, description and card (motto, key traits,
    typical categories and channel kinds; empty on personas of runs made before cards existed)."""

    model_config = ConfigDict(frozen=True)

    persona_id: str
    name: str
    description: str
    size: int
    run_id: str | None = None
    computed_at: datetime | None = None
    motto: str | None = None
    traits: list[str] = []
    top_categories: list[str] = []
    top_channels: list[str] = []

    @classmethod
    def from_node(cls, props: Mapping[str, Any]) -> PersonaInfo:
        return cls(
            persona_id=props["personaId"],
            name=props.get("name") or props["personaId"],
            description=props.get("description") or "",
            size=int(props.get("size") or 0),
            run_id=props.get("runId"),
            computed_at=_datetime(props.get("computedAt")),
            motto=props.get("motto") or None,
            traits=list(props.get("traits") or []),
            top_categories=list(props.get("topCategories") or []),
            top_channels=list(props.get("topChannels") or []),
        )


def personas(store: GraphStore) -> list[PersonaInfo]:
    """The latest run's personas, largest first (a run in progress never mixes with the previous one)."""
    return [PersonaInfo.from_node(r["persona"]) for r in store.read("analytics/read/insight_personas")]


def get_personas(store: GraphStore, *, persona_ids: Sequence[str]) -> dict[str, PersonaInfo]:
    """Personas by id in one read (for DataLoaders): input order, unknown ids left out."""
    return _by_ids(store, "analytics/read/insight_personas_by_id", "persona", persona_ids, PersonaInfo)


# --- influencers ---------------------------------------------------------------------------------


def influencers(store: GraphStore, *, first: int = 20, community_id: str | None = None) -> list[UserProfile]:
    """Users by influence rank (1 first), overall or within one social community.

    Overall, the read walks the ``user_influence`` index in order and stops after ``first`` users;
    within a community it finds members through ``user_social_community``; neither scans all users.
    """
    _check_first(first)
    if community_id is None:
        records = store.read("analytics/read/insight_influencers", first=first)
    else:
        records = store.read(
            "analytics/read/insight_influencers_in_community", communityId=community_id, first=first
        )
    return [UserProfile.from_node(r["user"]) for r in records]


# --- analytics runs ------------------------------------------------------------------------------


class RunInfo(BaseModel):
    """One analytics run: what it was given, what it read, how long each phase took, what it wrote."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    kind: str
    status: str  # running | done | failed
    started_at: datetime
    finished_at: datetime | None = None
    seconds: float | None = None
    parameters: dict[str, Any] = {}
    input_sizes: dict[str, Any] = {}
    timings: dict[str, Any] = {}  # seconds per phase
    counts: dict[str, Any] = {}
    metrics: dict[str, Any] = {}  # held-out metrics of a run that trains a model (predictions), else {}
    error: str | None = None

    @classmethod
    def from_node(cls, props: Mapping[str, Any]) -> RunInfo:
        started = _datetime(props.get("startedAt"))
        if started is None:  # create_run always sets it
            raise PersonaGraphError(f"analytics run {props.get('runId')!r} has no startedAt")
        finished = _datetime(props.get("finishedAt"))
        return cls(
            run_id=props["runId"],
            kind=props["kind"],
            status=props.get("status") or "unknown",
            started_at=started,
            finished_at=finished,
            seconds=_seconds(started, finished, props.get("seconds")),
            parameters=_json_map(props, "parameters"),
            input_sizes=_json_map(props, "inputSizes"),
            timings=_json_map(props, "timings"),
            counts=_json_map(props, "counts"),
            metrics=_json_map(props, "metrics"),
            error=props.get("error"),
        )


def _seconds(started: datetime | None, finished: datetime | None, stored: Any) -> float | None:
    """From the two times (the stored ``seconds`` is whole seconds only), else what was stored."""
    if started is not None and finished is not None:
        return round((finished - started).total_seconds(), 3)
    return float(stored) if stored is not None else None


def _json_map(props: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Decode one JSON property; a missing (run still going) or unreadable one is {} so a listing
    of runs never fails because of one damaged node."""
    text = props.get(key)
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        log.warning("run %s: %s is not JSON: %.80r", props.get("runId"), key, text)
        return {}
    return value if isinstance(value, dict) else {"value": value}


def analytics_runs(store: GraphStore, *, first: int = 20, kind: str | None = None) -> list[RunInfo]:
    """The newest ``first`` runs, of every kind or of ``kind``."""
    _check_first(first)
    records = store.read("analytics/read/insight_runs", kind=kind, first=first)
    return [RunInfo.from_node(r["run"]) for r in records]


def get_run(store: GraphStore, *, run_id: str) -> RunInfo | None:
    """One run, or None when no run has that id."""
    records = store.read("analytics/read/insight_run", runId=run_id)
    return RunInfo.from_node(records[0]["run"]) if records else None
