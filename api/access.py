"""The GraphQL side of access control and audit, one schema extension per request:

- before execution: the role matrix (api/policy.py ``check_fields``) on what the operation about to
  run selects (api/selection.py ``selected``, from the document's one tree, which also gives the audit
  entry its rows and root fields); a refusal is a request error (``FORBIDDEN``, no ``data``) naming
  the fields;
- after execution: audit entries (graph/audit.py) when the operation was a mutation, read personal
  data (api/policy.py ``PII_FIELDS``; a mutation answering with some gets a ``read`` entry too) or
  listed audience members (an export), with the number of rows; a subscription gets a ``subscribe``
  entry when it starts (strawberry runs no execution result through here for one, and subscribes
  whatever ``result`` says: a refusal is raised instead, and is the subscription's error). An entry's
  ``what`` names the root fields that ran; the client's ``operationName`` is only kept as
  ``details.client_operation_name``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, OperationDefinitionNode, OperationType, get_operation_ast
from strawberry.extensions import SchemaExtension

from personagraph.api.policy import PII_FIELDS, PolicyError, check_fields
from personagraph.api.selection import Selection, Tree, tree_of
from personagraph.graph.audit import AuditEntry

MEMBERS = ("Audience", "members")


class AccessControl(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        context = ctx.context
        document = ctx.graphql_document
        operation = get_operation_ast(document, ctx.operation_name) if document is not None else None
        selected = tree = None
        if ctx.result is None and document is not None and operation is not None:
            # One walk of the operation for both the role check and the audit entry's row count.
            tree = tree_of(ctx.schema._schema, document)
            selected = tree.selected(operation, [*PII_FIELDS, MEMBERS])
            try:
                if context.principal is None:
                    raise PolicyError("Credentials required")
                check_fields(context.principal.role, selected.fields)
            except PolicyError as exc:
                refusal = GraphQLError(str(exc), operation, extensions={"code": exc.code})
                if operation.operation == OperationType.SUBSCRIPTION:
                    raise refusal from None  # strawberry subscribes whatever the result: this is the answer
                ctx.result = GraphQLExecutionResult(data=None, errors=[refusal])
                yield
                return
            if operation.operation == OperationType.SUBSCRIPTION:
                audit(context, tree, operation, selected, None, [])  # its start; messages follow for long
        yield
        if (
            selected is not None
            and tree is not None
            and operation is not None
            and isinstance(ctx.result, GraphQLExecutionResult)
        ):
            audit(context, tree, operation, selected, ctx.result.data, ctx.result.errors or [])


def audit(
    context: Any,
    tree: Tree,
    operation: OperationDefinitionNode,
    selected: Selection,
    data: dict[str, Any] | None,
    errors: Sequence[GraphQLError],
) -> None:
    """The audit entries of one executed operation (the module's docstring says which), from its answer."""
    principal = context.principal
    assert principal is not None  # AccessControl refused the operation otherwise
    # What ran, from the root fields executed (never the client's operationName, which says
    # whatever the client likes: it is kept apart, as ``client_operation_name``).
    names = tree.root_fields(operation)
    data = data or {}
    executed = sorted({names[key] for key in data if key in names} if data else set(names.values()))
    what = ",".join(executed)
    client_name = {"client_operation_name": operation.name.value[:100]} if operation.name else {}

    def record(action: str, rows: int, **details: Any) -> None:
        entry = AuditEntry(
            principal.subject, principal.role.value, action, what, rows, {**details, **client_name}
        )
        context.audit.record(entry)

    if operation.operation == OperationType.SUBSCRIPTION:
        record("subscribe", 0)  # what and who; the ids it watches are in no entry (personal data)
    if operation.operation == OperationType.MUTATION:
        done = [key for key, value in data.items() if value is not None]
        fields = sorted({names[key] for key in done if key in names})
        record("mutation", len(done), fields=fields, errors=len(errors))
        # ... and, like a query, a read entry when what it answers carries personal data.
    keys = selected.keys
    if MEMBERS in keys:
        record("export", _count_members(data, keys[MEMBERS]))
    pii = [pair for pair in keys if pair in PII_FIELDS]
    if pii:
        pii_keys = set().union(*(keys[p] for p in pii))
        record("read", _count_objects(data, pii_keys), fields=sorted(f"{t}.{f}" for t, f in pii))


def _count_objects(value: Any, keys: set[str]) -> int:
    """Objects in a response carrying a non-null value under any of ``keys``."""
    if isinstance(value, list):
        return sum(_count_objects(v, keys) for v in value)
    if not isinstance(value, dict):
        return 0
    here = 1 if any(value.get(k) not in (None, []) for k in keys) else 0
    return here + sum(_count_objects(v, keys) for v in value.values())


def _count_members(value: Any, keys: set[str]) -> int:
    """Member edges returned under the members fields (``keys``)."""
    if isinstance(value, list):
        return sum(_count_members(v, keys) for v in value)
    if not isinstance(value, dict):
        return 0
    total = 0
    for key, inner in value.items():
        if key in keys and isinstance(inner, dict):
            total += sum(len(v) for v in inner.values() if isinstance(v, list))
        else:
            total += _count_members(inner, keys)
    return total
