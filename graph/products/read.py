"""Typed product reads for the API: product details and cross-sell suggestions.

Cross-sell reads the BOUGHT_WITH edges that :mod:`graph.analytics.bought_together` writes (each product
keeps its strongest outgoing edges, so suggestions always follow edges leaving the seed product).
It honours PIPL art. 24: the purchase history of a user who opted out of personalisation is never
read into a suggestion, so they get exactly what a visitor without an account would get.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from personagraph.graph.errors import NotFoundError, PersonaGraphError
from personagraph.graph.store import GraphStore

MAX_FIRST = 100
SEED_LIMIT = 20  # most recently bought distinct products that seed a personalised list
POOL_MARGIN = 10  # extra candidates the first most-bought read takes beyond ``first``


class ProductInputError(PersonaGraphError):
    """A product read was asked for with arguments that cannot work."""


class ProductInfo(BaseModel):
    """One product as the API shows it."""

    model_config = ConfigDict(frozen=True)

    sku: str
    name: str | None = None
    price: float | None = None
    currency: str | None = None
    brand: str | None = None
    category_path: list[str] = []  # category names, root first
    category_id: str | None = None  # the leaf category
    community_id: str | None = None  # co-purchase community (Product.productCommunity)

    @classmethod
    def from_record(cls, row: Mapping[str, Any]) -> ProductInfo:
        return cls(
            sku=row["sku"],
            name=row["name"],
            price=float(row["price"]) if row["price"] is not None else None,
            currency=row["currency"],
            brand=row["brand"],
            category_path=list(row["categoryPath"]),
            category_id=row["categoryId"],
            community_id=row["communityId"],
        )


class CrossSellItem(BaseModel):
    """One suggested product and why it was suggested."""

    model_config = ConfigDict(frozen=True)

    sku: str
    name: str | None = None
    score: float
    count: int  # orders holding both the (strongest) seed and this product; orders overall for best-sellers
    lift: float
    confidence: float  # of seed -> this product
    reason: str


class CrossSell(BaseModel):
    """Suggestions, and whether a user's own history shaped them."""

    model_config = ConfigDict(frozen=True)

    personalised: bool
    based_on: list[str]  # skus the suggestions come from ([] for best-sellers)
    items: list[CrossSellItem]
    reason: str | None = None  # why ``items`` is empty (None when it is not)


# Why there is nothing to suggest (CrossSell.reason; the co-purchase run's report says the same).
NO_ORDERS = "no orders yet: nothing sells, so there is nothing to suggest"
NO_COPURCHASE_RUN = (
    "co-purchase analysis has not run yet (`persona analyze copurchase`): no product is known to sell "
    "with another"
)
NO_MULTI_LINE_ORDERS = (
    "no order holds two or more different products, so no product is bought with another: cross-sell "
    "needs orders of several lines"
)


def no_pairs(min_count: int) -> str:
    return f"no two products were bought together in {min_count} or more orders (co-purchase min_count)"


def get_products(store: GraphStore, *, skus: Sequence[str]) -> dict[str, ProductInfo]:
    """Products by sku in one read (for DataLoaders): input order, unknown skus left out."""
    wanted = list(dict.fromkeys(skus))
    if not wanted:
        return {}
    found = {
        r["sku"]: ProductInfo.from_record(r) for r in store.read("products/read/product_infos", skus=wanted)
    }
    return {sku: found[sku] for sku in wanted if sku in found}


class ProductPair(BaseModel):
    """A product bought with another, and how strongly; ``product`` is partial (see ``product_page``)."""

    model_config = ConfigDict(frozen=True)

    product: ProductInfo
    count: int
    support: float
    confidence: float
    lift: float


class ProductPage(BaseModel):
    """A product and its strongest co-purchase partners, read together; ``complete`` False when only
    ``PARTIAL_FIELDS`` of the product were read (``product_page(details=False)``)."""

    model_config = ConfigDict(frozen=True)

    product: ProductInfo
    pairs: list[ProductPair]
    complete: bool = True


PARTIAL_FIELDS = frozenset({"sku", "name", "price", "currency"})  # what a pair's product carries


