"""Hot read shapes answered without graphql-core's field-by-field execution (issue 17).

A profile page (`user(id)`: attributes, scores, tags, one page of one tie list, one page of orders), a
product with its partners (`product(sku)` with `boughtWith`) and a page of an audience's members (each
shown as a profile page is) are most of what front ends ask. Through Strawberry each costs a few
milliseconds of Python a request (a members page many more), a resolver call and a type check per field;
here it is the graph/ calls the resolvers make and a walk of a plan made once per document, operation and
role.

What keeps this exactly as safe as the usual path:

- a plan is made only after Strawberry has executed that document, operation and role without an error
  (so it parsed, validated, passed the query limits and the role matrix: all of them depend on the
  document and the role alone), and only of the shapes below: no fragments, directives or duplicate
  response keys, no field this module does not list (``Unsupported`` otherwise: the usual path keeps it);
- per request it checks what depends on the variables (the cost, as ``CostLimit``; the ids' types; for a
  members page the variables' coercion, and the definition, the k-anonymity floor and the count budget
  through the very functions the resolvers call), and records what the usual path's extensions would
  (audit entries through ``access.audit``, the operation metric);
- any exception hands the request back to the usual path, which answers it, errors and all, as before
  (these are reads: running one again changes nothing; a count the budget was charged for is free when
  the same key asks it again).

tests/test_api_fast_path.py asks the two paths the same documents, roles and variables and compares.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    VariableNode,
    get_operation_ast,
    parse,
    value_from_ast_untyped,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments

from personagraph.api.access import MEMBERS, audit
from personagraph.api.context import Context
from personagraph.api.cost import cost_parts
from personagraph.api.policy import PII_FIELDS, Role
from personagraph.api.selection import Field, Selection, Tree, tree_of
from personagraph.api.types.audiences import Audience
from personagraph.api.types.look_ahead import arguments_with_defaults, page_arguments, plain_int
from personagraph.api.types.profiles import profile_fields
from personagraph.graph.audiences import service
from personagraph.graph.products import read as products
from personagraph.graph.profiles import read as profiles

log = logging.getLogger(__name__)


class Unsupported(Exception):
    """A document this module does not answer: the usual path keeps it."""


Getter = Callable[[Any], Any]
Paged = tuple[Any, str | None, list[str]]  # a page, the cursor it starts after, its items' cursors


@dataclass(frozen=True)
class Out:
    """One selected field: its response key, how to read its value off the parent, and the fields
    selected inside it (None for a leaf, whose value is read ready for JSON)."""

    key: str
    get: Getter
    inner: tuple[Out, ...] | None = None
    many: bool = False


def render(outs: tuple[Out, ...], value: Any) -> dict[str, Any]:
    """The response object for ``value``, in the document's order of keys."""
    found: dict[str, Any] = {}
    for out in outs:
        inner = out.get(value)
        if out.inner is None or inner is None:
            found[out.key] = inner
        elif out.many:
            found[out.key] = [render(out.inner, item) for item in inner]
        else:
            found[out.key] = render(out.inner, inner)
    return found


# Leaves, each as graphql-core serialises its scalar.


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _same(value: Any) -> Any:
    return value


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value]


def _attr(name: str, convert: Callable[[Any], Any] = _same) -> Getter:
    return lambda obj: convert(getattr(obj, name))


def _typename(name: str) -> Getter:
    return lambda _: name


def _item(key: str) -> Getter:
    return lambda found: found[key]


def _fields(field: Field | None, selections: Any) -> list[Field]:
    """The plain fields of a selection set: anything else (fragments, directives, one response key
    twice) is Unsupported."""
    if selections is None:
        raise Unsupported("a leaf where objects were expected")
    found: list[Field] = []
    keys: set[str] = set()
    for item in selections.items:
        if not isinstance(item, Field) or item.node.directives or item.key in keys:
            raise Unsupported("fragments, directives or a repeated key")
        keys.add(item.key)
        found.append(item)
    return found


