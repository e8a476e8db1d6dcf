"""The graph the merge statements would build from validated rows, as node and relationship tables.

Each table is what a run of the kind's merge statement over the rows in file order leaves behind: a
node per key with each property's last value given (``SET n += props``), an edge per distinct pair (and
line id), values set from the last row. References are checked against the keys loaded before, as the
transactional loader checks them against the graph: rejected, or placeholders with ``create_missing``.
A user row whose id came before in the file is not imported but replayed through the merge statement
afterwards (consent history depends on order): ``Tables.replay``.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from personagraph.graph.entities import EntityKind
from personagraph.graph.kinds import EventKind, TieKind
from personagraph.graph.records import RowContext
from personagraph.loaders.bulk.frames import LINE
from personagraph.loaders.bulk.references import check_references
from personagraph.loaders.bulk.validate import USER_PROPS, Validated, merge_users_row

KEY_OF = {"users": "userId", "products": "sku", "channels": "channelId", "tags": "tagId"}
LABEL_OF = {"users": "User", "products": "Product", "channels": "Channel", "tags": "Tag"}
TIE_TYPES = {
    TieKind.FRIEND.value: "FRIEND_OF",
    TieKind.FOLLOWS.value: "FOLLOWS",
    TieKind.REFERRED.value: "REFERRED",
}
EVENT_TYPES = {
    EventKind.VIEW.value: "VIEWED",
    EventKind.CLICK.value: "CLICKED",
    EventKind.LIKE.value: "LIKED",
    EventKind.COMMENT.value: "COMMENTED",
    EventKind.SHARE.value: "SHARED",
    EventKind.SEARCH.value: "SEARCHED",
}


@dataclass(frozen=True)
class NodeTable:
    """Nodes of one label: ``id`` is the importer's node id (unique within ``group``), the other columns
    properties (a null is no property); ``types`` gives the importer's type of columns that are not text."""

    label: str
    group: str
    frame: pl.DataFrame
    id_property: str | None  # the property the id is stored as, None: the id is not a property
    types: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RelationshipTable:
    """Relationships of one type: ``start`` and ``end`` node ids in ``start_group`` and ``end_group``."""

    type: str
    start_group: str
    end_group: str
    frame: pl.DataFrame
    types: dict[str, str] = field(default_factory=dict)


@dataclass
class Tables:
    nodes: list[NodeTable] = field(default_factory=list)
    relationships: list[RelationshipTable] = field(default_factory=list)
    replay: list[dict[str, Any]] = field(default_factory=list)  # merge_users rows, in file order


