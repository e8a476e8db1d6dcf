"""Products: a product with its co-purchase partners, and cross-sell suggestions."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from personagraph.api.context import Context
from personagraph.api.types.analytics import Community
from personagraph.api.types.look_ahead import direct_fields, plain_int
from personagraph.api.types.records import from_record, load_one
from personagraph.graph.paging import check_first
from personagraph.graph.products import read as products

Ctx = Info[Context, None]


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
        return Product(info=page.product, complete=page.complete, prefetched={first: page.pairs})

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
        return await load_one(info.context.communities(), community_id, Community.of)

    @strawberry.field(description="Products bought in the same orders, strongest association (lift) first.")
    async def bought_with(self, info: Ctx, first: int = 10) -> list[BoughtWith]:
        pairs = self.prefetched.get(first)
        if pairs is None:
            check_first(first)
            page = await info.context.call(products.product_page, sku=self.info.sku, first=first)
            pairs = page.pairs if page else []
        return [BoughtWith.of(p) for p in pairs]


PAGE_FIELDS = products.PARTIAL_FIELDS | {"boughtWith", "__typename"}  # GraphQL names as the graph's


def needs_details(info: Ctx) -> bool:
    """Whether the product's own selection asks more than ``products.PARTIAL_FIELDS`` and its partners
    (a cross-sell box does not: its read skips the category walk)."""
    return any(name not in PAGE_FIELDS for name, _ in direct_fields(info))


def bought_with_first(info: Ctx) -> int:
    """`first` of the one boughtWith selected under this field (0: none, or several to tell apart),
    so the product and its partners can be read in one round trip."""
    wanted = [args for name, args in direct_fields(info) if name == "boughtWith"]
    if len(wanted) != 1:
        return 0
    first = plain_int(wanted[0].get("first", 10))
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


@strawberry.type(description="Two products often bought in the same order (`first`'s sku sorts first).")
class BoughtTogether:
    pair: strawberry.Private[products.BoughtTogether]
    count: int = strawberry.field(description="Orders holding both.")
    support: float
    confidence: float = strawberry.field(description="Of `first` -> `second`.")
    lift: float

    @staticmethod
    def of(p: products.BoughtTogether) -> BoughtTogether:
        return BoughtTogether(pair=p, count=p.count, support=p.support, confidence=p.confidence, lift=p.lift)

    @strawberry.field
    def first(self) -> Product:
        return Product.of(self.pair.first, complete=False)

    @strawberry.field
    def second(self) -> Product:
        return Product.of(self.pair.second, complete=False)


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
        return await load_one(info.context.products(), str(self.sku), Product.of)


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
        return from_record(
            CrossSell,
            found,
            based_on=[strawberry.ID(s) for s in found.based_on],
            items=[from_record(CrossSellItem, i) for i in found.items],
        )
