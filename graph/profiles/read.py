"""Read user profiles: typed results, never raw records.

The batched reads take many user ids and answer with one query, because the GraphQL API calls
them through DataLoaders: one round trip per field per request, not one per user. Dict results keep
the order of the ids asked for. Lists are keyset-paged (graph.paging), so a row inserted between
two page requests never shifts or repeats a page.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from neo4j.time import DateTime
from pydantic import BaseModel, ConfigDict

from personagraph.graph.kinds import TieList
from personagraph.graph.money import line_amount, money_sum
from personagraph.graph.paging import (
    InvalidPageError,
    Page,
    check_first,
    check_range,
    decode_cursor,
    decode_key,
    encode_cursor,
)
from personagraph.graph.store import GraphStore
from personagraph.graph.times import aware, utc, utc_or_now

T = TypeVar("T")

MAX_DEPTH = 3
MAX_NEIGHBORHOOD = 500
NEIGHBORHOOD_PRODUCTS = 10  # the centre's most bought products in its drawing
# Neighbour rows a ring may read when spread over its frontier: enough to rank a hub's few thousand
# friends exactly, small enough that a depth-3 walk through hubs stays a few tens of thousands of rows.
RING_BUDGET = 5000

_TIE_STATEMENTS: dict[str, str] = {
    TieList.FRIENDS: "profiles/read/profile_friends_page",
    TieList.FOLLOWERS: "profiles/read/profile_followers_page",
    TieList.FOLLOWING: "profiles/read/profile_following_page",
}


def _native(value: Any) -> Any:
    """Neo4j temporal values as aware Python datetimes (a zoneless one is taken as UTC)."""
    return aware(value) if isinstance(value, DateTime | datetime) else value


class UserProfile(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    gender: str | None = None
    birth_year: int | None = None
    age_band: str | None = None
    occupation: str | None = None
    education: str | None = None
    income_band: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    marketing_consent: bool | None = None
    personalization_opt_out: bool | None = None
    # Identity resolution and analytics write these back; absent until they have run.
    customer_id: str | None = None
    lifecycle: str | None = None
    persona: str | None = None  # persona id
    social_community: str | None = None
    rfm_r: int | None = None
    rfm_f: int | None = None
    rfm_m: int | None = None
    rfm_score: str | None = None
    segment_run_id: str | None = None
    segment_computed_at: datetime | None = None
    influence: float | None = None
    influence_rank: int | None = None
    degree: int | None = None
    reach2: int | None = None
    influence_run_id: str | None = None
    influence_computed_at: datetime | None = None
    churn_probability: float | None = None
    expected_spend: float | None = None
    prediction_horizon_days: float | None = None
    prediction_model_id: str | None = None
    prediction_trained_at: datetime | None = None
    prediction_run_id: str | None = None

    @classmethod
    def from_node(cls, props: Mapping[str, Any]) -> UserProfile:
        """From a User node's properties (``USER_PROPERTIES`` names them); userId is required. Only the
        properties present are looked at: a friend on a profile page is read with its id alone."""
        values = {
            name: _native(value)
            for prop, value in props.items()
            if value is not None and (name := _FIELD_OF_PROPERTY.get(prop)) is not None
        }
        values["user_id"] = props["userId"]
        return cls(**values)


# Each UserProfile field's node property; a page of users can read only the ones its caller shows.
USER_PROPERTIES: dict[str, str] = {
    "user_id": "userId",
    "gender": "gender",
    "birth_year": "birthYear",
    "age_band": "ageBand",
    "occupation": "occupation",
    "education": "education",
    "income_band": "incomeBand",
    "city": "city",
    "region": "region",
    "country": "country",
    "marketing_consent": "marketingConsent",
    "personalization_opt_out": "personalizationOptOut",
    "customer_id": "customerId",
    "lifecycle": "lifecycle",
    "persona": "persona",
    "social_community": "socialCommunity",
    "rfm_r": "rfmR",
    "rfm_f": "rfmF",
    "rfm_m": "rfmM",
    "rfm_score": "rfmScore",
    "segment_run_id": "segmentRunId",
    "segment_computed_at": "segmentComputedAt",
    "influence": "influence",
    "influence_rank": "influenceRank",
    "degree": "degree",
    "reach2": "reach2",
    "influence_run_id": "influenceRunId",
    "influence_computed_at": "influenceComputedAt",
    "churn_probability": "churnProbability",
    "expected_spend": "expectedSpend",
    "prediction_horizon_days": "predictionHorizonDays",
    "prediction_model_id": "predictionModelId",
    "prediction_trained_at": "predictionTrainedAt",
    "prediction_run_id": "predictionRunId",
}


_FIELD_OF_PROPERTY = {prop: name for name, prop in USER_PROPERTIES.items()}


def user_properties(fields: Collection[str] | None) -> list[str]:
    """The node properties to read for these UserProfile fields (all of them when None; userId always),
    in a fixed order: a statement returns ``[k IN $properties | u[k]]`` and ``from_values`` reads it."""
    if fields is None:
        return list(USER_PROPERTIES.values())
    unknown = sorted(set(fields) - USER_PROPERTIES.keys())
    if unknown:
        raise ValueError(f"not UserProfile fields: {', '.join(unknown)}")
    wanted = {"user_id", *fields}
    return [prop for name, prop in USER_PROPERTIES.items() if name in wanted]


def from_values(properties: Sequence[str], values: Sequence[Any]) -> UserProfile:
    """A UserProfile from the values of ``properties`` (as ``user_properties`` listed them, userId among
    them); fields not read are None. ``from_node`` without the dict of properties between (a members
    page makes a few hundred of these)."""
    names = _field_names(tuple(properties))
    return UserProfile(
        **{name: _native(value) for name, value in zip(names, values, strict=True) if value is not None}
    )


@lru_cache(maxsize=256)
def _field_names(properties: tuple[str, ...]) -> tuple[str, ...]:
    if "userId" not in properties:
        raise ValueError("a UserProfile needs userId among the properties read")
    return tuple(_FIELD_OF_PROPERTY[prop] for prop in properties)


def get_user(store: GraphStore, *, user_id: str) -> UserProfile | None:
    records = store.read("profiles/read/get_user", userId=user_id)
    return UserProfile.from_node(records[0]["user"]) if records else None


def friends_of(
    store: GraphStore, *, user_ids: Sequence[str], limit: int = 50
) -> dict[str, list[UserProfile]]:
    """Friends of each user, batched for DataLoaders; users without friends map to []."""
    found = {
        r["userId"]: [UserProfile.from_node(f) for f in r["friends"]]
        for r in store.read("profiles/read/list_friends", userIds=list(user_ids), limit=limit)
    }
    return {uid: found.get(uid, []) for uid in user_ids}


def get_users(store: GraphStore, *, user_ids: Sequence[str]) -> dict[str, UserProfile]:
    """Profiles of the users that exist, keyed in the order asked; unknown ids are absent."""
    found = {
        r["userId"]: UserProfile.from_node(r["user"])
        for r in store.read("profiles/read/profile_users", userIds=list(user_ids))
    }
    return {uid: found[uid] for uid in user_ids if uid in found}


def _per_user(user_ids: Sequence[str], found: Mapping[str, list[T]]) -> dict[str, list[T]]:
    """Every id asked for, in order, with [] for those the query had no row for."""
    return {uid: found.get(uid, []) for uid in user_ids}


# --- tags, identities, channels ------------------------------------------------------------------


class UserTag(BaseModel):
    model_config = ConfigDict(frozen=True)

    tag_id: str
    name: str | None = None
    tier: str | None = None
    weight: float
    source: str
    rule_id: str | None = None
    assigned_at: datetime | None = None
    expires_at: datetime | None = None
    evidence: list[str] = []

    @classmethod
    def from_map(cls, m: Mapping[str, Any]) -> UserTag:
        return cls(
            tag_id=m["tagId"],
            name=m["name"],
            tier=m["tier"],
            weight=m["weight"],
            source=m["source"],
            rule_id=m["ruleId"],
            assigned_at=_native(m["assignedAt"]),
            expires_at=_native(m["expiresAt"]),
            evidence=[str(e) for e in m["evidence"]],
        )


def tags_of(
    store: GraphStore,
    *,
    user_ids: Sequence[str],
    tier: str | None = None,
    include_expired: bool = False,
    now: datetime | None = None,
) -> dict[str, list[UserTag]]:
    """Each user's tags, heaviest first (then by tagId); expired ones (expiresAt < now) only on request.

    ``tier`` is matched as stored (basic, behavior, preference); an unknown tier matches nothing.
    """
    found = {
        r["userId"]: [UserTag.from_map(t) for t in r["tags"]]
        for r in store.read(
            "profiles/read/profile_tags",
            userIds=list(user_ids),
            tier=tier,
            includeExpired=include_expired,
            now=utc_or_now(now),
        )
    }
    return _per_user(user_ids, found)


class Identity(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    value: str  # the keyed hash stored in the graph, never the raw email or phone


def identities_of(store: GraphStore, *, user_ids: Sequence[str]) -> dict[str, list[Identity]]:
    """Each user's hashed identities, by kind then value."""
    found = {
        r["userId"]: [Identity(kind=i["kind"], value=i["value"]) for i in r["identities"]]
        for r in store.read("profiles/read/profile_identities", userIds=list(user_ids))
    }
    return _per_user(user_ids, found)


