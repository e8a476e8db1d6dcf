"""Privacy: consent statements and the audit log of who read or changed personal data."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from personagraph.api import policy
from personagraph.api.auth import Principal
from personagraph.api.enums import ConsentPurpose
from personagraph.api.types.records import from_record
from personagraph.graph.audit import AuditEntry
from personagraph.graph.privacy import consent


@strawberry.type(description="One consent statement: granted or withdrawn, when, through what.")
class ConsentChange:
    user_id: strawberry.ID
    purpose: ConsentPurpose
    granted: bool
    at: datetime
    source: str
    applied: bool = strawberry.field(
        description="False when older than the statement that set the flag: recorded, but the newer one "
        "stands."
    )

    @staticmethod
    def of(c: consent.ConsentChange) -> ConsentChange:
        return from_record(ConsentChange, c, purpose=ConsentPurpose(c.purpose))


@strawberry.type(description="Who did what, when, to how many users' data (no personal data).")
class AuditLogEntry:
    at: str
    actor: str
    role: str
    action: str
    what: str
    rows: int
    details: JSON

    @staticmethod
    def of(e: AuditEntry) -> AuditLogEntry:
        return from_record(AuditLogEntry, e)


@strawberry.type(
    description="The caller: the key's (or token's) subject and role, and what that role may not read, so "
    "an app can leave those fields out instead of being refused (docs/security.md)."
)
class Viewer:
    subject: str
    role: str
    may_not_read: list[str] = strawberry.field(
        description="'Type.field' pairs the role may not select, e.g. 'User.birthYear'."
    )
    masked_attributes: list[str] = strawberry.field(
        description="Audience attributes the role may not filter or break down by."
    )

    @staticmethod
    def of(principal: Principal) -> Viewer:
        role = principal.role
        return Viewer(
            subject=principal.subject,
            role=role.value,
            may_not_read=sorted(
                f"{t}.{f}" for (t, f), roles in policy.FIELD_ROLES.items() if role not in roles
            ),
            masked_attributes=sorted(policy.MASKED_ATTRIBUTES[role]),
        )