class GraphBuilder:
    """Takes each file's validated rows in dependency order and builds the tables."""

    def __init__(self, ctx: RowContext, *, create_missing: bool) -> None:
        self.ctx = ctx
        self.create_missing = create_missing
        self.known: dict[str, set[str]] = defaultdict(set)
        self.placeholders: dict[str, set[str]] = defaultdict(set)
        self.parts: dict[str, list[pl.DataFrame]] = defaultdict(list)
        self.tables = Tables()

    # -- references ------------------------------------------------------------------------------------

    def check_references(self, kind: EntityKind, validated: Validated) -> tuple[pl.DataFrame, int]:
        """The rows whose references name keys loaded before (references.check_references), and how many
        placeholders were made."""
        rows, made = check_references(kind, validated, self.known, create_missing=self.create_missing)
        for target, keys in made.items():
            self.placeholders[target].update(keys)
            self.known[target].update(keys)
        return rows, sum(len(keys) for keys in made.values())

    # -- per kind ---------------------------------------------------------------------------------------

    def add(self, kind: EntityKind, rows: pl.DataFrame) -> None:
        """Take one file's good rows (references checked)."""
        self.parts[kind.name].append(rows)
        if kind.name in KEY_OF:
            self.known[kind.name].update(rows.get_column(KEY_OF[kind.name]).unique().to_list())
        if kind.name == "tags":  # a parent named before it is defined is created bare
            self.known["tags"].update(rows.get_column("parentId").drop_nulls().unique().to_list())

    # -- the tables -------------------------------------------------------------------------------------

    def build(self, load_ms: int) -> Tables:
        """Every table, from the rows taken (in order) and the placeholders made."""
        t = self.tables
        frames = {name: pl.concat(parts, how="vertical") for name, parts in self.parts.items()}
        self._channels(frames.get("channels"))
        self._products(frames.get("products"))
        self._users(frames.get("users"), load_ms)
        self._identities(frames.get("identities"))
        self._tags(frames.get("tags"))
        self._user_tags(frames.get("user_tags"), load_ms)
        self._orders(frames.get("orders"))
        self._events(frames.get("events"))
        self._ties(frames.get("ties"))
        return t

    def _node(self, label: str, frame: pl.DataFrame, id_property: str | None, **types: str) -> None:
        self.tables.nodes.append(NodeTable(label, label, frame, id_property, types))

    def _rel(self, type_: str, start: str, end: str, frame: pl.DataFrame, **types: str) -> None:
        self.tables.relationships.append(RelationshipTable(type_, start, end, frame, types))

    def _keyed(self, target: str, frame: pl.DataFrame | None, props: list[str]) -> pl.DataFrame:
        """One row per key: each property's last value given; plus the placeholders nobody defined."""
        key = KEY_OF[target]
        if frame is None:
            frame = pl.DataFrame(schema={key: pl.String, **{p: pl.String for p in props}})
        last = frame.group_by(key, maintain_order=True).agg(pl.col(p).drop_nulls().last() for p in props)
        bare = sorted(self.placeholders[target] - set(last.get_column(key).to_list()))
        if bare:
            extra = pl.DataFrame({key: bare, "placeholder": [True] * len(bare)})
            last = pl.concat([last, extra], how="diagonal_relaxed")
        return last.rename({key: "id"})

    def _channels(self, rows: pl.DataFrame | None) -> None:
        if rows is None and not self.placeholders["channels"]:
            return
        self._node(
            "Channel", self._keyed("channels", rows, ["name", "kind"]), "channelId", placeholder="boolean"
        )

    def _products(self, rows: pl.DataFrame | None) -> None:
        if rows is None and not self.placeholders["products"]:
            return
        nodes = self._keyed("products", rows, ["name", "price", "currency"])
        self._node("Product", nodes, "sku", price="double", placeholder="boolean")
        if rows is None:
            return
        branded = rows.filter(pl.col("brand").is_not_null()).with_columns(
            pl.col("brand").str.to_lowercase().alias("brandId")
        )
        brands = branded.group_by("brandId", maintain_order=True).agg(pl.col("brand").first().alias("name"))
        self._node("Brand", brands.rename({"brandId": "id"}), "brandId")
        of_brand = branded.select(pl.col("sku").alias("start"), pl.col("brandId").alias("end")).unique(
            maintain_order=True
        )
        self._rel("OF_BRAND", "Product", "Brand", of_brand)
        categories: dict[str, tuple[str, int]] = {}
        sub: dict[tuple[str, str], None] = {}
        leaf: dict[tuple[str, str], None] = {}
        for sku, path in rows.select("sku", "categories").iter_rows():
            for i, cat in enumerate(path or []):
                categories.setdefault(cat["categoryId"], (cat["name"], cat["level"]))
                if i > 0:
                    sub[(cat["categoryId"], path[i - 1]["categoryId"])] = None
            if path:
                leaf[(sku, path[-1]["categoryId"])] = None
        ids = list(categories)
        self._node(
            "Category",
            pl.DataFrame(
                {
                    "id": ids,
                    "name": [categories[c][0] for c in ids],
                    "level": [categories[c][1] for c in ids],
                },
                schema={"id": pl.String, "name": pl.String, "level": pl.Int64},
            ),
            "categoryId",
            level="long",
        )
        pairs = pl.Schema({"start": pl.String, "end": pl.String})
        self._rel(
            "SUBCATEGORY_OF", "Category", "Category", pl.DataFrame(list(sub), schema=pairs, orient="row")
        )
        self._rel("IN_CATEGORY", "Product", "Category", pl.DataFrame(list(leaf), schema=pairs, orient="row"))

    def _users(self, rows: pl.DataFrame | None, load_ms: int) -> None:
        if rows is None and not self.placeholders["users"]:
            return
        if rows is None:
            rows = pl.DataFrame(schema={"userId": pl.String, LINE: pl.Int64})
            first = rows
        else:
            is_first = rows.select(pl.col("userId").is_first_distinct()).to_series()
            first = rows.filter(is_first)
            later = rows.filter(~is_first)
            self.tables.replay = [merge_users_row(r, self.ctx) for r in later.iter_rows(named=True)]
        consent = (
            first.select(
                pl.col("userId"),
                pl.col("marketingConsent"),
                pl.when(pl.col("marketingConsent").is_not_null())
                .then(pl.col("consentAt"))
                .alias("marketingConsentAt"),
                pl.col("personalizationOptOut"),
                pl.when(pl.col("personalizationOptOut").is_not_null())
                .then(pl.col("consentAt"))
                .alias("personalizationOptOutAt"),
                pl.when(
                    pl.col("marketingConsent").is_not_null() | pl.col("personalizationOptOut").is_not_null()
                )
                .then(pl.col("consentAt"))
                .alias("consentUpdatedAt"),
            )
            if first.height
            else None
        )
        nodes = first.select("userId", *[c for c in USER_PROPS if c in first.columns])
        if consent is not None:
            nodes = nodes.join(consent, on="userId", how="left", maintain_order="left")
        bare = sorted(self.placeholders["users"] - set(nodes.get_column("userId").to_list()))
        if bare:
            nodes = pl.concat(
                [nodes, pl.DataFrame({"userId": bare, "placeholder": [True] * len(bare)})],
                how="diagonal_relaxed",
            )
        self._node(
            "User",
            nodes.rename({"userId": "id"}),
            "userId",
            birthYear="long",
            marketingConsent="boolean",
            marketingConsentAt="datetime",
            personalizationOptOut="boolean",
            personalizationOptOutAt="datetime",
            consentUpdatedAt="datetime",
            placeholder="boolean",
        )
        if not first.height:
            return
        acquired = first.filter(pl.col("acquiredVia").is_not_null()).select(
            pl.col("userId").alias("start"),
            pl.col("acquiredVia").alias("end"),
            pl.col("acquiredAt").alias("at"),
        )
        self._rel("ACQUIRED_VIA", "User", "Channel", acquired, at="datetime")
        changes = pl.concat(
            [
                first.filter(pl.col("marketingConsent").is_not_null()).select(
                    pl.col("userId"),
                    pl.col("consentSource"),
                    pl.lit("marketing").alias("purpose"),
                    pl.col("marketingConsent").alias("granted"),
                    pl.col("consentAt").alias("at"),
                ),
                first.filter(pl.col("personalizationOptOut").is_not_null()).select(
                    pl.col("userId"),
                    pl.col("consentSource"),
                    pl.lit("personalised").alias("purpose"),
                    (~pl.col("personalizationOptOut")).alias("granted"),
                    pl.col("consentAt").alias("at"),
                ),
            ]
        ).with_columns(
            pl.concat_str(pl.col("userId"), pl.col("purpose"), separator="\x1f").alias("id"),
            pl.col("consentSource").alias("source"),
            pl.lit(True).alias("applied"),
        )
        self._node(
            "ConsentChange",
            changes.select(
                "id", "purpose", "granted", "at", "source", "applied", pl.col("at").alias("recordedAt")
            ),
            None,
            granted="boolean",
            at="datetime",
            applied="boolean",
            recordedAt="datetime",
        )
        self._rel(
            "CONSENT_CHANGED",
            "User",
            "ConsentChange",
            changes.select(pl.col("userId").alias("start"), pl.col("id").alias("end")),
        )

    def _identities(self, rows: pl.DataFrame | None) -> None:
        if rows is None:
            return
        ids = rows.select(
            pl.concat_str(pl.col("kind"), pl.col("value"), separator="\x1f").alias("id"),
            "kind",
            "value",
            "userId",
        )
        self._node("Identity", ids.unique("id", maintain_order=True).select("id", "kind", "value"), None)
        self._rel(
            "HAS_IDENTITY",
            "User",
            "Identity",
            ids.select(pl.col("userId").alias("start"), pl.col("id").alias("end")).unique(
                maintain_order=True
            ),
        )

    def _tags(self, rows: pl.DataFrame | None) -> None:
        if rows is None and not self.placeholders["tags"]:
            return
        nodes = self._keyed("tags", rows, ["name", "tier", "description"])
        if rows is not None:
            parents = set(rows.get_column("parentId").drop_nulls().to_list()) - set(
                nodes.get_column("id").to_list()
            )
            if parents:
                nodes = pl.concat([nodes, pl.DataFrame({"id": sorted(parents)})], how="diagonal_relaxed")
        self._node("Tag", nodes, "tagId", placeholder="boolean")
        if rows is None:
            return
        last = rows.group_by("tagId", maintain_order=True).agg(pl.col("parentId").last())
        self._rel(
            "CHILD_OF",
            "Tag",
            "Tag",
            last.filter(pl.col("parentId").is_not_null()).select(
                pl.col("tagId").alias("start"), pl.col("parentId").alias("end")
            ),
        )

    def _user_tags(self, rows: pl.DataFrame | None, load_ms: int) -> None:
        if rows is None:
            return
        last = rows.group_by("userId", "tagId", maintain_order=True).agg(
            pl.col("weight").last(),
            pl.col("source").last(),
            pl.col("assignedAt").drop_nulls().last(),
            pl.col("expiresAt").last(),
        )
        edges = last.select(
            pl.col("userId").alias("start"),
            pl.col("tagId").alias("end"),
            "weight",
            "source",
            pl.col("assignedAt").fill_null(load_ms),
            "expiresAt",
        )
        self._rel(
            "HAS_TAG", "User", "Tag", edges, weight="double", assignedAt="datetime", expiresAt="datetime"
        )

    def _orders(self, rows: pl.DataFrame | None) -> None:
        if rows is None:
            return
        orders = rows.group_by("orderId", maintain_order=True).agg(pl.col("orderedAt").last())
        self._node("Order", orders.rename({"orderId": "id"}), "orderId", orderedAt="datetime")
        placed = rows.select(pl.col("userId").alias("start"), pl.col("orderId").alias("end")).unique(
            maintain_order=True
        )
        self._rel("PLACED", "User", "Order", placed)
        lines = rows.group_by("orderId", "sku", "lineId", maintain_order=True).agg(
            pl.col("quantity").last(), pl.col("unitPrice").last()
        )
        self._rel(
            "CONTAINS",
            "Order",
            "Product",
            lines.select(
                pl.col("orderId").alias("start"),
                pl.col("sku").alias("end"),
                "lineId",
                "quantity",
                "unitPrice",
            ),
            quantity="long",
            unitPrice="double",
        )
        via = (
            rows.filter(pl.col("channelId").is_not_null())
            .select(pl.col("orderId").alias("start"), pl.col("channelId").alias("end"))
            .unique(maintain_order=True)
        )
        self._rel("VIA", "Order", "Channel", via)

    def _events(self, rows: pl.DataFrame | None) -> None:
        if rows is None:
            return
        folded = rows.unique(["route", "userId", "target", "key"], keep="first", maintain_order=True)
        edges = folded.group_by("route", "userId", "target", maintain_order=True).agg(
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("key").alias("eventKeys"),
            pl.col("at").min().alias("firstAt"),
            pl.col("at").max().alias("lastAt"),
            pl.col("hour").alias("hours"),
        )
        edges = edges.with_columns(_hour_counts("hours").alias("hourCounts")).drop("hours")
        self._user_event_summary(folded)
        searches = edges.filter(pl.col("route") == EventKind.SEARCH.value)
        if searches.height:
            terms = searches.select(pl.col("target").alias("id")).unique(maintain_order=True)
            self._node("SearchTerm", terms, "term")
        for route, type_ in EVENT_TYPES.items():
            part = edges.filter(pl.col("route") == route)
            if not part.height:
                continue
            end = "SearchTerm" if route == EventKind.SEARCH.value else "Product"
            self._rel(
                type_,
                "User",
                end,
                part.select(
                    pl.col("userId").alias("start"),
                    pl.col("target").alias("end"),
                    "count",
                    "eventKeys",
                    "firstAt",
                    "lastAt",
                    "hourCounts",
                ),
                count="long",
                eventKeys="string[]",
                firstAt="datetime",
                lastAt="datetime",
                hourCounts="long[]",
            )

    def _user_event_summary(self, folded: pl.DataFrame) -> None:
        """Each user's eventHours and lastEventAt over all their behaviour events, as the merge_events
        statements keep them (schema V007, V008), on the User table built before."""
        summary = (
            folded.group_by("userId")
            .agg(pl.col("hour"), pl.col("at").max().alias("lastEventAt"))
            .with_columns(_hour_counts("hour").alias("eventHours"))
            .select(pl.col("userId").alias("id"), "eventHours", "lastEventAt")
        )
        if not summary.height:
            return
        nodes = self.tables.nodes
        at = next(i for i, table in enumerate(nodes) if table.label == "User")
        users = nodes[at]
        nodes[at] = dataclasses.replace(
            users,
            frame=users.frame.join(summary, on="id", how="left", maintain_order="left"),
            types={**users.types, "eventHours": "long[]", "lastEventAt": "datetime"},
        )

    def _ties(self, rows: pl.DataFrame | None) -> None:
        if rows is None:
            return
        last = rows.group_by("route", "src", "dst", maintain_order=True).agg(pl.col("since").last())
        for route, type_ in TIE_TYPES.items():
            part = last.filter(pl.col("route") == route)
            if part.height:
                self._rel(
                    type_,
                    "User",
                    "User",
                    part.select(pl.col("src").alias("start"), pl.col("dst").alias("end"), "since"),
                    since="datetime",
                )


def _hour_counts(column: str) -> pl.Expr:
    """A list column of hours (0-23) as 24 counts, one per hour of the day."""
    return pl.concat_list([pl.col(column).list.count_matches(h) for h in range(24)]).cast(pl.List(pl.Int64))
