"""The GraphQL side of access control and audit, one schema extension per request:

- before execution: the role matrix (api/policy.py ``check_operation``) on the operation about to
  run; a refusal is a request error (``FORBIDDEN``, no ``data``) naming the fields;
- after execution: one audit entry (graph/audit.py) when the operation was a mutation, read personal
  data (api/policy.py ``PII_FIELDS``) or listed audience members (an export), with the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, OperationType, get_operation_ast
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from api.policy import PII_FIELDS, PolicyError, check_operation, response_keys
from graph.audit import AuditEntry

MEMBERS = ("Audience", "members")


class AccessControl(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        context = ctx.context
        document = ctx.graphql_document
        operation = get_operation_ast(document, ctx.operation_name) if document is not None else None
        if ctx.result is None and document is not None and operation is not None:
            try:
                if context.principal is None:
                    raise PolicyError("Credentials required")
                check_operation(context.principal.role, ctx.schema._schema, document, operation)
            except PolicyError as exc:
                ctx.result = GraphQLExecutionResult(
                    data=None,
                    errors=[GraphQLError(str(exc), operation, extensions={"code": exc.code})],
                )
                yield
                return
        yield
        if operation is not None and isinstance(ctx.result, GraphQLExecutionResult):
            assert document is not None and context.principal is not None  # checked above
            self._audit(document, operation, ctx.result)

    def _audit(
        self, document: DocumentNode, operation: OperationDefinitionNode, result: GraphQLExecutionResult
    ) -> None:
        ctx = self.execution_context
        context = ctx.context
        principal = context.principal
        what = ctx.operation_name or ",".join(
            sel.name.value for sel in operation.selection_set.selections if hasattr(sel, "name")
        )
        data = result.data or {}
        if operation.operation == OperationType.MUTATION:
            done = [key for key, value in data.items() if value is not None]
            context.audit.record(
                AuditEntry(
                    actor=principal.subject,
                    role=principal.role.value,
                    action="mutation",
                    what=what,
                    rows=len(done),
                    details={"fields": sorted(done), "errors": len(result.errors or [])},
                )
            )
            return
        keys = response_keys(ctx.schema._schema, document, operation, [*PII_FIELDS, MEMBERS])
        if MEMBERS in keys:
            context.audit.record(
                AuditEntry(
                    actor=principal.subject,
                    role=principal.role.value,
                    action="export",
                    what=what,
                    rows=_count_members(data, keys[MEMBERS]),
                )
            )
        pii = {f"{t}.{f}" for (t, f) in keys if (t, f) in PII_FIELDS}
        if pii:
            pii_keys = set().union(*(keys[p] for p in keys if p in PII_FIELDS))
            context.audit.record(
                AuditEntry(
                    actor=principal.subject,
                    role=principal.role.value,
                    action="read",
                    what=what,
                    rows=_count_objects(data, pii_keys),
                    details={"fields": sorted(pii)},
                )
            )


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
