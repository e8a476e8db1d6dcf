"""The audience definition: a JSON tree of conditions, validated into pydantic models with exact paths.

Every condition is an object with exactly one key naming its kind (the shape a GraphQL `@oneOf` input
takes): ``{"and": [...]}``, ``{"tag": {"tagId": "vip"}}``, ``{"friends": {"atLeast": 2, "who": {...}}}``.
See docs/audiences.md for every kind.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from personagraph.graph.bounds import INT64_MAX, number_problem
from personagraph.graph.errors import PersonaGraphError
from personagraph.graph.times import utc

MAX_DEPTH = 8  # nested condition levels (a lone leaf is depth 1)
MAX_CONDITIONS = 200  # conditions in one tree
MAX_LIST = 1000  # values in one `in` list
# Relational conditions (friends, followers, referralHops) nested in each other's `who` / `of`: each
# level multiplies the work by the ties of every member (5 levels ran for minutes on 3,000 users).
MAX_RELATIONAL_DEPTH = 2
RELATIONAL_KINDS: dict[str, str] = {"friends": "who", "followers": "who", "referralHops": "of"}


# The User properties a definition may test, with the JSON type of their values. Property names reach
# Cypher text only through this table.
USER_FIELDS: dict[str, type] = {
    "gender": str,
    "birthYear": int,
    "ageBand": str,
    "occupation": str,
    "education": str,
    "incomeBand": str,
    "city": str,
    "region": str,
    "country": str,
    "marketingConsent": bool,
    "personalizationOptOut": bool,
    "lifecycle": str,
    "persona": str,
    "socialCommunity": str,
    "rfmScore": str,
    "customerId": str,
    "influence": float,
    "influenceRank": int,
    "degree": int,
    "reach2": int,
}
INDEXED_FIELDS = frozenset({"city", "ageBand", "gender", "lifecycle", "persona", "socialCommunity"})
BREAKDOWN_FIELDS: tuple[str, ...] = (*(k for k, t in USER_FIELDS.items() if t in (str, bool)), "birthYear")
OPS_BY_TYPE: dict[type, tuple[str, ...]] = {
    str: ("eq", "ne", "in", "exists"),
    bool: ("eq", "ne", "exists"),
    int: ("eq", "ne", "in", "lt", "lte", "gt", "gte", "between", "exists"),
    float: ("eq", "ne", "in", "lt", "lte", "gt", "gte", "between", "exists"),
}
# The tiers graph.analytics.lifecycle assigns (kept here so validation needs no numpy import).
LIFECYCLE_TIERS: tuple[str, ...] = ("new", "prospect", "dormant", "core", "loyal", "potential", "occasional")


class AudienceError(PersonaGraphError):
    """An audience request cannot be served as given."""


class AudienceDefinitionError(AudienceError):
    """A definition is malformed; ``problems`` lists each one as ``path: what is wrong``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid audience definition: " + "; ".join(problems))
        self.problems = problems