def product_page(store: GraphStore, *, sku: str, first: int = 0, details: bool = True) -> ProductPage | None:
    """One product and (``first`` > 0) its partners by lift, in one read; None for an unknown sku.

    Partners carry only ``PARTIAL_FIELDS``; brand, categories and community of a partner need
    ``get_products``. ``first`` is 0..100. With ``details=False`` (and ``first`` > 0) the product too
    carries only ``PARTIAL_FIELDS`` (a cross-sell box's read: no category walk), ``complete`` False.
    """
    if isinstance(first, bool) or not 0 <= first <= MAX_FIRST:
        raise ProductInputError(f"first must be between 0 and {MAX_FIRST}, got {first}")
    lean = not details and first > 0
    statement = "products/read/product_partners" if lean else "products/read/product_page"
    records = store.read(statement, sku=sku, first=first)
    if not records:
        return None
    row = records[0]
    pairs = [
        ProductPair(
            product=_partial(x),
            count=int(x["count"]),
            support=float(x["support"]),
            confidence=float(x["confidence"]),
            lift=float(x["lift"]),
        )
        for x in row["pairs"]
    ]
    if lean:
        return ProductPage(product=_partial(row), pairs=pairs, complete=False)
    return ProductPage(product=ProductInfo.from_record(row), pairs=pairs)


class BoughtTogether(BaseModel):
    """Two products bought together (``first``'s sku sorts before ``second``'s); both are partial."""

    model_config = ConfigDict(frozen=True)

    first: ProductInfo
    second: ProductInfo
    count: int
    support: float
    confidence: float  # of first -> second
    lift: float


def top_pairs(store: GraphStore, *, first: int = 20, min_count: int = 3) -> list[BoughtTogether]:
    """The strongest bought-together pairs (by lift) of at least ``min_count`` shared orders, each once."""
    if isinstance(first, bool) or not 1 <= first <= MAX_FIRST:
        raise ProductInputError(f"first must be between 1 and {MAX_FIRST}, got {first}")
    if isinstance(min_count, bool) or not 1 <= min_count <= 1_000_000:
        raise ProductInputError(f"minCount must be between 1 and 1000000, got {min_count}")
    return [
        BoughtTogether(
            first=_partial(r["a"]),
            second=_partial(r["b"]),
            count=int(r["count"]),
            support=float(r["support"]),
            confidence=float(r["confidence"]),
            lift=float(r["lift"]),
        )
        for r in store.read("products/read/product_top_pairs", first=first, minCount=min_count)
    ]


def _partial(row: Mapping[str, Any]) -> ProductInfo:
    """A product of ``PARTIAL_FIELDS`` only (a partner, or a product read without its details)."""
    price = row["price"]
    return ProductInfo(
        sku=row["sku"],
        name=row["name"],
        price=float(price) if price is not None else None,
        currency=row["currency"],
    )


def cross_sell(
    store: GraphStore, *, sku: str | None = None, user_id: str | None = None, first: int = 10
) -> CrossSell:
    """Products to suggest next to ``sku``, for ``user_id``, or both.

    With a user who allows personalisation and has bought something, the seeds are their most
    recent purchases (plus ``sku``) and what they already own is left out. Otherwise the list does
    not depend on the user at all: ``sku``'s co-purchase neighbours, or the best-sellers.
    """
    _check_request(sku, user_id, first)
    found = _cross_sell(store, sku, user_id, first)
    if found.items:
        return found
    return found.model_copy(update={"reason": _empty_reason(store, found)})


def _cross_sell(store: GraphStore, sku: str | None, user_id: str | None, first: int) -> CrossSell:
    if user_id is None:
        assert sku is not None  # _check_request refused neither
        return _for_product(store, sku, first)
    recent = _recent_purchases(store, user_id, sku)
    if recent:
        seeds = list(dict.fromkeys([*([sku] if sku is not None else []), *recent]))
        return _personalised(store, user_id, seeds, first)
    if sku is not None:
        return _for_product(store, sku, first)
    return CrossSell(personalised=False, based_on=[], items=_best_sellers(store, first))


def _empty_reason(store: GraphStore, found: CrossSell) -> str:
    """Why there is nothing to suggest: no orders, no co-purchase run, no multi-line orders (so no pairs
    at all), no pair passing the run's min_count, or none for these products; read from the latest
    finished co-purchase run (its input sizes and counts), not by counting orders on each request."""
    if not found.based_on:  # best-sellers: empty only without orders
        return NO_ORDERS
    from personagraph.graph.analytics.insights import (
        analytics_runs,  # lazy: graph.analytics.insights reads profiles
    )

    run = next((r for r in analytics_runs(store, kind="copurchase", first=5) if r.status == "done"), None)
    if run is None:
        return NO_COPURCHASE_RUN
    if not run.input_sizes.get("orders"):
        return NO_ORDERS
    if run.input_sizes.get("multi_line_orders") == 0:
        return NO_MULTI_LINE_ORDERS
    min_count = int(run.parameters.get("min_count", 3))
    if not run.counts.get("pairs"):
        return no_pairs(min_count)
    skus = ", ".join(found.based_on)
    if found.personalised:
        return (
            f"nothing bought with {skus} in {min_count} or more orders that this user has not bought already"
        )
    return f"nothing was bought with {skus} in {min_count} or more orders (co-purchase min_count)"