def _object(
    field: Field,
    typename: str,
    leaves: Mapping[str, Getter],
    nested: Mapping[str, Callable[[Field], Out]] = {},
) -> tuple[Out, ...]:
    """Outs of an object's selection: the leaves in ``leaves``, ``__typename``, and the fields ``nested``
    makes an Out of; anything else is Unsupported."""
    outs = []
    for item in _fields(field, field.selections):
        if item.name == "__typename":
            outs.append(Out(item.key, _typename(typename)))
        elif item.name in leaves and item.selections is None and not item.node.arguments:
            outs.append(Out(item.key, leaves[item.name]))
        elif item.name in nested:
            outs.append(nested[item.name](item))
        else:
            raise Unsupported(f"{typename}.{item.name}")
    return tuple(outs)


# --- users ---------------------------------------------------------------------------------------

USER_LEAVES: dict[str, Getter] = {
    "id": _attr("user_id"),
    "customerId": _attr("customer_id"),
    "gender": _attr("gender"),
    "birthYear": _attr("birth_year"),
    "ageBand": _attr("age_band"),
    "occupation": _attr("occupation"),
    "education": _attr("education"),
    "incomeBand": _attr("income_band"),
    "city": _attr("city"),
    "region": _attr("region"),
    "country": _attr("country"),
    "marketingConsent": _attr("marketing_consent"),
    "personalizationOptOut": _attr("personalization_opt_out"),
    "lifecycle": _attr("lifecycle"),
}
RFM_LEAVES: dict[str, Getter] = {
    "recency": _attr("rfm_r"),
    "frequency": _attr("rfm_f"),
    "monetary": _attr("rfm_m"),
    "score": _attr("rfm_score"),
    "runId": _attr("segment_run_id"),
    "computedAt": _attr("segment_computed_at", _time),
}
INFLUENCE_LEAVES: dict[str, Getter] = {
    "score": _attr("influence", _float),
    "rank": _attr("influence_rank"),
    "degree": _attr("degree"),
    "reach2": _attr("reach2"),
    "runId": _attr("influence_run_id"),
    "computedAt": _attr("influence_computed_at", _time),
}
TAG_LEAVES: dict[str, Getter] = {
    "tagId": _attr("tag_id"),
    "name": _attr("name"),
    "tier": _attr("tier"),
    "weight": _attr("weight", _float),
    "source": _attr("source"),
    "ruleId": _attr("rule_id"),
    "assignedAt": _attr("assigned_at", _time),
    "expiresAt": _attr("expires_at", _time),
    "evidence": _attr("evidence", _strings),
}
TAG_DETAILS = frozenset({"ruleId", "assignedAt", "expiresAt", "evidence"})  # read only when selected
ORDER_LEAVES: dict[str, Getter] = {
    "orderId": _attr("order_id"),
    "orderedAt": _attr("ordered_at", _time),
    "channelId": _attr("channel_id"),
    "total": _attr("total", _float),
}
LINE_LEAVES: dict[str, Getter] = {
    "sku": _attr("sku"),
    "name": _attr("name"),
    "quantity": _attr("quantity"),
    "unitPrice": _attr("unit_price", _float),
}
PAGE_INFO: dict[str, Getter] = {
    "hasNextPage": lambda p: p[0].has_next,
    "hasPreviousPage": lambda p: p[1] is not None,
    "startCursor": lambda p: p[2][0] if p[2] else None,
    "endCursor": lambda p: p[2][-1] if p[2] else None,
}


def _rfm(profile: profiles.UserProfile) -> profiles.UserProfile | None:
    return None if profile.rfm_score is None and profile.rfm_r is None else profile


def _influence(profile: profiles.UserProfile) -> profiles.UserProfile | None:
    return None if profile.influence is None else profile


