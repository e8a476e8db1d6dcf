"""GraphQL output types. Each wraps one typed graph/ result; nested fields load through DataLoaders."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from personagraph.api.context import Context
from personagraph.api.enums import ConsentPurpose, TagTier
from personagraph.api.policy import ADMIN
from personagraph.api.selection import tree_of_info
from personagraph.graph.analytics import insights
from personagraph.graph.analytics.attribution import ChannelStats as ChannelStatsResult
from personagraph.graph.analytics.lookalikes import lookalikes
from personagraph.graph.audit import AuditEntry
from personagraph.graph.kinds import TieList
from personagraph.graph.paging import Page, check_first
from personagraph.graph.privacy import consent
from personagraph.graph.products import read as products
from personagraph.graph.profiles import read as profiles
from personagraph.graph.tags import taxonomy

T = TypeVar("T")
Ctx = Info[Context, None]


@strawberry.enum(description="Community kinds: social (who knows whom) or product (what sells together).")
class CommunityKind(Enum):
    SOCIAL = "social"
    PRODUCT = "product"


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def page_info(cursors: list[str], has_next: bool, after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


# -- users --------------------------------------------------------------------------------------


@strawberry.type(description="A tag a user holds, with how and why it was assigned.")
class UserTag:
    tag_id: strawberry.ID
    name: str | None
    tier: str | None
    weight: float
    source: str = strawberry.field(description="manual, rule or model.")
    rule_id: str | None
    assigned_at: datetime | None
    expires_at: datetime | None
    evidence: list[str] = strawberry.field(description="The events or orders that made a rule tag true.")

    @staticmethod
    def of(tag: profiles.UserTag) -> UserTag:
        return UserTag(
            tag_id=strawberry.ID(tag.tag_id),
            name=tag.name,
            tier=tag.tier,
            weight=tag.weight,
            source=tag.source,
            rule_id=tag.rule_id,
            assigned_at=tag.assigned_at,
            expires_at=tag.expires_at,
            evidence=list(tag.evidence),
        )


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


@strawberry.type(description="PageRank influence on the social graph, from the run that computed it.")
class Influence:
    score: float
    rank: int | None
    degree: int | None
    reach2: int | None = strawberry.field(description="Users within two hops.")
    run_id: str | None
    computed_at: datetime | None


@strawberry.type(description="Recency, frequency and monetary quintiles (1-5) and their code, e.g. '545'.")
class Rfm:
    recency: int | None
    frequency: int | None
    monetary: int | None
    score: str | None
    run_id: str | None
    computed_at: datetime | None


@strawberry.type
class OrderLine:
    sku: strawberry.ID
    name: str | None
    quantity: int
    unit_price: float | None

    @strawberry.field(description="The product, with brand and category.")
    async def product(self, info: Ctx) -> Product | None:
        found = await info.context.products().load(str(self.sku))
        return Product.of(found) if found else None


@strawberry.type
class Order:
    order_id: strawberry.ID
    ordered_at: datetime
    channel_id: str | None
    total: float = strawberry.field(
        description="Sum of quantity x unit price over the lines (a line without a unit price at the "
        "product's list price), exact to the cent."
    )
    lines: list[OrderLine]

    @staticmethod
    def of(order: profiles.OrderSummary) -> Order:
        return Order(
            order_id=strawberry.ID(order.order_id),
            ordered_at=order.ordered_at,
            channel_id=order.channel_id,
            total=float(order.total),  # a Decimal to the cent: the nearest double
            lines=[
                OrderLine(sku=strawberry.ID(x.sku), name=x.name, quantity=x.quantity, unit_price=x.unit_price)
                for x in order.lines
            ],
        )


@strawberry.type
class OrderEdge:
    cursor: str
    node: Order


@strawberry.type(description="A user's orders, newest first.")
class OrderConnection:
    edges: list[OrderEdge]
    page_info: PageInfo
    total_count: int


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
        found = await info.context.users().load(str(self.user_id))
        return User.of(found) if found else None


@strawberry.type(description="Who did what, when, to how many users' data (no personal data).")
class AuditLogEntry:
    at: str
    actor: str
    role: str
    action: str
    what: str
    rows: int
    details: JSON

    @staticmethod
    def of(e: AuditEntry) -> AuditLogEntry:
        return AuditLogEntry(
            at=e.at,
            actor=e.actor,
            role=e.role,
            action=e.action,
            what=e.what,
            rows=e.rows,
            details=cast(JSON, e.details),
        )


@strawberry.type(description="One consent statement: granted or withdrawn, when, through what.")
class ConsentChange:
    user_id: strawberry.ID
    purpose: ConsentPurpose
    granted: bool
    at: datetime
    source: str
    applied: bool = strawberry.field(
        description="False when older than the statement that set the flag: recorded, but the newer one "
        "stands."
    )

    @staticmethod
    def of(c: consent.ConsentChange) -> ConsentChange:
        return ConsentChange(
            user_id=strawberry.ID(c.user_id),
            purpose=ConsentPurpose(c.purpose),
            granted=c.granted,
            at=c.at,
            source=c.source,
            applied=c.applied,
        )


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
        description="The user's social community; null when the user's group has fewer than 3 members "
        "(the communities run's `min_size`; a user without social ties is a group of one) and before any "
        "communities run."
    )
    async def community(self, info: Ctx) -> Community | None:
        if not self.profile.social_community:
            return None
        found = await info.context.communities().load(self.profile.social_community)
        return Community.of(found) if found else None

    @strawberry.field(description="The user's persona from the last persona run.")
    async def persona(self, info: Ctx) -> Persona | None:
        if not self.profile.persona:
            return None
        found = await info.context.personas().load(self.profile.persona)
        return Persona.of(found) if found else None

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

    @strawberry.field(description="Hashed identities linked to this user.")
    async def identities(self, info: Ctx) -> list[Identity]:
        found = await info.context.identities().load(self.profile.user_id)
        return [Identity(kind=i.kind, value=i.value) for i in found]

    @strawberry.field(description="Where the user was acquired and which channels they ordered through.")
    async def channels(self, info: Ctx) -> list[UserChannel]:
        found = await info.context.channels().load(self.profile.user_id)
        return [
            UserChannel(
                channel_id=strawberry.ID(c.channel_id),
                name=c.name,
                kind=c.kind,
                acquired=c.acquired,
                acquired_at=c.acquired_at,
                orders=c.orders,
            )
            for c in found
        ]

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
        page = await info.context.ties(kind.value, first, after).load(self.profile.user_id)
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
        description="Users within `depth` social hops (1-3), tags, channel and persona, to draw."
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


def direct_fields(info: Ctx) -> list[tuple[str, dict[str, Any]]]:
    """(name, arguments) of each field selected right under the one resolving, through fragments,
    with variables put in (api/selection.py ``direct_fields``, from the document's one tree).

    ``info.selected_fields`` would convert the whole selection tree below (every nested field,
    argument and directive, ~2 ms for a profile query) and gives a literal Int as its text, where
    look-ahead needs only this one level.
    """
    raw = info._raw_info  # strawberry's own Info keeps graphql-core's ResolveInfo here
    return tree_of_info(raw).direct_fields(raw.field_nodes, info.variable_values)


def _plain_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def page_arguments(args: dict[str, Any]) -> tuple[int, str | None] | None:
    """(first, after) when both are plain values (first given), else None."""
    first, after = _plain_int(args.get("first")), args.get("after")
    if first is not None and (after is None or isinstance(after, str)):
        return first, after
    return None


def prime_user_loaders(info: Ctx, user_ids: list[str]) -> None:
    """Start the per-user reads the selection will need alongside the users' own read.

    Without this, tags, ties and orders wait for the user row before they start: two round trips
    in sequence instead of one round of parallel reads. Only plain selections (no arguments, or
    literal/variable `first` and `after`) are primed; others load as usual when their field resolves.
    """
    ctx = info.context
    for name, args in direct_fields(info):
        paged = page_arguments(args)
        loader: Any = None
        if name == "tags" and not args:
            loader = ctx.tags(None, False)
        elif name == "identities":
            loader = ctx.identities()
        elif name == "channels":
            loader = ctx.channels()
        elif name in ("friends", "followers", "following") and paged:
            loader = ctx.ties(name, *paged)
        elif name == "orders" and paged:
            loader = ctx.orders(*paged)
        if loader is not None:
            for user_id in user_ids:
                loader.load(user_id)


def lookalike_list(found: Iterable[Any]) -> list[Lookalike]:
    return [
        Lookalike(user_id=strawberry.ID(x.user_id), score=x.score, reasons=list(x.reasons)) for x in found
    ]


# -- products -----------------------------------------------------------------------------------


@strawberry.type(description="A product with brand, category path and co-purchase community.")
class Product:
    info: strawberry.Private[products.ProductInfo]
    complete: strawberry.Private[bool]  # False: only products.PARTIAL_FIELDS were read
    prefetched: strawberry.Private[dict[int, list[products.ProductPair]]]  # boughtWith by `first`

    @staticmethod
    def of(info: products.ProductInfo, *, complete: bool = True) -> Product:
        return Product(info=info, complete=complete, prefetched={})

    @staticmethod
    def of_page(page: products.ProductPage, first: int) -> Product:
        return Product(info=page.product, complete=True, prefetched={first: page.pairs})

    async def _full(self, info: Ctx) -> products.ProductInfo:
        """The whole record: a partner product read with a pair carries only a few fields."""
        if self.complete:
            return self.info
        found = await info.context.products().load(self.info.sku)
        return found or self.info

    @strawberry.field
    def sku(self) -> strawberry.ID:
        return strawberry.ID(self.info.sku)

    @strawberry.field
    def name(self) -> str | None:
        return self.info.name

    @strawberry.field
    def price(self) -> float | None:
        return self.info.price

    @strawberry.field
    def currency(self) -> str | None:
        return self.info.currency

    @strawberry.field
    async def brand(self, info: Ctx) -> str | None:
        return (await self._full(info)).brand

    @strawberry.field(description="Category names from the root to the product's own category.")
    async def category_path(self, info: Ctx) -> list[str]:
        return list((await self._full(info)).category_path)

    @strawberry.field
    async def category_id(self, info: Ctx) -> str | None:
        return (await self._full(info)).category_id

    @strawberry.field(description="The product's co-purchase community.")
    async def community(self, info: Ctx) -> Community | None:
        community_id = (await self._full(info)).community_id
        if not community_id:
            return None
        found = await info.context.communities().load(community_id)
        return Community.of(found) if found else None

    @strawberry.field(description="Products bought in the same orders, strongest association (lift) first.")
    async def bought_with(self, info: Ctx, first: int = 10) -> list[BoughtWith]:
        pairs = self.prefetched.get(first)
        if pairs is None:
            check_first(first)
            page = await info.context.call(products.product_page, sku=self.info.sku, first=first)
            pairs = page.pairs if page else []
        return [BoughtWith.of(p) for p in pairs]


def bought_with_first(info: Ctx) -> int:
    """`first` of the one boughtWith selected under this field (0: none, or several to tell apart),
    so the product and its partners can be read in one round trip."""
    wanted = [args for name, args in direct_fields(info) if name == "boughtWith"]
    if len(wanted) != 1:
        return 0
    first = _plain_int(wanted[0].get("first", 10))
    return first if first is not None and 1 <= first <= products.MAX_FIRST else 0


@strawberry.type(description="A product bought together with another: count, support, confidence, lift.")
class BoughtWith:
    pair: strawberry.Private[products.ProductPair]
    count: int
    support: float
    confidence: float
    lift: float

    @staticmethod
    def of(p: products.ProductPair) -> BoughtWith:
        return BoughtWith(pair=p, count=p.count, support=p.support, confidence=p.confidence, lift=p.lift)

    @strawberry.field
    def product(self) -> Product:
        return Product.of(self.pair.product, complete=False)


@strawberry.type(description="One suggestion, with the reason it was made.")
class CrossSellItem:
    sku: strawberry.ID
    name: str | None
    score: float
    count: int
    lift: float
    confidence: float
    reason: str

    @strawberry.field
    async def product(self, info: Ctx) -> Product | None:
        found = await info.context.products().load(str(self.sku))
        return Product.of(found) if found else None


@strawberry.type(description="Cross-sell suggestions; `personalised` is false when history was not used.")
class CrossSell:
    personalised: bool
    based_on: list[strawberry.ID]
    items: list[CrossSellItem]
    reason: str | None = strawberry.field(
        default=None,
        description="Why `items` is empty (null when it is not): e.g. no order holds two or more "
        "different products, or co-purchase analysis has not run.",
    )

    @staticmethod
    def of(found: products.CrossSell) -> CrossSell:
        return CrossSell(
            personalised=found.personalised,
            reason=found.reason,
            based_on=[strawberry.ID(s) for s in found.based_on],
            items=[
                CrossSellItem(
                    sku=strawberry.ID(i.sku),
                    name=i.name,
                    score=i.score,
                    count=i.count,
                    lift=i.lift,
                    confidence=i.confidence,
                    reason=i.reason,
                )
                for i in found.items
            ],
        )


# -- insights -----------------------------------------------------------------------------------


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
        return Community(
            community_id=strawberry.ID(c.community_id),
            kind=c.kind,
            top_tags=list(c.top_tags),
            top_categories=list(c.top_categories),
            run_id=c.run_id,
            computed_at=c.computed_at,
            found=c,
        )


@strawberry.type(description="A customer persona: a cluster with a generated name and description.")
class Persona:
    persona_id: strawberry.ID
    name: str
    description: str
    size: int
    run_id: str | None
    computed_at: datetime | None

    @staticmethod
    def of(p: insights.PersonaInfo) -> Persona:
        return Persona(
            persona_id=strawberry.ID(p.persona_id),
            name=p.name,
            description=p.description,
            size=p.size,
            run_id=p.run_id,
            computed_at=p.computed_at,
        )


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
        return ChannelStats(
            channel_id=strawberry.ID(s.channel_id),
            kind=s.kind,
            acquired_users=s.acquired_users,
            buyers=s.buyers,
            conversion_rate=s.conversion_rate,
            revenue=s.revenue,
            first_touch_revenue=s.first_touch_revenue,
            last_touch_revenue=s.last_touch_revenue,
            referral_revenue=s.referral_revenue,
            run_id=s.run_id,
            computed_at=s.computed_at,
        )


def _tag_count(source: str) -> Callable[[Tag, Ctx], int | None]:
    def count(root: Tag, info: Ctx) -> int | None:
        return shown(info, getattr(root.usage, source), "tag", root.usage.tag_id, source)

    return count


@strawberry.type(
    description="A tag of the taxonomy with how many users hold it now, by source (for roles below "
    "admin each count is rounded with a little noise, and null under the k-anonymity floor)."
)
class Tag:
    tag_id: strawberry.ID
    name: str
    tier: str
    parent_id: str | None
    synonyms: list[str]
    description: str | None
    users: int | None = strawberry.field(resolver=_tag_count("users"))
    manual: int | None = strawberry.field(resolver=_tag_count("manual"))
    rule: int | None = strawberry.field(resolver=_tag_count("rule"))
    model: int | None = strawberry.field(resolver=_tag_count("model"))
    expired: int | None = strawberry.field(resolver=_tag_count("expired"))
    usage: strawberry.Private[taxonomy.TagUsage]

    @staticmethod
    def of(t: taxonomy.TagUsage) -> Tag:
        return Tag(
            tag_id=strawberry.ID(t.tag_id),
            name=t.name,
            tier=t.tier,
            parent_id=t.parent_id,
            synonyms=list(t.synonyms),
            description=t.description,
            usage=t,
        )


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
    error: str | None

    @staticmethod
    def of(r: insights.RunInfo) -> AnalyticsRun:
        return AnalyticsRun(
            run_id=strawberry.ID(r.run_id),
            kind=r.kind,
            status=r.status,
            started_at=r.started_at,
            finished_at=r.finished_at,
            seconds=r.seconds,
            parameters=cast(JSON, r.parameters),
            input_sizes=cast(JSON, r.input_sizes),
            timings=cast(JSON, r.timings),
            counts=cast(JSON, r.counts),
            error=r.error,
        )
