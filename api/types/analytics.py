"""Analytics results: communities, personas, influence, RFM, channel attribution and the runs that
computed them; ``shown`` gives fixed aggregates as the caller's role may see them."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from personagraph.api.context import Context
from personagraph.api.policy import ADMIN
from personagraph.api.types.records import from_record
from personagraph.graph.analytics import insights
from personagraph.graph.analytics.attribution import ChannelStats as ChannelStatsResult

Ctx = Info[Context, None]


@strawberry.enum(description="Community kinds: social (who knows whom) or product (what sells together).")
class CommunityKind(Enum):
    SOCIAL = "social"
    PRODUCT = "product"


@strawberry.type(description="PageRank influence on the social graph, from the run that computed it.")
class Influence:
    score: float
    rank: int | None
    degree: int | None
    reach2: int | None = strawberry.field(description="Users within two hops.")
    run_id: str | None
    computed_at: datetime | None


@strawberry.type(
    description="Predicted churn and spend over the next horizonDays, from the prediction run that scored "
    "the user; the run's held-out metrics are on AnalyticsRun.metrics (docs/predictions.md)."
)
class Prediction:
    churn_probability: float = strawberry.field(
        description="Probability (0-1, calibrated) of no order in the next horizonDays."
    )
    expected_spend: float | None = strawberry.field(
        description="Expected amount spent in the next horizonDays, in the data's currency."
    )
    horizon_days: float | None
    model_id: str | None
    trained_at: datetime | None
    run_id: str | None


@strawberry.type(description="Recency, frequency and monetary quintiles (1-5) and their code, e.g. '545'.")
class Rfm:
    recency: int | None
    frequency: int | None
    monetary: int | None
    score: str | None
    run_id: str | None
    computed_at: datetime | None


def shown(info: Ctx, n: int, *asked: str) -> int | None:
    """A fixed aggregate (a tag's or a community's head count) as the caller may see it: exact for
    admins; for other roles the deployment's floor, noise and rounding (graph/privacy/k_anonymity.py),
    with the noise keyed by which count it is and its true value (a new value is a new question; the
    same one gives the same answer). Not charged to the count budget: the caller cannot reword the
    question."""
    return info.context.disclosure.shown(n, *asked, str(n), exact=info.context.role == ADMIN)


def _community_size(root: Community, info: Ctx) -> int | None:
    return shown(info, root.found.size, "community", root.found.community_id, "size")


def _community_top_city(root: Community, info: Ctx) -> str | None:
    if info.context.role != ADMIN and (
        root.found.size < info.context.disclosure.k or _community_size(root, info) is None
    ):
        return None  # the city of a handful of people says where they live
    return root.found.top_city


@strawberry.type(
    description="A social or product community with a summary of its members; for roles below admin "
    "`size` is rounded with a little noise, and it and `topCity` are null under the k-anonymity floor."
)
class Community:
    community_id: strawberry.ID
    kind: str
    size: int | None = strawberry.field(resolver=_community_size)
    top_city: str | None = strawberry.field(resolver=_community_top_city)
    top_tags: list[str]
    top_categories: list[str]
    run_id: str | None
    computed_at: datetime | None
    found: strawberry.Private[insights.CommunityInfo]

    @staticmethod
    def of(c: insights.CommunityInfo) -> Community:
        return from_record(
            Community, c, top_tags=list(c.top_tags), top_categories=list(c.top_categories), found=c
        )


@strawberry.type(description="A customer persona: a cluster with a generated name and description.")
class Persona:
    persona_id: strawberry.ID
    name: str
    description: str
    size: int
    run_id: str | None
    computed_at: datetime | None
    motto: str | None = strawberry.field(description="What a member would say, in their own voice.")
    traits: list[str] = strawberry.field(description="What sets the persona apart, strongest first.")
    top_categories: list[str] = strawberry.field(description="Categories with most of its spend.")
    top_channels: list[str] = strawberry.field(description="Channel kinds with most of its orders.")

    @staticmethod
    def of(p: insights.PersonaInfo) -> Persona:
        return from_record(Persona, p)


@strawberry.type(description="Attribution of one channel: acquisition, conversion and revenue credit.")
class ChannelStats:
    channel_id: strawberry.ID
    kind: str | None
    acquired_users: int
    buyers: int
    conversion_rate: float
    revenue: float
    first_touch_revenue: float
    last_touch_revenue: float
    referral_revenue: float
    run_id: str | None
    computed_at: datetime | None

    @staticmethod
    def of(s: ChannelStatsResult) -> ChannelStats:
        return from_record(ChannelStats, s)


@strawberry.type(description="One analytics run: what it was given, how long each step took, what it wrote.")
class AnalyticsRun:
    run_id: strawberry.ID
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    seconds: float | None
    parameters: JSON
    input_sizes: JSON
    timings: JSON
    counts: JSON
    metrics: JSON = strawberry.field(
        description="Held-out metrics of a run that trains a model (predictions: AUC, Brier, calibration "
        "error, MAE, beside the RFM-only model and the churn-risk rule tag); {} for other runs."
    )
    error: str | None

    @staticmethod
    def of(r: insights.RunInfo) -> AnalyticsRun:
        return from_record(AnalyticsRun, r)