def _profile_out(item: Field, of: Callable[[Any], profiles.UserProfile]) -> Out | None:
    """The Out of a User attribute or score, read through ``of`` (the profile of the value rendered);
    None for a field of another kind."""
    if item.name == "__typename":
        return Out(item.key, _typename("User"))
    if item.name in USER_LEAVES and item.selections is None and not item.node.arguments:
        getter = USER_LEAVES[item.name]
        return Out(item.key, lambda v: getter(of(v)))
    if item.name == "rfm":
        return Out(item.key, lambda v: _rfm(of(v)), _object(item, "Rfm", RFM_LEAVES))
    if item.name == "influence":
        return Out(item.key, lambda v: _influence(of(v)), _object(item, "Influence", INFLUENCE_LEAVES))
    return None


def _connection_outs(field: Field, node: tuple[Out, ...], typename: str) -> tuple[Out, ...]:
    """Outs of a connection rendered from (page, after, cursors): totalCount, pageInfo, edges."""
    outs = []
    for item in _fields(field, field.selections):
        if item.name == "__typename":
            outs.append(Out(item.key, _typename(f"{typename}Connection")))
        elif item.name == "totalCount":
            outs.append(Out(item.key, lambda p: p[0].total))
        elif item.name == "pageInfo":
            outs.append(Out(item.key, _same, _object(item, "PageInfo", PAGE_INFO)))
        elif item.name == "edges":
            edge = []
            for inner in _fields(item, item.selections):
                if inner.name == "__typename":
                    edge.append(Out(inner.key, _typename(f"{typename}Edge")))
                elif inner.name == "cursor":
                    edge.append(Out(inner.key, lambda e: e[0]))
                elif inner.name == "node":
                    edge.append(Out(inner.key, lambda e: e[1], node))
                else:
                    raise Unsupported(f"{typename}Edge.{inner.name}")
            outs.append(Out(item.key, lambda p: list(zip(p[2], p[0].items, strict=True)), tuple(edge), True))
        else:
            raise Unsupported(f"{typename}Connection.{item.name}")
    return tuple(outs)


def _tie_user_outs(node: Field | None) -> tuple[Out, ...]:
    """A tie page's users: attributes and scores only."""
    outs = []
    for item in _fields(node, node.selections) if node is not None else []:
        out = _profile_out(item, _same)
        if out is None:
            raise Unsupported(f"User.{item.name} on a tie page")
        outs.append(out)
    return tuple(outs)


def _order_outs(field: Field) -> tuple[Out, ...]:
    def lines(item: Field) -> Out:
        return Out(item.key, _attr("lines"), _object(item, "OrderLine", LINE_LEAVES), True)

    return _object(field, "Order", ORDER_LEAVES, {"lines": lines})


def _page_of(field: Field, variables: Mapping[str, Any]) -> tuple[int, str | None]:
    """A page's (first, after), literal or from variables, with the schema's defaults (as the usual
    path's look-ahead reads them); Unsupported when they are not a plain int and a string or null."""
    page = page_arguments(arguments_with_defaults(field, dict(variables)))
    if page is None:
        raise Unsupported("page arguments of other types")
    return page