class UserChannel(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel_id: str
    name: str | None = None
    kind: str | None = None
    acquired: bool  # the user was acquired through this channel
    acquired_at: datetime | None = None
    orders: int  # the user's orders that came through this channel


def channels_of(store: GraphStore, *, user_ids: Sequence[str]) -> dict[str, list[UserChannel]]:
    """Channels each user came or bought through: the acquisition channel first, then by orders."""
    found = {
        r["userId"]: [
            UserChannel(
                channel_id=c["channelId"],
                name=c["name"],
                kind=c["kind"],
                acquired=c["acquired"],
                acquired_at=_native(c["acquiredAt"]),
                orders=c["orders"],
            )
            for c in r["channels"]
        ]
        for r in store.read("profiles/read/profile_channels", userIds=list(user_ids))
    }
    return _per_user(user_ids, found)


# --- orders --------------------------------------------------------------------------------------


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    name: str | None = None
    quantity: int
    unit_price: float | None = None  # None: sold at the product's list price
    list_price: float | None = None  # the product's price now

    @property
    def amount(self) -> Decimal:
        """quantity x the price the line was sold at (its unit price, else the list price), to the cent."""
        return line_amount(self.quantity, self.unit_price if self.unit_price is not None else self.list_price)


class OrderSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    ordered_at: datetime
    channel_id: str | None = None
    total: Decimal  # sum of the lines' amounts, in cents (a line without a unit price: the list price)
    lines: list[OrderLine]


def _order(m: Mapping[str, Any]) -> OrderSummary:
    lines = [
        OrderLine(
            sku=x["sku"],
            name=x["name"],
            quantity=x["quantity"],
            unit_price=x["unitPrice"],
            list_price=x.get("listPrice"),
        )
        for x in m["lines"]
    ]
    return OrderSummary(
        order_id=m["orderId"],
        ordered_at=_native(m["orderedAt"]),
        channel_id=m["channelId"],
        total=money_sum(line.amount for line in lines),
        lines=lines,
    )


def order_cursor(order: OrderSummary) -> str:
    """The cursor of one order (for per-edge cursors): its place in (orderedAt desc, orderId)."""
    at = utc(order.ordered_at)
    return encode_cursor("orders", calendar.timegm(at.utctimetuple()), at.microsecond, order.order_id)


def _order_position(after: str | None) -> dict[str, Any]:
    """Statement parameters for the orders after a cursor: (epoch seconds, microsecond, orderId)."""
    if after is None:
        return {"afterSeconds": None, "afterMicros": None, "afterId": None}
    parts = decode_cursor("orders", after)
    if len(parts) != 3 or not all(_is_int(p) for p in parts[:2]):
        raise InvalidPageError("after: not a cursor this API issued for orders")
    return {"afterSeconds": int(parts[0]), "afterMicros": int(parts[1]), "afterId": parts[2]}


def _is_int(text: str) -> bool:
    return text.removeprefix("-").isdigit()


def _newest_first(orders: list[OrderSummary]) -> list[OrderSummary]:
    """The page order, re-asserted in Python: collect() after a subquery need not keep row order."""
    by_id = sorted(orders, key=lambda o: o.order_id)
    return sorted(by_id, key=lambda o: utc(o.ordered_at), reverse=True)


def _page(items: list[T], cursors: list[str], first: int, total: int) -> Page[T]:
    """Keep ``first`` of the ``first + 1`` rows fetched; the extra row only says a next page exists."""
    kept = items[:first]
    return Page(
        items=kept,
        end_cursor=cursors[len(kept) - 1] if kept else None,
        has_next=len(items) > first,
        total=total,
    )


def _empty_page() -> Page[Any]:
    return Page(items=[], end_cursor=None, has_next=False, total=0)


def orders_pages(
    store: GraphStore, *, user_ids: Sequence[str], first: int, after: str | None = None
) -> dict[str, Page[OrderSummary]]:
    """A page of each user's orders, newest first (keyset on orderedAt desc, orderId), one query.

    The cursor is a position in that global order, so one ``after`` serves every user of a batch.
    """
    first = check_first(first)
    records = store.read(
        "profiles/read/profile_orders_page", userIds=list(user_ids), limit=first + 1, **_order_position(after)
    )
    pages = {r["userId"]: _orders_page(r["orders"], first, r["total"]) for r in records}
    return {uid: pages.get(uid, _empty_page()) for uid in user_ids}


def _orders_page(rows: list[Mapping[str, Any]], first: int, total: int) -> Page[OrderSummary]:
    """A page of orders from a statement's rows (``first + 1`` of them at most), newest first."""
    orders = _newest_first([_order(o) for o in rows])
    return _page(orders, [order_cursor(o) for o in orders], first, total)


# --- social ties ---------------------------------------------------------------------------------


def ties_pages(
    store: GraphStore,
    *,
    user_ids: Sequence[str],
    kind: TieList | str,
    first: int,
    after: str | None = None,
    fields: Collection[str] | None = None,
) -> dict[str, Page[UserProfile]]:
    """A page of each user's friends, followers or followed users by userId (keyset on userId).

    ``fields``: the UserProfile fields to read of each user on the pages (the others are None; every
    field when None): a page shown with ids and cities need not carry every stored property.
    """
    statement = _tie_statement(kind)
    first = check_first(first)
    start = decode_key(kind, after)  # the userId after which the page starts
    properties = user_properties(fields)
    records = store.read(
        statement, userIds=list(user_ids), after=start, limit=first + 1, properties=properties
    )
    pages = {r["userId"]: _tie_page(kind, properties, r["users"], first, r["total"]) for r in records}
    return {uid: pages.get(uid, _empty_page()) for uid in user_ids}


def _tie_statement(kind: TieList | str) -> str:
    statement = _TIE_STATEMENTS.get(kind)
    if statement is None:
        raise InvalidPageError(f"kind: must be one of {', '.join(_TIE_STATEMENTS)}, got {kind!r}")
    return statement


def _tie_page(
    kind: TieList | str, properties: Sequence[str], rows: list[Sequence[Any]], first: int, total: int
) -> Page[UserProfile]:
    """A page of a tie list from a statement's rows (the values of ``properties``, ``first + 1`` at most)."""
    users = [from_values(properties, u) for u in rows]
    return _page(users, [tie_cursor(kind, u.user_id) for u in users], first, total)


def tie_cursor(kind: TieList | str, user_id: str) -> str:
    """The cursor of one user in a ties list (for per-edge cursors): its userId."""
    return encode_cursor(kind, user_id)


# --- a profile page in one round trip -------------------------------------------------------------


@dataclass(frozen=True)
class TiesPart:
    """One page of one tie list, as ``ties_pages`` reads it."""

    kind: TieList | str
    first: int
    after: str | None = None
    fields: Collection[str] | None = None  # UserProfile fields of each user (None: every one)


@dataclass(frozen=True)
class OrdersPart:
    """One page of orders, as ``orders_pages`` reads it."""

    first: int
    after: str | None = None


@dataclass(frozen=True)
class ProfileBundle:
    """A user with the parts asked for (None: not asked), each as the read of its own would answer."""

    profile: UserProfile
    tags: list[UserTag] | None
    ties: Page[UserProfile] | None
    orders: Page[OrderSummary] | None


def profile_bundles(
    store: GraphStore,
    *,
    user_ids: Sequence[str],
    tags: bool = False,
    ties: TiesPart | None = None,
    orders: OrdersPart | None = None,
    now: datetime | None = None,
    fields: Collection[str] | None = None,
    tag_details: bool = True,
) -> dict[str, ProfileBundle]:
    """Users with their tags held now (``tags_of`` with no tier, expired left out), a page of one tie list
    (``ties_pages``) and a page of orders (``orders_pages``), in one statement; unknown ids are absent.

    A profile page needs all four; read apart they are four round trips (or four transactions at once).
    ``fields``: the UserProfile fields to read of each user (None: all); ``tag_details`` False leaves a
    tag's rule, times and evidence out (each time read is a temporal value the driver decodes in Python).
    """
    tie_params: dict[str, Any] = {"tieKind": "", "tieAfter": "", "tieLimit": 0, "tieProperties": []}
    if ties is not None:
        _tie_statement(ties.kind)  # a kind the bundle's statement reads
        tie_first = check_first(ties.first)
        tie_params = {
            "tieKind": str(ties.kind),
            "tieAfter": decode_key(ties.kind, ties.after),
            "tieLimit": tie_first + 1,
            "tieProperties": user_properties(ties.fields),
        }
    order_first = check_first(orders.first) if orders is not None else 0
    order_params = _order_position(orders.after if orders is not None else None)
    user_props = user_properties(fields)
    records = store.read(
        "profiles/read/profile_bundle",
        userIds=list(user_ids),
        userProperties=user_props,
        withTags=tags,
        tagDetails=tag_details,
        now=None if now is None else utc(now),  # None: Neo4j's clock (no temporal parameter to encode)
        **tie_params,
        ordersLimit=order_first + 1 if orders is not None else 0,
        **order_params,
    )
    found: dict[str, ProfileBundle] = {}
    for r in records:
        found[r["userId"]] = ProfileBundle(
            profile=from_values(user_props, r["user"]),
            tags=[UserTag.from_map(t) for t in r["tags"]] if tags else None,
            ties=None
            if ties is None
            else _tie_page(ties.kind, tie_params["tieProperties"], r["ties"], tie_first, r["tieTotal"]),
            orders=None if orders is None else _orders_page(r["orders"], order_first, r["orderTotal"]),
        )
    return {uid: found[uid] for uid in user_ids if uid in found}


# --- neighbourhood -------------------------------------------------------------------------------


class GraphNode(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # "<label>:<key>", e.g. "User:u001", unique within one Neighborhood
    label: str
    key: str
    caption: str  # short display text: a user's city, a tag's or channel's or persona's name


class GraphEdge(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str  # GraphNode ids, in the relationship's stored direction
    target: str
    type: str


class Neighborhood(BaseModel):
    model_config = ConfigDict(frozen=True)

    center: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool  # users within the depth were left out (the limit, or the expansion bound)


def _walk(store: GraphStore, user_id: str, depth: int, limit: int) -> tuple[list[str], bool]:
    """Breadth-first over social ties, ring by ring, each ring by userId; at most ``limit`` users.

    Each ring asks one user more than there is room for, so an overflow is seen without reading
    the whole ring. A frontier user contributes at most ``fanout`` new neighbours; fanout is never
    below room + 1, so a hub it cuts short always overflows the ring too (and sets truncated).
    """
    walk, frontier = [user_id], [user_id]
    for _ in range(depth):
        if not frontier:
            break
        room = limit - len(walk)
        fanout = max(room + 1, RING_BUDGET // len(frontier))
        ring = [
            r["userId"]
            for r in store.read(
                "profiles/read/profile_ring", frontier=frontier, seen=walk, fanout=fanout, take=room + 1
            )
        ]
        if len(ring) > room:
            return walk + ring[:room], True
        walk += ring
        frontier = ring
    return walk, False


def _node(label: str, key: str, caption: str | None) -> GraphNode:
    return GraphNode(id=f"{label}:{key}", label=label, key=key, caption=caption or key)


def _extras(center: GraphNode, row: Mapping[str, Any]) -> tuple[list[GraphNode], list[GraphEdge]]:
    """The centre's tags, acquisition channel, persona, social community and most bought products, each
    with the centre's edge to it (BOUGHT stands for the orders between the user and the product)."""
    nodes = [_node("Tag", t["tagId"], t["name"]) for t in row["tags"]]
    edges = [GraphEdge(source=center.id, target=n.id, type="HAS_TAG") for n in nodes]
    for label, key, rel, field in (
        ("Channel", "channelId", "ACQUIRED_VIA", "channels"),
        ("Persona", "personaId", "HAS_PERSONA", "personas"),
        ("Community", "communityId", "IN_COMMUNITY", "communities"),
        ("Product", "sku", "BOUGHT", "products"),
    ):
        for m in row[field]:
            node = _node(label, m[key], m["name"])
            nodes.append(node)
            edges.append(GraphEdge(source=center.id, target=node.id, type=rel))
    return nodes, edges


def neighborhood(store: GraphStore, *, user_id: str, depth: int = 1, limit: int = 100) -> Neighborhood | None:
    """Users within ``depth`` social hops (nearest first, then by userId), at most ``limit`` users
    counting the centre, the ties among them, and the centre's tags, channel, persona, social community
    and the ``NEIGHBORHOOD_PRODUCTS`` products it bought most.

    None when the user does not exist. When more users are reachable than fit, which ones are kept
    of a ring that overflowed is bounded work, not an exact userId ranking of the whole ring.
    """
    check_range("depth", depth, low=1, high=MAX_DEPTH)
    check_range("limit", limit, low=1, high=MAX_NEIGHBORHOOD)
    walk, truncated = _walk(store, user_id, depth, limit)
    records = store.read(
        "profiles/read/profile_neighborhood",
        userId=user_id,
        userIds=walk,
        now=datetime.now(UTC),
        products=NEIGHBORHOOD_PRODUCTS,
    )
    if not records:
        return None
    row = records[0]
    cities = {u["userId"]: u["city"] for u in row["users"]}
    users = [_node("User", uid, cities[uid]) for uid in walk if uid in cities]
    ties = [
        GraphEdge(source=f"User:{t['source']}", target=f"User:{t['target']}", type=t["type"])
        for t in row["ties"]
    ]
    extra_nodes, extra_edges = _extras(users[0], row)
    return Neighborhood(
        center=users[0].id,
        nodes=users + extra_nodes,
        edges=ties + extra_edges,
        truncated=truncated,
    )