def _check_request(sku: str | None, user_id: str | None, first: int) -> None:
    """Refuse impossible requests before any read, so the API can answer with a clear input error."""
    if sku is None and user_id is None:
        raise ProductInputError("give sku, userId or both")
    if not 1 <= first <= MAX_FIRST:
        raise ProductInputError(f"first must be between 1 and {MAX_FIRST}, got {first}")


def _recent_purchases(store: GraphStore, user_id: str, sku: str | None) -> list[str]:
    """The user's most recently bought skus, [] when they opted out of personalisation (the query
    itself returns no history for them); one read that also checks the user and ``sku`` exist."""
    records = store.read("products/read/product_user_seeds", userId=user_id, sku=sku, seeds=SEED_LIMIT)
    if not records:
        raise NotFoundError(f"no user with userId {user_id!r}")
    row = records[0]
    if not row["skuFound"]:
        raise NotFoundError(f"no product with sku {sku!r}")
    return [] if row["optedOut"] else list(row["recent"])


def _reason(seed: str, count: int, lift: float) -> str:
    return f"bought with {seed} in {count} orders (lift {lift:.1f})"


def _for_product(store: GraphStore, sku: str, first: int) -> CrossSell:
    """The product's own co-purchase neighbours; the score is the lift, the order that of the edges."""
    records = store.read("products/read/product_bought_with", sku=sku, first=first)
    if not records:
        raise NotFoundError(f"no product with sku {sku!r}")
    items = [
        CrossSellItem(
            sku=i["sku"],
            name=i["name"],
            score=float(i["lift"]),
            count=int(i["count"]),
            lift=float(i["lift"]),
            confidence=float(i["confidence"]),
            reason=_reason(sku, int(i["count"]), float(i["lift"])),
        )
        for i in records[0]["items"]
    ]
    return CrossSell(personalised=False, based_on=[sku], items=items)


def _personalised(store: GraphStore, user_id: str, seeds: list[str], first: int) -> CrossSell:
    """Score = sum over seeds of lift x confidence: strong, reliable associations with many seeds win."""
    records = store.read(
        "products/read/product_cross_sell_personal", userId=user_id, seeds=seeds, first=first
    )
    items = []
    for r in records:
        reason = _reason(r["seed"], int(r["count"]), float(r["lift"]))
        others = int(r["seeds"]) - 1
        if others:
            reason += f", and with {others} more of the products this is based on"
        items.append(
            CrossSellItem(
                sku=r["sku"],
                name=r["name"],
                score=float(r["score"]),
                count=int(r["count"]),
                lift=float(r["lift"]),
                confidence=float(r["confidence"]),
                reason=reason,
            )
        )
    return CrossSell(personalised=True, based_on=seeds, items=items)


def _best_sellers(store: GraphStore, first: int) -> list[CrossSellItem]:
    """The ``first`` products in the most distinct orders, without counting every order line each time.

    Candidates come by line count (a cheap degree); lines >= orders, so once the ``first``-th best
    orders count beats the pool's smallest line count no product outside the pool can rank higher.
    Until then (duplicate lines, ties at the edge) the pool doubles. As an association rule with an
    empty antecedent, confidence is the product's share of orders and lift is 1.
    """
    pool = first + POOL_MARGIN
    while True:
        rows = store.read("products/read/product_top_sellers", pool=pool)
        ranked = sorted(rows, key=lambda r: (-int(r["orders"]), r["sku"]))[:first]
        if len(rows) < pool or int(ranked[-1]["orders"]) > min(int(r["lines"]) for r in rows):
            return [_best_seller(r) for r in ranked]
        pool *= 2


def _best_seller(row: Mapping[str, Any]) -> CrossSellItem:
    orders, total = int(row["orders"]), int(row["totalOrders"])
    share = orders / total if total else 0.0
    return CrossSellItem(
        sku=row["sku"],
        name=row["name"],
        score=share,
        count=orders,
        lift=1.0,
        confidence=share,
        reason=f"popular: in {orders} of {total} orders",
    )