class UserShape:
    """A User selection the plans answer: attributes, scores, tags, one tie page and one orders page, read
    for any number of users by one ``profile_bundles`` call (as api/types/profiles.py ``read_users`` reads
    them for the usual path)."""

    def __init__(self, user: Field) -> None:
        self.tags = False
        self.tag_details = False  # a tag's ruleId, assignedAt, expiresAt or evidence selected
        self.fields = profile_fields(item.name for item in _fields(user, user.selections))
        self.ties: tuple[str, Field, tuple[str, ...] | None] | None = None
        self.orders: Field | None = None
        outs = []
        for item in _fields(user, user.selections):
            out = _profile_out(item, _profile)
            if out is not None:
                outs.append(out)
            elif item.name == "tags" and not item.node.arguments:
                self.tags = True
                details = {f.name for f in _fields(item, item.selections)} & TAG_DETAILS
                self.tag_details = self.tag_details or bool(details)
                outs.append(Out(item.key, _attr("tags"), _object(item, "UserTag", TAG_LEAVES), True))
            elif item.name in ("friends", "followers", "following") and self.ties is None:
                node = _node_field(item)
                names = [f.name for f in _fields(node, node.selections)] if node is not None else []
                self.ties = (item.name, item, profile_fields(names))
                outs.append(
                    Out(item.key, _attr("ties"), _connection_outs(item, _tie_user_outs(node), "User"))
                )
            elif item.name == "orders" and self.orders is None:
                node = _node_field(item)
                inner = _order_outs(node) if node is not None else ()
                outs.append(Out(item.key, _attr("orders"), _connection_outs(item, inner, "Order")))
                self.orders = item
            else:
                raise Unsupported(f"User.{item.name}")
        self.outs = tuple(outs)

    def parts(self, variables: Mapping[str, Any]) -> Parts:
        """The tie and orders pages to read, from the page arguments (Unsupported for other kinds): asked
        before anything is read, as the usual path refuses such arguments before it reads."""
        ties = orders = None
        if self.ties is not None:
            kind, field, fields = self.ties
            ties = profiles.TiesPart(kind, *_page_of(field, variables), fields=fields)
        if self.orders is not None:
            orders = profiles.OrdersPart(*_page_of(self.orders, variables))
        return Parts(ties, orders)

    async def read(self, ctx: Context, user_ids: list[str], parts: Parts) -> dict[str, _Bundle]:
        """What the selection shows of each of ``user_ids`` (unknown ones absent), in one statement."""
        ties, orders = parts
        found = await ctx.call(
            profiles.profile_bundles,
            user_ids=user_ids,
            tags=self.tags,
            ties=ties,
            orders=orders,
            fields=self.fields,
            tag_details=self.tag_details,
        )
        kind = ties.kind if ties is not None else ""
        return {
            user_id: _Bundle(
                profile=bundle.profile,
                tags=bundle.tags,
                ties=_paged(bundle.ties, parts.tie_after, lambda u: profiles.tie_cursor(kind, u.user_id)),
                orders=_paged(bundle.orders, parts.order_after, profiles.order_cursor),
            )
            for user_id, bundle in found.items()
        }


class Parts(NamedTuple):
    """The pages a UserShape reads besides each user (None: not selected)."""

    ties: profiles.TiesPart | None
    orders: profiles.OrdersPart | None

    @property
    def tie_after(self) -> str | None:
        return None if self.ties is None else self.ties.after

    @property
    def order_after(self) -> str | None:
        return None if self.orders is None else self.orders.after


class UserPlan:
    """`user(id)` as a UserShape."""

    def __init__(self, root: Field) -> None:
        self.key = root.key
        self.root = root
        self.user = UserShape(root)

    async def run(self, ctx: Context, values: Mapping[str, Any], sent: Mapping[str, Any]) -> dict[str, Any]:
        user_id = _id(self.root, "id", values)
        found = await self.user.read(ctx, [user_id], self.user.parts(values))
        view = found.get(user_id)
        return {self.key: None if view is None else render(self.user.outs, view)}


def _profile(bundle: _Bundle) -> profiles.UserProfile:
    return bundle.profile


@dataclass(frozen=True)
class _Bundle:
    profile: profiles.UserProfile
    tags: list[profiles.UserTag] | None
    ties: Paged | None
    orders: Paged | None


def _paged(
    page: Any, after: str | None, cursor: Callable[[Any], str]
) -> tuple[Any, str | None, list[str]] | None:
    return None if page is None else (page, after, [cursor(item) for item in page.items])


