"""The estimated cost of an operation: every field costs the number of times it would be resolved at
most, the product of the page sizes of the lists around it (``estimate_cost``). A field evaluating an
audience definition adds ``RELATIONAL_FANOUT`` to the power of each relational condition's nesting
level (``definition_cost``): each level multiplies the work by every member's ties.

api/validation.py refuses operations over ``PERSONA_API_MAX_COST`` with it, just before execution,
once the variables are known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    Undefined,
    get_named_type,
    value_from_ast_untyped,
)

from personagraph.api.selection import Field, Fragments, Selections, Tree, tree_of
from personagraph.graph import paging
from personagraph.graph.analytics import insights
from personagraph.graph.audiences import service
from personagraph.graph.audiences.model import RELATIONAL_KINDS
from personagraph.graph.products import read as products
from personagraph.graph.profiles import read as profiles

PAGE_ARGUMENTS = ("first", "limit")  # arguments that size the list a field returns
UNPAGED_LIST_SIZE = 10  # items assumed for a list with no page argument (a user's tags, an order's lines)
# No field serves a bigger page than this (graph/ refuses larger ones with BAD_USER_INPUT, which
# should stay the answer to `influencers(first: 100000)`), so a bigger `first` counts as this.
LARGEST_PAGE = max(
    paging.MAX_PAGE, insights.MAX_FIRST, products.MAX_FIRST, profiles.MAX_NEIGHBORHOOD, service.MAX_PAGE
)

# An audience definition (the ``definition`` argument, of type AudienceInput) costs this to the power of
# its nesting level for each relational condition in it: ties assumed per member at each level, so
# friends { who: friends { who: ... } } costs 100 + 10,000, and a third level would cost 1,000,000.
DEFINITION_ARGUMENT, DEFINITION_TYPE = "definition", "AudienceInput"
RELATIONAL_FANOUT = 100


class _CostEstimate:
    """``estimate_cost``'s walk: selections with the page that their list fields will consume.

    A field with a page argument (``first``, ``limit``) that returns a list multiplies what is
    selected inside it by its page size; one that returns an object (a connection) hands its page
    size down to the first list below it (``edges``). A list with neither counts as the length of
    its list argument (``users(ids:)``) or ``UNPAGED_LIST_SIZE``. The cost of a selection set is
    linear in its multiplier, so each fragment is walked once per page handed to it.
    """

    def __init__(self, tree: Tree, operation: OperationDefinitionNode, variables: Mapping[str, Any]) -> None:
        self.definitions = 0  # of the cost, what audience definitions add (for the error message)
        self.fragments = Fragments(tree)
        self.variables = {
            d.variable.name.value: value_from_ast_untyped(d.default_value)
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }
        self.variables.update(variables)

    def selections(self, selections: Selections, page: int | None) -> int:
        cost = 0
        for item in selections.items:
            if isinstance(item, Field):
                cost += 1
                field = item.definition
                if field is not None:
                    cost += self._definition(field.args, item)
                if field is None or item.selections is None:
                    continue  # a leaf, introspection (cheap: no Neo4j) or unknown (validation said so)
                size, inner_page = self._page(field.type, field.args, item, page)
                if size:
                    cost += size * self.selections(item.selections, inner_page)
            elif isinstance(item, Selections):
                cost += self.selections(item, page)
            else:
                cost += self.fragments.value(item.name, page, lambda f: self.selections(f, page))
        return cost

    def _definition(self, args: Mapping[str, Any], field: Field) -> int:
        """What the audience definition given to this field adds (0 for fields that take none)."""
        arg = args.get(DEFINITION_ARGUMENT)
        if arg is None or get_named_type(arg.type).name != DEFINITION_TYPE:
            return 0
        cost = definition_cost(field.argument(DEFINITION_ARGUMENT, self.variables, None))
        self.definitions += cost
        return cost

    def _page(
        self, field_type: GraphQLOutputType, args: Mapping[str, Any], field: Field, page: int | None
    ) -> tuple[int, int | None]:
        """(multiplier for what is selected inside, page handed down to the lists below)."""
        unwrapped = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        is_list = isinstance(unwrapped, GraphQLList)
        for name in PAGE_ARGUMENTS:
            if name in args:
                size = self._int(field.argument(name, self.variables, args[name].default_value))
                return (size, None) if is_list else (1, size)
        if not is_list:
            return 1, page
        if page is not None:
            return page, None
        for name, arg in args.items():
            arg_type = arg.type.of_type if isinstance(arg.type, GraphQLNonNull) else arg.type
            if isinstance(arg_type, GraphQLList):
                value = field.argument(name, self.variables, arg.default_value)
                if isinstance(value, list):
                    return len(value), None
                if value is not None and value is not Undefined:
                    return 1, None  # a single value stands for a list of one
        return UNPAGED_LIST_SIZE, None

    @staticmethod
    def _int(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return min(max(value, 0), LARGEST_PAGE)
        return UNPAGED_LIST_SIZE  # not an Int: execution refuses it anyway


def definition_cost(definition: Any) -> int:
    """The cost of an audience definition as given (not yet validated: any JSON): each relational
    condition (friends, followers, referralHops) costs ``RELATIONAL_FANOUT ** level``, where level 1
    is one not inside another's ``who`` / ``of``. Levels past the model's cap (which refuses them)
    count as one past it, enough to go over any sensible limit."""
    cost = 0
    stack: list[tuple[Any, int]] = [(definition, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, list):
            stack.extend((child, level) for child in node)
            continue
        if not isinstance(node, Mapping):
            continue
        for key, value in node.items():
            if key in ("and", "or", "not"):
                stack.append((value, level))
            elif key in RELATIONAL_KINDS:
                cost += RELATIONAL_FANOUT ** min(level + 1, MAX_RELATIONAL_LEVEL)
                if isinstance(value, Mapping):
                    stack.append((value.get(RELATIONAL_KINDS[key]), level + 1))
    return cost


MAX_RELATIONAL_LEVEL = 3  # the model allows 2 (graph/audiences/model.py MAX_RELATIONAL_DEPTH)


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The sum over the operation's fields of the product of the page sizes of the lists around each
    (``first`` from the arguments, the variables or the schema's default, at most ``LARGEST_PAGE``;
    1 outside any list).

    ``friends(first: 100) { edges { node { friends(first: 100) { edges { node { id } } } } } }``
    costs 1 + 1 + 100 + 100 + 100 + 10 000 + 10 000 (each ``id`` is resolved 10 000 times).
    """
    return cost_parts(schema, document, operation, variables)[0]


def cost_parts(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> tuple[int, int]:
    """(the cost, of which audience definitions)."""
    tree = tree_of(schema, document)
    estimate = _CostEstimate(tree, operation, variables or {})
    return estimate.selections(tree.operation(operation), None), estimate.definitions