Key = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Label = Annotated[StrictStr, Field(min_length=1, max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TagCondition(_Model):
    """Users holding a tag (not expired unless asked), optionally with a minimum weight."""

    tagId: Key
    minWeight: Annotated[StrictFloat, Field(ge=0, le=1)] | None = None
    includeExpired: StrictBool = False


class AttributeCondition(_Model):
    """One test on an allow-listed User property; the value must have the property's JSON type."""

    field: StrictStr
    op: StrictStr
    # Validated when left out too: `exists` alone means exists = true, and other ops need a value.
    value: Any = Field(default=None, validate_default=True)

    @field_validator("field")
    @classmethod
    def _known_field(cls, field: str) -> str:
        if field not in USER_FIELDS:
            raise ValueError(f"{field!r} is not one of {', '.join(USER_FIELDS)}")
        return field

    @field_validator("op")
    @classmethod
    def _known_op(cls, op: str, info: ValidationInfo) -> str:
        kind = USER_FIELDS.get(info.data.get("field", ""))
        allowed = OPS_BY_TYPE[kind] if kind else OPS_BY_TYPE[int]
        if op not in allowed:
            raise ValueError(
                f"{op!r} is not one of {', '.join(allowed)}" + (f" (for {kind.__name__})" if kind else "")
            )
        return op

    @field_validator("value")
    @classmethod
    def _typed_value(cls, value: Any, info: ValidationInfo) -> Any:
        field, op = info.data.get("field"), info.data.get("op")
        if field is None or op is None:
            return value  # already reported on field or op
        kind = USER_FIELDS[field]
        if op == "exists":
            if value is None or isinstance(value, bool):
                return value is not False
            raise ValueError(f"exists takes true, false or nothing, not {value!r}")
        if op == "in":
            if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
                raise ValueError(
                    f"'in' takes a list of 1 to {MAX_LIST} {kind.__name__} values, not {value!r}"
                )
            return [_typed(kind, v, field) for v in value]
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise ValueError(f"'between' takes [low, high], not {value!r}")
            low, high = (_typed(kind, v, field) for v in value)
            if low > high:
                raise ValueError(f"'between' low {low!r} is above high {high!r}")
            return [low, high]
        return _typed(kind, value, field)


def _typed(kind: type, value: Any, field: str) -> Any:
    """A value of the field's JSON type (ints pass as floats; bools are never numbers)."""
    if isinstance(value, bool) != (kind is bool) or value is None:
        raise ValueError(f"{field} takes {kind.__name__} values, not {value!r}")
    if kind is float and isinstance(value, int):
        value = float(value) if abs(value) < 2**1024 else math.inf  # too big for a float: refused below
    if not isinstance(value, kind):
        raise ValueError(f"{field} takes {kind.__name__} values, not {value!r}")
    problem = number_problem(value)
    if problem:  # Neo4j holds 64-bit ints and finite floats; anything else cannot be compared with
        raise ValueError(f"{field} takes {kind.__name__} values: {problem}")
    if isinstance(value, str) and len(value) > 500:
        raise ValueError(f"{field} values are at most 500 characters")
    return value


class SetCondition(_Model):
    """Users whose property is one of the listed values (persona, community)."""

    in_: Annotated[list[Label], Field(alias="in", min_length=1, max_length=MAX_LIST)]


class LifecycleCondition(SetCondition):
    """Lifecycle tiers, checked against the tiers the segment analysis writes."""

    @field_validator("in_")
    @classmethod
    def _known_tiers(cls, tiers: list[str]) -> list[str]:
        unknown = [t for t in tiers if t not in LIFECYCLE_TIERS]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not one of {', '.join(LIFECYCLE_TIERS)}")
        return tiers


class InfluenceCondition(_Model):
    """An influence rank and/or score range (bounds inclusive)."""

    minRank: Annotated[StrictInt, Field(ge=1, le=INT64_MAX)] | None = None
    maxRank: Annotated[StrictInt, Field(ge=1, le=INT64_MAX)] | None = None
    minScore: Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)] | None = None
    maxScore: Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _a_range(self) -> InfluenceCondition:
        bounds = (self.minRank, self.maxRank, self.minScore, self.maxScore)
        if all(b is None for b in bounds):
            raise ValueError("give at least one of minRank, maxRank, minScore, maxScore")
        for low, high, name in (
            (self.minRank, self.maxRank, "Rank"),
            (self.minScore, self.maxScore, "Score"),
        ):
            if low is not None and high is not None and low > high:
                raise ValueError(f"min{name} {low} is above max{name} {high}")
        return self


# The predictions graph.analytics.predictions writes on each User that a `prediction` condition may test,
# with the largest value each can hold. Property names reach Cypher text only through this table.
PREDICTION_FIELDS: dict[str, float] = {"churnProbability": 1.0, "expectedSpend": math.inf}


class PredictionCondition(_Model):
    """One test on a stored prediction: churnProbability (0-1) or expectedSpend, as ``attribute`` tests."""

    field: Literal["churnProbability", "expectedSpend"]
    op: Literal["lt", "lte", "gt", "gte", "between", "exists"]
    value: Any = Field(default=None, validate_default=True)

    @field_validator("value")
    @classmethod
    def _fits(cls, value: Any, info: ValidationInfo) -> Any:
        field, op = info.data.get("field"), info.data.get("op")
        if field is None or op is None:
            return value  # already reported on field or op
        if op == "exists":
            if value is None or isinstance(value, bool):
                return value is not False
            raise ValueError(f"exists takes true, false or nothing, not {value!r}")
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise ValueError(f"'between' takes [low, high], not {value!r}")
            low, high = (_prediction_value(field, v) for v in value)
            if low > high:
                raise ValueError(f"'between' low {low!r} is above high {high!r}")
            return [low, high]
        return _prediction_value(field, value)