def _node_field(connection: Field) -> Field | None:
    """The one `edges { node }` of a connection (None when edges or node are not selected)."""
    for edges in _fields(connection, connection.selections):
        if edges.name == "edges":
            for node in _fields(edges, edges.selections):
                if node.name == "node":
                    return node
    return None


def _id(field: Field, name: str, variables: Mapping[str, Any]) -> str:
    """An ID argument as graphql-core coerces it (a string, or an integer as its digits)."""
    value = field.argument(name, dict(variables), Undefined)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise Unsupported(f"{name}: not an ID")


# --- products ------------------------------------------------------------------------------------

PRODUCT_LEAVES: dict[str, Getter] = {
    "sku": _attr("sku"),
    "name": _attr("name"),
    "price": _attr("price", _float),
    "currency": _attr("currency"),
    "brand": _attr("brand"),
    "categoryPath": _attr("category_path", _strings),
    "categoryId": _attr("category_id"),
}
PARTNER_LEAVES = {name: PRODUCT_LEAVES[name] for name in ("sku", "name", "price", "currency")}
PAIR_LEAVES: dict[str, Getter] = {
    "count": _attr("count"),
    "support": _attr("support", _float),
    "confidence": _attr("confidence", _float),
    "lift": _attr("lift", _float),
}


def _of_product(getter: Getter) -> Getter:
    return lambda page: getter(page.product)


def _partner(item: Field) -> Out:
    return Out(item.key, _attr("product"), _object(item, "Product", PARTNER_LEAVES))


PAIR_OBJECTS = {"product": _partner}


class ProductPlan:
    """`product(sku)` with its attributes and one `boughtWith` (partners' sku, name, price, currency)."""

    def __init__(self, root: Field) -> None:
        self.key = root.key
        self.root = root
        self.pairs: Field | None = None
        self.details = False  # brand or categories selected: the read with the category walk
        outs = []
        for item in _fields(root, root.selections):
            if item.name == "__typename":
                outs.append(Out(item.key, _typename("Product")))
            elif item.name in PRODUCT_LEAVES and item.selections is None and not item.node.arguments:
                getter = PRODUCT_LEAVES[item.name]
                self.details = self.details or item.name not in PARTNER_LEAVES
                outs.append(Out(item.key, _of_product(getter)))
            elif item.name == "boughtWith" and self.pairs is None:
                self.pairs = item
                outs.append(
                    Out(
                        item.key, _attr("pairs"), _object(item, "BoughtWith", PAIR_LEAVES, PAIR_OBJECTS), True
                    )
                )
            else:
                raise Unsupported(f"Product.{item.name}")
        self.outs = tuple(outs)

    async def run(self, ctx: Context, values: Mapping[str, Any], sent: Mapping[str, Any]) -> dict[str, Any]:
        sku = _id(self.root, "sku", values)
        first = 0
        if self.pairs is not None:
            first = plain_int(arguments_with_defaults(self.pairs, dict(values)).get("first")) or 0
            if not 1 <= first <= products.MAX_FIRST:  # the usual path reads others apart, or refuses them
                raise Unsupported("boughtWith: first out of range")
        page = await ctx.call(products.product_page, sku=sku, first=first, details=self.details)
        return {self.key: None if page is None else render(self.outs, page)}


# --- audience members ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Members:
    """A page of members as their connection shows it (a members page has no total)."""

    items: list[_Bundle]
    has_next: bool
    total: None = None


COUNT_LEAVES: dict[str, Getter] = {
    "value": _attr("value"),
    "fewerThan": _attr("fewer_than"),
    "exact": _attr("exact"),
}
# Audience fields answered with a Count, and which count each shows (``Audience.shown``).
AUDIENCE_COUNTS: dict[str, Literal["count", "excluded"]] = {"count": "count", "excludedByConsent": "excluded"}


