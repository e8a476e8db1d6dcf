"""Look-ahead: what a resolver may read of the fields selected right under it, to start their reads
alongside its own (api/selection.py holds the walk)."""

from __future__ import annotations

from typing import Any

from graphql import Undefined
from strawberry.types import Info

from personagraph.api.context import Context
from personagraph.api.selection import Field, tree_of_info

Ctx = Info[Context, None]


def direct_fields(info: Ctx) -> list[tuple[str, dict[str, Any]]]:
    """(name, arguments) of each field selected right under the one resolving, through fragments,
    with variables put in (api/selection.py ``direct_fields``, from the document's one tree).

    ``info.selected_fields`` would convert the whole selection tree below (every nested field,
    argument and directive, ~2 ms for a profile query) and gives a literal Int as its text, where
    look-ahead needs only this one level.
    """
    raw = info._raw_info  # strawberry's own Info keeps graphql-core's ResolveInfo here
    return tree_of_info(raw).direct_fields(raw.field_nodes, info.variable_values)


def fields_under(info: Ctx, *path: str) -> list[Field]:
    """The fields selected under the one resolving at ``path`` (e.g. ``"edges", "node"``), through
    fragments (api/selection.py ``fields_under``)."""
    raw = info._raw_info
    return tree_of_info(raw).fields_under(raw.field_nodes, path)


def arguments_with_defaults(field: Field, variables: dict[str, Any] | None) -> dict[str, Any]:
    """A selected field's arguments as given, variables put in, and the schema's defaults for the rest
    (an argument whose variable was not sent counts as not given, as GraphQL says)."""
    given = field.arguments(variables)
    if field.definition is not None:
        for name, argument in field.definition.args.items():
            if given.get(name, Undefined) is Undefined and argument.default_value is not Undefined:
                given[name] = argument.default_value
    return given


def plain_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def page_arguments(args: dict[str, Any]) -> tuple[int, str | None] | None:
    """(first, after) when both are plain values (first given), else None."""
    first, after = plain_int(args.get("first")), args.get("after")
    if first is not None and (after is None or isinstance(after, str)):
        return first, after
    return None