def _prediction_value(field: str, value: Any) -> float:
    number: float = _typed(float, value, field)
    if not 0 <= number <= PREDICTION_FIELDS[field]:
        top = "1" if PREDICTION_FIELDS[field] == 1.0 else "any amount"
        raise ValueError(f"{field} takes values from 0 to {top}, not {value!r}")
    return number


class BehaviorCondition(_Model):
    """Bought or interacted with a product, brand or category, in a window, at least minCount times."""

    action: Literal["bought", "viewed", "clicked", "liked", "commented", "shared"]
    sku: Key | None = None
    brand: Key | None = None
    category: Key | None = None
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None
    lastDays: Annotated[StrictInt, Field(ge=1, le=36_500)] | None = None
    minCount: Annotated[StrictInt, Field(ge=1, le=100_000)] = 1

    @field_validator("from_", "to")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)

    @field_validator("to")
    @classmethod
    def _ordered(cls, to: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("from_")
        if to is not None and start is not None and to < start:
            raise ValueError(f"window ends ({to.isoformat()}) before it starts ({start.isoformat()})")
        return to

    @field_validator("lastDays")
    @classmethod
    def _one_window(cls, days: int | None, info: ValidationInfo) -> int | None:
        if days is not None and (info.data.get("from_") or info.data.get("to")):
            raise ValueError("give either lastDays or from/to, not both")
        return days

    @model_validator(mode="after")
    def _one_target(self) -> BehaviorCondition:
        given = [k for k in ("sku", "brand", "category") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of sku, brand, category (got {', '.join(given) or 'none'})")
        return self


class SurveyAnswerCondition(_Model):
    """The user's latest answer to one survey question (within lastDays when given) meets a score range
    (min/max, bounds inclusive: Likert 1-5/1-7, NPS 0-10) or names one of anyOf (choice questions); users
    who withdrew survey consent never match (docs/surveys.md)."""

    surveyId: Key
    questionId: Key
    min: Annotated[StrictInt, Field(ge=0, le=10)] | None = None
    max: Annotated[StrictInt, Field(ge=0, le=10)] | None = None
    anyOf: Annotated[list[Label], Field(min_length=1, max_length=MAX_LIST)] | None = None
    lastDays: Annotated[StrictInt, Field(ge=1, le=36_500)] | None = None

    @model_validator(mode="after")
    def _one_test(self) -> SurveyAnswerCondition:
        if "/" in self.surveyId:
            raise ValueError(f"surveyId: a survey id holds no '/': {self.surveyId!r}")
        scored = self.min is not None or self.max is not None
        if scored == (self.anyOf is not None):
            raise ValueError("give either a score range (min, max) or anyOf")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class AcquiredViaCondition(_Model):
    """Users acquired through one channel."""

    channelId: Key


class TiesCondition(_Model):
    """At least ``atLeast`` friends (or followers) who meet ``who`` (anyone when omitted)."""

    atLeast: Annotated[StrictInt, Field(ge=1, le=10_000)] = 1
    who: Condition | None = None


class ReferralCondition(_Model):
    """Within ``maxHops`` referral ties, either direction, of one user or of a sub-audience."""

    maxHops: Annotated[StrictInt, Field(ge=1, le=3)] = 1
    userId: Key | None = None
    of: Condition | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> ReferralCondition:
        if (self.userId is None) == (self.of is None):
            raise ValueError("give exactly one of userId, of")
        return self


class AndNode(_Model):
    """Every child holds."""

    and_: Annotated[list[Condition], Field(alias="and", min_length=1)]

    def children(self) -> list[Condition]:
        return list(self.and_)


class OrNode(_Model):
    """At least one child holds."""

    or_: Annotated[list[Condition], Field(alias="or", min_length=1)]

    def children(self) -> list[Condition]:
        return list(self.or_)


class NotNode(_Model):
    """The child does not hold (users lacking a tested property included)."""

    not_: Condition = Field(alias="not")

    def children(self) -> list[Condition]:
        return [self.not_]


class _Leaf(_Model):
    """A condition without sub-conditions."""

    def children(self) -> list[Condition]:
        return []


class TagNode(_Leaf):
    tag: TagCondition


class AttributeNode(_Leaf):
    attribute: AttributeCondition


class LifecycleNode(_Leaf):
    lifecycle: LifecycleCondition


class PersonaNode(_Leaf):
    persona: SetCondition


class CommunityNode(_Leaf):
    community: SetCondition


class InfluenceNode(_Leaf):
    influence: InfluenceCondition


class PredictionNode(_Leaf):
    prediction: PredictionCondition


class BehaviorNode(_Leaf):
    behavior: BehaviorCondition


class SurveyAnswerNode(_Leaf):
    surveyAnswer: SurveyAnswerCondition


class AcquiredViaNode(_Leaf):
    acquiredVia: AcquiredViaCondition


class FriendsNode(_Model):
    friends: TiesCondition

    def children(self) -> list[Condition]:
        return [self.friends.who] if self.friends.who else []


class FollowersNode(_Model):
    followers: TiesCondition

    def children(self) -> list[Condition]:
        return [self.followers.who] if self.followers.who else []


class ReferralHopsNode(_Model):
    referralHops: ReferralCondition

    def children(self) -> list[Condition]:
        return [self.referralHops.of] if self.referralHops.of else []


NODE_TYPES: dict[str, type[_Model]] = {
    "and": AndNode,
    "or": OrNode,
    "not": NotNode,
    "tag": TagNode,
    "attribute": AttributeNode,
    "lifecycle": LifecycleNode,
    "persona": PersonaNode,
    "community": CommunityNode,
    "influence": InfluenceNode,
    "prediction": PredictionNode,
    "behavior": BehaviorNode,
    "acquiredVia": AcquiredViaNode,
    "surveyAnswer": SurveyAnswerNode,
    "friends": FriendsNode,
    "followers": FollowersNode,
    "referralHops": ReferralHopsNode,
}


def _kind_of(value: Any) -> str | None:
    """The discriminator: a condition's only key (models already built report their own kind)."""
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    for kind, node_type in NODE_TYPES.items():
        if type(value) is node_type:
            return kind
    return None


def _one_known_key(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in NODE_TYPES:
        got = f"keys {sorted(map(str, value))}" if isinstance(value, dict) else type(value).__name__
        raise ValueError(
            f"a condition is an object with exactly one key, one of {', '.join(NODE_TYPES)}; got {got}"
        )
    return value


Condition = Annotated[
    Annotated[AndNode, Tag("and")]
    | Annotated[OrNode, Tag("or")]
    | Annotated[NotNode, Tag("not")]
    | Annotated[TagNode, Tag("tag")]
    | Annotated[AttributeNode, Tag("attribute")]
    | Annotated[LifecycleNode, Tag("lifecycle")]
    | Annotated[PersonaNode, Tag("persona")]
    | Annotated[CommunityNode, Tag("community")]
    | Annotated[InfluenceNode, Tag("influence")]
    | Annotated[PredictionNode, Tag("prediction")]
    | Annotated[BehaviorNode, Tag("behavior")]
    | Annotated[AcquiredViaNode, Tag("acquiredVia")]
    | Annotated[SurveyAnswerNode, Tag("surveyAnswer")]
    | Annotated[FriendsNode, Tag("friends")]
    | Annotated[FollowersNode, Tag("followers")]
    | Annotated[ReferralHopsNode, Tag("referralHops")],
    Discriminator(_kind_of),
    BeforeValidator(_one_known_key),
]
Definition = Condition  # a definition is its root condition

for _model in (TiesCondition, ReferralCondition, AndNode, OrNode, NotNode, FriendsNode, FollowersNode):
    _model.model_rebuild()
ADAPTER: TypeAdapter[Condition] = TypeAdapter(Condition)


def kind_of(node: Condition) -> str:
    """The JSON key of a validated condition."""
    kind = _kind_of(node)
    assert kind is not None
    return kind


def conditions(root: Condition, *, own: bool = False) -> Iterator[Condition]:
    """Every condition of a tree, the root and the sub-conditions at any depth (each once). With ``own``,
    only those on the user judged: not the conditions on the friends, followers or referrers it names."""
    stack: list[Condition] = [root]
    while stack:
        node = stack.pop()
        yield node
        if not (own and isinstance(node, FriendsNode | FollowersNode | ReferralHopsNode)):
            stack.extend(node.children())


def definition_tag_ids(root: Condition) -> set[str]:
    """Every tag id a definition's ``tag`` conditions name (at any depth)."""
    return {node.tag.tagId for node in conditions(root) if isinstance(node, TagNode)}


def definition_attributes(root: Condition) -> set[str]:
    """Every User property a definition tests (``attribute`` conditions, at any depth)."""
    return {node.attribute.field for node in conditions(root) if isinstance(node, AttributeNode)}
