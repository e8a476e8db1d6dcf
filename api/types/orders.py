"""Orders: a user's orders, newest first, with their lines."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from personagraph.api.context import Context
from personagraph.api.types.paging import PageInfo
from personagraph.api.types.products import Product
from personagraph.api.types.records import load_one
from personagraph.graph.profiles import read as profiles

Ctx = Info[Context, None]


@strawberry.type
class OrderLine:
    sku: strawberry.ID
    name: str | None
    quantity: int
    unit_price: float | None

    @strawberry.field(description="The product, with brand and category.")
    async def product(self, info: Ctx) -> Product | None:
        return await load_one(info.context.products(), str(self.sku), Product.of)


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
