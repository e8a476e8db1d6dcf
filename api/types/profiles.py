"""Profiles: a user with attributes, tags, analytics results, orders and social ties; connections
of users, neighbourhood drawings, look-alikes, and the look-ahead that primes a user's reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from personagraph.api.context import Context
from personagraph.api.enums import TagTier
from personagraph.api.selection import Field, tree_of_info
from personagraph.api.types.analytics import Community, Influence, Persona, Prediction, Rfm
from personagraph.api.types.look_ahead import arguments_with_defaults, fields_under, page_arguments
from personagraph.api.types.orders import Order, OrderConnection, OrderEdge
from personagraph.api.types.paging import PageInfo, page_info
from personagraph.api.types.privacy import ConsentChange
from personagraph.api.types.products import CrossSell
from personagraph.api.types.records import from_record, load_one
from personagraph.api.types.surveys import AnsweredSurvey
from personagraph.api.types.tags import UserTag
from personagraph.graph.analytics.lookalikes import lookalikes
from personagraph.graph.kinds import TieList
from personagraph.graph.paging import Page
from personagraph.graph.products import read as products
from personagraph.graph.profiles import read as profiles

Ctx = Info[Context, None]


@strawberry.type(
    description="An identity (email, phone, device, ...) as its keyed hash; never the raw value."
)
class Identity:
    kind: str
    value: str


@strawberry.type(description="A channel a user came from (acquired) or ordered through.")
class UserChannel:
    channel_id: strawberry.ID
    name: str | None
    kind: str | None
    acquired: bool
    acquired_at: datetime | None
    orders: int


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    total_count: int | None = strawberry.field(description="All items over all pages, where known.")


def user_connection(
    page: Page[profiles.UserProfile], after: str | None, cursor: Callable[[str], str]
) -> UserConnection:
    cursors = [cursor(p.user_id) for p in page.items]
    return UserConnection(
        edges=[UserEdge(cursor=c, node=User.of(p)) for c, p in zip(cursors, page.items, strict=True)],
        page_info=page_info(cursors, page.has_next, after),
        total_count=page.total,
    )


@strawberry.type(description="A node of a neighbourhood drawing; `id` is '<label>:<key>'.")
class GraphNode:
    id: strawberry.ID
    label: str
    key: str
    caption: str | None


@strawberry.type(description="A relationship of a neighbourhood drawing, between two GraphNode ids.")
class GraphEdge:
    source: strawberry.ID
    target: strawberry.ID
    type: str


@strawberry.type(description="A user's surroundings, ready to draw.")
class Neighborhood:
    center: strawberry.ID
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool = strawberry.field(description="True when the node limit cut the picture short.")


@strawberry.type(description="A user like the given ones, with what they share.")
class Lookalike:
    score: float
    reasons: list[str]
    user_id: strawberry.ID

    @strawberry.field
    async def user(self, info: Ctx) -> User | None:
        return await load_one(info.context.users(), str(self.user_id), User.of)


@strawberry.type(description="A customer: attributes, tags, analytics results and social ties.")
class User:
    profile: strawberry.Private[profiles.UserProfile]
    # Plain attributes, not resolvers: graphql-core reads them directly, which matters for pages of
    # users (a resolver per scalar per user costs more than the Cypher behind the page).
    id: strawberry.ID
    customer_id: str | None
    gender: str | None
    birth_year: int | None
    age_band: str | None
    occupation: str | None
    education: str | None
    income_band: str | None
    city: str | None
    region: str | None
    country: str | None
    marketing_consent: bool | None
    personalization_opt_out: bool | None

    @staticmethod
    def of(p: profiles.UserProfile) -> User:
        return User(
            profile=p,
            id=strawberry.ID(p.user_id),
            customer_id=p.customer_id,
            gender=p.gender,
            birth_year=p.birth_year,
            age_band=p.age_band,
            occupation=p.occupation,
            education=p.education,
            income_band=p.income_band,
            city=p.city,
            region=p.region,
            country=p.country,
            marketing_consent=p.marketing_consent,
            personalization_opt_out=p.personalization_opt_out,
        )

    @strawberry.field(description="Lifecycle tier from the last segment run (core, loyal, potential, ...).")
    def lifecycle(self) -> str | None:
        return self.profile.lifecycle

    @strawberry.field(description="RFM scores from the last segment run; null before any run.")
    def rfm(self) -> Rfm | None:
        p = self.profile
        if p.rfm_score is None and p.rfm_r is None:
            return None
        return Rfm(
            recency=p.rfm_r,
            frequency=p.rfm_f,
            monetary=p.rfm_m,
            score=p.rfm_score,
            run_id=p.segment_run_id,
            computed_at=p.segment_computed_at,
        )

    @strawberry.field(description="Influence from the last influence run; null before any run.")
    def influence(self) -> Influence | None:
        p = self.profile
        if p.influence is None:
            return None
        return Influence(
            score=p.influence,
            rank=p.influence_rank,
            degree=p.degree,
            reach2=p.reach2,
            run_id=p.influence_run_id,
            computed_at=p.influence_computed_at,
        )

    @strawberry.field(
        description="Predicted churn and spend from the last prediction run; null before any run."
    )
    def prediction(self) -> Prediction | None:
        p = self.profile
        if p.churn_probability is None:
            return None
        return Prediction(
            churn_probability=p.churn_probability,
            expected_spend=p.expected_spend,
            horizon_days=p.prediction_horizon_days,
            model_id=p.prediction_model_id,
            trained_at=p.prediction_trained_at,
            run_id=p.prediction_run_id,
        )

    @strawberry.field(
        description="The user's social community; null when the user's group has fewer than 3 members "
        "(the communities run's `min_size`; a user without social ties is a group of one) and before any "
        "communities run."
    )
    async def community(self, info: Ctx) -> Community | None:
        if not self.profile.social_community:
            return None
        return await load_one(info.context.communities(), self.profile.social_community, Community.of)

    @strawberry.field(description="The user's persona from the last persona run.")
    async def persona(self, info: Ctx) -> Persona | None:
        if not self.profile.persona:
            return None
        return await load_one(info.context.personas(), self.profile.persona, Persona.of)

    @strawberry.field(description="Tags held now (expired ones only when asked), strongest first.")
    async def tags(
        self, info: Ctx, tier: TagTier | None = None, include_expired: bool = False
    ) -> list[UserTag]:
        loader = info.context.tags(tier.value if tier else None, include_expired)
        return [UserTag.of(t) for t in await loader.load(self.profile.user_id)]

    @strawberry.field(description="Consent statements (setConsent, loads), newest first.")
    async def consent_history(self, info: Ctx) -> list[ConsentChange]:
        found = await info.context.consent_history().load(self.profile.user_id)
        return [ConsentChange.of(c) for c in found]

    @strawberry.field(
        description="Surveys the user answered, the most recently answered first, each with its answers "
        "(latest first); none when the user withdrew survey consent (purpose SURVEYS)."
    )
    async def surveys(self, info: Ctx, first: int = 10) -> list[AnsweredSurvey]:
        return [AnsweredSurvey.of(s) for s in await info.context.surveys(first).load(self.profile.user_id)]

    @strawberry.field(description="Hashed identities linked to this user.")
    async def identities(self, info: Ctx) -> list[Identity]:
        found = await info.context.identities().load(self.profile.user_id)
        return [from_record(Identity, i) for i in found]

    @strawberry.field(description="Where the user was acquired and which channels they ordered through.")
    async def channels(self, info: Ctx) -> list[UserChannel]:
        found = await info.context.channels().load(self.profile.user_id)
        return [from_record(UserChannel, c) for c in found]

    @strawberry.field(description="Orders, newest first.")
    async def orders(self, info: Ctx, first: int = 10, after: str | None = None) -> OrderConnection:
        page = await info.context.orders(first, after).load(self.profile.user_id)
        cursors = [profiles.order_cursor(o) for o in page.items]
        return OrderConnection(
            edges=[OrderEdge(cursor=c, node=Order.of(o)) for c, o in zip(cursors, page.items, strict=True)],
            page_info=page_info(cursors, page.has_next, after),
            total_count=page.total,
        )

    async def _ties(self, info: Ctx, kind: TieList, first: int, after: str | None) -> UserConnection:
        fields = profile_fields(f.name for f in fields_under(info, "edges", "node"))
        page = await info.context.ties(kind.value, first, after, fields).load(self.profile.user_id)
        return user_connection(page, after, lambda uid: profiles.tie_cursor(kind.value, uid))

    @strawberry.field(description="Friends (ties read both ways), by id.")
    async def friends(self, info: Ctx, first: int = 20, after: str | None = None) -> UserConnection:
        return await self._ties(info, TieList.FRIENDS, first, after)

    @strawberry.field(description="Users who follow this user, by id.")
    async def followers(self, info: Ctx, first: int = 20, after: str | None = None) -> UserConnection:
        return await self._ties(info, TieList.FOLLOWERS, first, after)

    @strawberry.field(description="Users this user follows, by id.")
    async def following(self, info: Ctx, first: int = 20, after: str | None = None) -> UserConnection:
        return await self._ties(info, TieList.FOLLOWING, first, after)

    @strawberry.field(
        description="Users within `depth` social hops (1-3) and the ties among them; the user's tags, "
        "channel, persona, community and most bought products; to draw."
    )
    async def neighborhood(self, info: Ctx, depth: int = 1, limit: int = 100) -> Neighborhood:
        found = await info.context.call(
            profiles.neighborhood, user_id=self.profile.user_id, depth=depth, limit=limit
        )
        if found is None:  # deleted between the look-up and this field
            return Neighborhood(
                center=strawberry.ID(f"User:{self.profile.user_id}"), nodes=[], edges=[], truncated=False
            )
        return Neighborhood(
            center=strawberry.ID(found.center),
            nodes=[
                GraphNode(id=strawberry.ID(n.id), label=n.label, key=n.key, caption=n.caption)
                for n in found.nodes
            ],
            edges=[
                GraphEdge(source=strawberry.ID(e.source), target=strawberry.ID(e.target), type=e.type)
                for e in found.edges
            ],
            truncated=found.truncated,
        )

    @strawberry.field(description="Products to suggest to this user (non-personalised if they opted out).")
    async def cross_sell(self, info: Ctx, first: int = 10) -> CrossSell:
        return CrossSell.of(
            await info.context.call(products.cross_sell, user_id=self.profile.user_id, first=first)
        )

    @strawberry.field(description="Users most like this one, with the reasons.")
    async def lookalikes(self, info: Ctx, first: int = 10) -> list[Lookalike]:
        found = await info.context.call(lookalikes, seed_user_ids=[self.profile.user_id], first=first)
        return lookalike_list(found)


# What each User field reads of the stored profile (UserProfile fields), so that a page of users reads
# only the properties it shows. A field not listed reads every property (the safe side for a new field);
# tests/test_api_profile_reads.py checks the listed ones against full reads.
USER_FIELD_READS: dict[str, tuple[str, ...]] = {
    "__typename": (),
    "id": (),
    "customerId": ("customer_id",),
    "gender": ("gender",),
    "birthYear": ("birth_year",),
    "ageBand": ("age_band",),
    "occupation": ("occupation",),
    "education": ("education",),
    "incomeBand": ("income_band",),
    "city": ("city",),
    "region": ("region",),
    "country": ("country",),
    "marketingConsent": ("marketing_consent",),
    "personalizationOptOut": ("personalization_opt_out",),
    "lifecycle": ("lifecycle",),
    "rfm": ("rfm_r", "rfm_f", "rfm_m", "rfm_score", "segment_run_id", "segment_computed_at"),
    "influence": (
        "influence",
        "influence_rank",
        "degree",
        "reach2",
        "influence_run_id",
        "influence_computed_at",
    ),
    "prediction": (
        "churn_probability",
        "expected_spend",
        "prediction_horizon_days",
        "prediction_model_id",
        "prediction_trained_at",
        "prediction_run_id",
    ),
    "community": ("social_community",),
    "persona": ("persona",),
    # Fields that read by the user's id alone.
    **{
        name: ()
        for name in (
            "tags",
            "consentHistory",
            "identities",
            "channels",
            "orders",
            "friends",
            "followers",
            "following",
            "neighborhood",
            "crossSell",
            "lookalikes",
            "surveys",  # the survey consent is read with the answers (surveys/read/user_surveys)
        )
    },
}


def profile_fields(names: Iterable[str]) -> tuple[str, ...] | None:
    """The UserProfile fields the User fields ``names`` read, sorted (None: all, for an unlisted field)."""
    wanted: set[str] = set()
    for name in names:
        reads = USER_FIELD_READS.get(name)
        if reads is None:
            return None
        wanted.update(reads)
    return tuple(sorted(wanted))


TIE_LISTS = frozenset(kind.value for kind in TieList)


def _one_page(
    fields: list[Field], names: frozenset[str], variables: dict[str, Any]
) -> tuple[Field, tuple[int, str | None]] | None:
    """The one paged field among ``names`` selected (however many times, under one response key) with
    plain page arguments, and its (first, after); None when there is none or several to tell apart."""
    chosen = [f for f in fields if f.name in names]
    if len({f.key for f in chosen}) != 1:
        return None
    pages = {page_arguments(arguments_with_defaults(f, variables)) for f in chosen}
    page = pages.pop() if len(pages) == 1 else None
    return None if page is None else (chosen[0], page)


async def read_users(info: Ctx, user_ids: list[str], *path: str) -> list[profiles.UserProfile | None]:
    """The profiles of ``user_ids`` (None for unknown ones), with the per-user reads the selection at
    ``path`` under the resolving field (the User selection) needs, in as few round trips as it allows.

    When the selection shows tags, a page of one tie list or a page of orders, the users and those parts
    are one statement (graph.profiles.read ``profile_bundles``) and the request's DataLoaders are primed
    with the answers, so the fields resolve from them; identities and channels start alongside. Anything
    else (other arguments, several pages to tell apart) loads as usual when its field resolves.
    """
    ctx, variables = info.context, info.variable_values
    fields = fields_under(info, *path)
    names = {f.name for f in fields}
    for name, loader in (("identities", ctx.identities), ("channels", ctx.channels)):
        if name in names:
            for user_id in user_ids:
                loader().load(user_id)
    tags = any(f.name == "tags" and not f.node.arguments for f in fields)
    tie_page = _one_page(fields, TIE_LISTS, variables)
    order_page = _one_page(fields, frozenset({"orders"}), variables)
    if not (tags or tie_page or order_page):
        return await ctx.users().load_many(user_ids)
    ties = orders = None
    tie_key = order_key = None
    if tie_page is not None:
        tie_field, page = tie_page
        same_key = [f for f in fields if f.key == tie_field.key]
        node_fields = tree_of_info(info._raw_info).fields_under([f.node for f in same_key], ("edges", "node"))
        tie_fields = profile_fields(f.name for f in node_fields)
        ties = profiles.TiesPart(tie_field.name, *page, fields=tie_fields)
        tie_key = (tie_field.name, *page, tie_fields)
    if order_page is not None:
        order_key = order_page[1]
        orders = profiles.OrdersPart(*order_key)
    unique = list(dict.fromkeys(user_ids))
    found = await ctx.call(profiles.profile_bundles, user_ids=unique, tags=tags, ties=ties, orders=orders)
    for user_id in unique:
        bundle = found.get(user_id)
        ctx.users().prime(user_id, bundle.profile if bundle else None)
        if bundle is None:
            continue
        if tags:
            ctx.tags(None, False).prime(user_id, bundle.tags or [])
        if tie_key is not None and bundle.ties is not None:
            ctx.ties(*tie_key).prime(user_id, bundle.ties)
        if order_key is not None and bundle.orders is not None:
            ctx.orders(*order_key).prime(user_id, bundle.orders)
    return [found[u].profile if u in found else None for u in user_ids]


def lookalike_list(found: Iterable[Any]) -> list[Lookalike]:
    return [
        Lookalike(user_id=strawberry.ID(x.user_id), score=x.score, reasons=list(x.reasons)) for x in found
    ]
