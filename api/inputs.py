"""GraphQL input types. `AudienceInput` mirrors the audience JSON tree one-to-one (@oneOf objects), so
the same definition works in JSON files, the CLI and GraphQL; graph.audiences validates it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types.base import has_object_definition
from strawberry.utils.str_converters import to_camel_case

from personagraph.api.enums import EventKind
from personagraph.graph.bounds import MAX_PRICE, MAX_QUANTITY


@strawberry.input(
    description="Users holding a tag (not expired unless asked), optionally with a minimum weight."
)
class TagConditionInput:
    tag_id: strawberry.ID
    min_weight: float | None = strawberry.UNSET
    include_expired: bool | None = strawberry.UNSET


@strawberry.input(
    description="One test on a user attribute: op is eq, ne, in, lt, lte, gt, gte, between or exists."
)
class AttributeConditionInput:
    field: str
    op: str
    value: JSON | None = strawberry.UNSET


@strawberry.input(description="The property is one of the listed values.")
class InConditionInput:
    in_: list[str] = strawberry.field(name="in")


@strawberry.input(description="An influence rank and/or score range (inclusive).")
class InfluenceConditionInput:
    min_rank: int | None = strawberry.UNSET
    max_rank: int | None = strawberry.UNSET
    min_score: float | None = strawberry.UNSET
    max_score: float | None = strawberry.UNSET


@strawberry.input(
    description="One test on the user's stored prediction (docs/predictions.md): field churnProbability "
    "(0-1) or expectedSpend; op lt, lte, gt, gte, between ([low, high]) or exists."
)
class PredictionConditionInput:
    field: str
    op: str
    value: JSON | None = strawberry.UNSET


@strawberry.input(
    description="Bought or interacted with a product (sku), brand or category at least minCount times, "
    "within from/to or the last lastDays days. action: bought, viewed, clicked, liked, commented, shared."
)
class BehaviorConditionInput:
    action: str
    sku: strawberry.ID | None = strawberry.UNSET
    brand: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    from_: datetime | None = strawberry.field(name="from", default=strawberry.UNSET)
    to: datetime | None = strawberry.UNSET
    last_days: int | None = strawberry.UNSET
    min_count: int | None = strawberry.UNSET


@strawberry.input(description="Acquired through one channel.")
class AcquiredViaConditionInput:
    channel_id: strawberry.ID


@strawberry.input(
    description="The user's latest answer to one survey question (within lastDays) meets a score range "
    "(min/max, inclusive) or names one of anyOf; users who withdrew survey consent never match."
)
class SurveyAnswerConditionInput:
    survey_id: strawberry.ID
    question_id: strawberry.ID
    min: int | None = strawberry.UNSET
    max: int | None = strawberry.UNSET
    any_of: list[str] | None = strawberry.UNSET
    last_days: int | None = strawberry.UNSET


@strawberry.input(
    description="At least `atLeast` friends (or followers) who match `who` (anyone when omitted)."
)
class TiesConditionInput:
    at_least: int | None = strawberry.UNSET
    who: AudienceInput | None = strawberry.UNSET


@strawberry.input(
    description="Within maxHops referral ties (either direction) of one user or a sub-audience."
)
class ReferralConditionInput:
    max_hops: int | None = strawberry.UNSET
    user_id: strawberry.ID | None = strawberry.UNSET
    of: AudienceInput | None = strawberry.UNSET


@strawberry.input(
    one_of=True,
    description="An audience condition: exactly one field. Combine with and / or / not. "
    "See docs/audiences.md for every kind.",
)
class AudienceInput:
    and_: list[AudienceInput] | None = strawberry.field(name="and", default=strawberry.UNSET)
    or_: list[AudienceInput] | None = strawberry.field(name="or", default=strawberry.UNSET)
    not_: AudienceInput | None = strawberry.field(name="not", default=strawberry.UNSET)
    tag: TagConditionInput | None = strawberry.UNSET
    attribute: AttributeConditionInput | None = strawberry.UNSET
    lifecycle: InConditionInput | None = strawberry.UNSET
    persona: InConditionInput | None = strawberry.UNSET
    community: InConditionInput | None = strawberry.UNSET
    influence: InfluenceConditionInput | None = strawberry.UNSET
    prediction: PredictionConditionInput | None = strawberry.UNSET
    behavior: BehaviorConditionInput | None = strawberry.UNSET
    acquired_via: AcquiredViaConditionInput | None = strawberry.UNSET
    survey_answer: SurveyAnswerConditionInput | None = strawberry.UNSET
    friends: TiesConditionInput | None = strawberry.UNSET
    followers: TiesConditionInput | None = strawberry.UNSET
    referral_hops: ReferralConditionInput | None = strawberry.UNSET


def as_json(value: Any) -> Any:
    """An input object as the plain JSON tree graph/ validates: GraphQL names as keys, unset left out."""
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if not has_object_definition(value):
        return value
    tree: dict[str, Any] = {}
    for f in value.__strawberry_definition__.fields:
        item = getattr(value, f.python_name)
        if item is strawberry.UNSET:
            continue
        tree[f.graphql_name or to_camel_case(f.python_name)] = as_json(item)
    return tree


@strawberry.input(description="A user's attributes; fields left out stay as they are.")
class UserInput:
    id: strawberry.ID
    gender: str | None = strawberry.UNSET
    birth_year: int | None = strawberry.UNSET
    occupation: str | None = strawberry.UNSET
    education: str | None = strawberry.UNSET
    income_band: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    marketing_consent: bool | None = strawberry.UNSET
    personalization_opt_out: bool | None = strawberry.UNSET
    acquired_via: strawberry.ID | None = strawberry.UNSET
    acquired_at: datetime | None = strawberry.UNSET

    def fields(self) -> dict[str, Any]:
        """The given fields under the loader's column names (snake case), for profiles.write.upsert_user."""
        return {
            f.python_name: getattr(self, f.python_name)
            for f in self.__strawberry_definition__.fields  # type: ignore[attr-defined]
            if f.python_name != "id" and getattr(self, f.python_name) is not strawberry.UNSET
        }


@strawberry.input(
    description="One behaviour event; the same eventId (or the same content) is folded in once."
)
class EventInput:
    user_id: strawberry.ID
    kind: EventKind
    at: datetime
    target: str = strawberry.field(description="A product sku, or the search text for SEARCH.")
    event_id: str | None = None
    channel_id: strawberry.ID | None = None


@strawberry.input(
    description="One line of an order. Bounds (graph/bounds.py, as for loaded orders): a value outside them "
    "is refused with BAD_USER_INPUT naming the line and field."
)
class OrderLineInput:
    sku: strawberry.ID
    quantity: int = strawberry.field(default=1, description=f"Items: 1 to {MAX_QUANTITY:,}.")
    unit_price: float | None = strawberry.field(
        default=None, description=f"0 to {MAX_PRICE:,} (finite). Null means the list price."
    )


@strawberry.input(
    description="One order with its lines; an order id already used by another user is refused."
)
class OrderInput:
    order_id: strawberry.ID
    user_id: strawberry.ID
    ordered_at: datetime
    lines: list[OrderLineInput]
    channel_id: strawberry.ID | None = None