class AudiencePlan:
    """`audience(definition, purpose)` with any of `count`, `excludedByConsent` (each a Count) and one
    `members` page of users as a UserShape shows them: the checks and reads of ``Query.audience``,
    ``Audience.count``, ``Audience.excluded_by_consent`` and ``Audience.members``
    (api/types/audiences.py), through the same functions: the definition parsed and checked for the role
    (``Audience.asked``); the counts, from one count query, each shown as the caller may see it
    (``Audience.shown``: the k-anonymity floor and the count budget); then for members, below admin, the
    audience's and its conditions' counts against the floor, the page of member ids
    (``Audience.member_ids``) and the members' profiles."""

    def __init__(self, schema: GraphQLSchema, operation: OperationDefinitionNode, root: Field) -> None:
        if root.definition is None:
            raise Unsupported("Query.audience unknown")
        self.schema = schema
        self.operation = operation
        self.key = root.key
        self.root = root
        self.counts: list[tuple[str, Literal["count", "excluded"]]] = []  # response key, which count
        self.members: Field | None = None
        self.user: UserShape | None = None
        outs = []
        for item in _fields(root, root.selections):
            if item.name in AUDIENCE_COUNTS and not item.node.arguments:
                self.counts.append((item.key, AUDIENCE_COUNTS[item.name]))
                outs.append(Out(item.key, _item(item.key), _object(item, "Count", COUNT_LEAVES)))
            elif item.name == "members" and self.members is None:
                node = _node_field(item)
                if node is None:
                    raise Unsupported("members without their users")
                self.members, self.user = item, UserShape(node)
                inner = _connection_outs(item, self.user.outs, "User")
                outs.append(Out(item.key, _item(item.key), inner))
            else:
                raise Unsupported(f"Audience.{item.name}")
        self.outs = tuple(outs)

    async def run(self, ctx: Context, values: Mapping[str, Any], sent: Mapping[str, Any]) -> dict[str, Any]:
        variables, arguments = self._arguments(sent)
        audience = Audience.asked(ctx, arguments["definition"], arguments["purpose"])
        found: dict[str, Any] = {}
        for key, which in self.counts:
            found[key] = await audience.shown(ctx, which)
        if self.members is not None and self.user is not None:
            first, after = _page_of(self.members, variables)
            parts = self.user.parts(variables)
            page = await audience.member_ids(ctx, first, after)
            read = await self.user.read(ctx, page.users, parts)
            members = _Members([read[user_id] for user_id in page.users if user_id in read], page.has_next)
            found[self.members.key] = _paged(
                members, after, lambda view: service.member_cursor(view.profile.user_id)
            )
        return {self.key: render(self.outs, found)}

    def _arguments(self, sent: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The variables as graphql-core coerces them for execution, and ``Query.audience``'s arguments
        as Strawberry hands them to its resolver (an AudienceInput, a Purpose); Unsupported when the
        variables do not coerce (the usual path answers with its errors)."""
        variables = get_variable_values(self.schema, self.operation.variable_definitions or [], dict(sent))
        if isinstance(variables, list):
            raise Unsupported("variables that do not coerce")
        assert self.root.definition is not None  # __init__ checked
        given = get_argument_values(self.root.definition, self.root.node, variables)
        strawberry_schema = self.schema._strawberry_schema  # type: ignore[attr-defined]
        resolver = self.root.definition.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
        arguments = convert_arguments(
            given,
            resolver.arguments,
            scalar_registry=strawberry_schema.schema_converter.scalar_registry,
            config=strawberry_schema.config,
        )
        return variables.coerced, arguments


# --- plans -----------------------------------------------------------------------------------------

Plan = UserPlan | ProductPlan | AudiencePlan


@dataclass(frozen=True)
class Compiled:
    """A plan with what the per-request checks need of its document."""

    plan: Plan
    document: DocumentNode
    operation: OperationDefinitionNode
    tree: Tree
    selected: Selection
    defaults: dict[str, Any]  # the variables' default values
    variable_cost: bool  # a page size comes from a variable: the cost is checked per request


def compile_plan(schema: GraphQLSchema, query: str, operation_name: str | None) -> Compiled:
    """The plan of an operation, or Unsupported."""
    document = parse(query)
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.QUERY or operation.directives:
        raise Unsupported("not one query")
    tree = tree_of(schema, document)
    roots = _fields(None, tree.operation(operation))
    if len(roots) != 1:
        raise Unsupported("one root field at a time")
    root = roots[0]
    plan: Plan
    if root.name == "user":
        plan = UserPlan(root)
    elif root.name == "product":
        plan = ProductPlan(root)
    elif root.name == "audience":
        plan = AudiencePlan(schema, operation, root)
    else:
        raise Unsupported(f"Query.{root.name}")
    selected = tree.selected(operation, [*PII_FIELDS, MEMBERS])
    defaults = {
        v.variable.name.value: value_from_ast_untyped(v.default_value)
        for v in operation.variable_definitions or ()
        if v.default_value is not None
    }
    sized = any(
        argument.name.value not in ("id", "sku") and isinstance(argument.value, VariableNode)
        for node in _field_nodes(operation)
        for argument in node.arguments or ()
    )
    return Compiled(plan, document, operation, tree, selected, defaults, sized)


def _field_nodes(operation: OperationDefinitionNode) -> list[FieldNode]:
    """Every field of an operation without fragments (the only kind a plan is made of)."""
    found: list[FieldNode] = []
    stack = [operation.selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
                if selection.selection_set is not None:
                    stack.append(selection.selection_set)
    return found


class FastPaths:
    """Plans by (document, operation name, role), the ``capacity`` most recently used; documents found
    Unsupported are remembered too, so they are looked at once."""

    def __init__(self, schema: GraphQLSchema, max_cost: int, capacity: int = 1_000) -> None:
        self.schema = schema
        self.max_cost = max_cost
        self.capacity = capacity
        self._plans: OrderedDict[tuple[str, str | None, Role], Compiled | None] = OrderedDict()

    def plan(self, query: str | None, operation_name: str | None, role: Role | None) -> Compiled | None:
        if query is None or role is None:
            return None
        key = (query, operation_name, role)
        found = self._plans.get(key)
        if found is not None:
            self._plans.move_to_end(key)
        return found

    def learn(self, query: str, operation_name: str | None, role: Role) -> None:
        """After the usual path answered this document for ``role`` without an error."""
        key = (query, operation_name, role)
        if key in self._plans:
            return
        try:
            self._plans[key] = compile_plan(self.schema, query, operation_name)
        except Unsupported:
            self._plans[key] = None
        if len(self._plans) > self.capacity:
            self._plans.popitem(last=False)

    async def answer(
        self, compiled: Compiled, ctx: Context, variables: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """``run``'s data, or None when the request is handed back to the usual path (which then answers
        it, errors and all); each counted in ``persona_graphql_fast_path_total``."""
        try:
            data = await self.run(compiled, ctx, variables)
        except Exception as exc:  # the usual path answers, errors and all
            log.debug("fast path handed a request back: %r", exc)
            ctx.metrics.fast_path.labels("handed_back").inc()
            return None
        ctx.metrics.fast_path.labels("answered").inc()
        return data

    async def run(
        self, compiled: Compiled, ctx: Context, variables: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """The answer's data; raises (Unsupported or anything) when the usual path must answer."""
        values = {**compiled.defaults, **(variables or {})}
        if compiled.variable_cost:  # else the cost is the document's, checked already
            cost, _ = cost_parts(self.schema, compiled.document, compiled.operation, values)
            if cost > self.max_cost:
                raise Unsupported("over the cost limit: the usual path says so")
        data = await compiled.plan.run(ctx, values, variables or {})
        audit(ctx, compiled.tree, compiled.operation, compiled.selected, data, [])
        ctx.metrics.operations.labels("query", "ok").inc()
        return data
