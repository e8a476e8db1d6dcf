"""What each role may do: the role matrix (docs/security.md), enforced here and nowhere else.

Three checks, one table each:

- **Fields** (``FIELD_ROLES``): a (type, field) pair listed here is open only to the roles named;
  everything else is open to every authenticated role. ``check_fields`` checks what the operation
  the request is about to execute selects (api/selection.py ``selected``: fragments and inline
  fragments included, each fragment once) and refuses it as a whole (``FORBIDDEN``, nothing runs)
  when it selects a field the caller's role may not see. So a masked field cannot be reached under
  an alias, in a fragment or through another path.
- **Audience definitions** (``check_audience``): roles with masked attributes may not filter or break
  down by them (a filter on a birth year is a way to read it), and marketers may only use purposes
  that apply consent. Called wherever a definition is evaluated or shown (ad hoc and saved).
- **Counts** are not here but in api/counts.py: every role below admin sees counts protected by
  graph/privacy/k_anonymity.py.

Errors name the field or attribute and the role, never a value from the graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from personagraph.graph.audiences.model import (
    Condition,
    FollowersNode,
    FriendsNode,
    ReferralHopsNode,
    conditions,
    definition_attributes,
    kind_of,
)
from personagraph.graph.kinds import CONSENT_PURPOSES
from personagraph.graph.privacy.singling_out import CoarseningError, coarsened, singling_out


class Role(StrEnum):
    ADMIN = "admin"  # everything, exact counts, the audit log
    SERVICE = "service"  # back-end apps: profiles, cross-sell, every mutation
    MARKETER = "marketer"  # audiences of consented users, saved audiences, exports
    ANALYST = "analyst"  # aggregates and pseudonymous profiles: no identities or exact birth data


ADMIN, SERVICE, MARKETER, ANALYST = Role.ADMIN, Role.SERVICE, Role.MARKETER, Role.ANALYST
EVERYONE = frozenset(Role)
WRITERS = frozenset({ADMIN, SERVICE})
PROFILE_READERS = frozenset({ADMIN, SERVICE, ANALYST})  # marketers reach people through audiences
IDENTIFYING = frozenset({ADMIN, SERVICE, MARKETER})  # identities, customer ids, exact birth data

# Personal data a response can carry: reading these is audited (api/audit_ext.py), and their
# audience attributes are masked together with the field.
PII_FIELDS: dict[tuple[str, str], str | None] = {
    # (type, field) -> the audience attribute that would reveal the same value, if any
    ("User", "identities"): None,
    ("User", "customerId"): "customerId",
    ("User", "birthYear"): "birthYear",
    ("User", "consentHistory"): None,
    ("User", "surveys"): None,  # psychographics: values, attitudes, motives (docs/surveys.md)
}

FIELD_ROLES: dict[tuple[str, str], frozenset[Role]] = {
    # Who may look up people directly.
    ("Query", "user"): PROFILE_READERS,
    ("Query", "users"): PROFILE_READERS,
    ("Query", "influencers"): PROFILE_READERS,
    ("Query", "auditLog"): frozenset({ADMIN}),
    # Identifying attributes.
    ("User", "identities"): IDENTIFYING,
    ("User", "customerId"): IDENTIFYING,
    ("User", "birthYear"): IDENTIFYING,
    ("User", "consentHistory"): WRITERS,
    # Survey answers: who may look people up (a marketer reaches members through audiences, not answers).
    ("User", "surveys"): PROFILE_READERS,
    # Ways from one person to others: a marketer's members are consented, their friends may not be.
    ("User", "friends"): PROFILE_READERS,
    ("User", "followers"): PROFILE_READERS,
    ("User", "following"): PROFILE_READERS,
    ("User", "neighborhood"): PROFILE_READERS,
    ("User", "lookalikes"): PROFILE_READERS,
    # Changing the graph.
    ("Mutation", "upsertUser"): WRITERS,
    ("Mutation", "recordEvent"): WRITERS,
    ("Mutation", "recordOrder"): WRITERS,
    ("Mutation", "recordEvents"): WRITERS,
    ("Mutation", "tagUser"): WRITERS,
    ("Mutation", "untagUser"): WRITERS,
    ("Mutation", "setConsent"): WRITERS,
    ("Mutation", "forgetUser"): WRITERS,
    ("Mutation", "saveAudience"): frozenset({ADMIN, SERVICE, MARKETER}),  # a definition, not personal data
    # Audiences delivered to ad platforms (graph/activation/): people's hashed identifiers leave the graph.
    ("Mutation", "pushAudience"): frozenset({ADMIN, MARKETER}),
    # Subscriptions (api/types/changes.py): a user's changes for whom may look the user up (as Query.user);
    # an audience's for whom may list its members, with the checks Audience.members makes for the role.
    ("Subscription", "userTagsChanged"): PROFILE_READERS,
    ("Subscription", "profileChanged"): PROFILE_READERS,
    ("Subscription", "audienceMembershipChanged"): EVERYONE,
    # Webhooks: where the graph's changes go, signed with secrets only admins see (docs/realtime.md).
    ("Query", "webhooks"): frozenset({ADMIN}),
    ("Query", "webhookDeliveries"): frozenset({ADMIN}),
    ("Mutation", "registerWebhook"): frozenset({ADMIN}),
    ("Mutation", "removeWebhook"): frozenset({ADMIN}),
    ("Mutation", "retryWebhookDelivery"): frozenset({ADMIN}),
}

# Audience attributes a role may not filter or break down by (they would reveal a masked field).
MASKED_ATTRIBUTES: dict[Role, frozenset[str]] = {
    role: frozenset(
        attr
        for (type_name, field), attr in PII_FIELDS.items()
        if attr and role not in FIELD_ROLES.get((type_name, field), EVERYONE)
    )
    for role in Role
}
# Purposes whose audiences apply consent: the only ones a marketer may use.
MARKETER_PURPOSES = frozenset(CONSENT_PURPOSES)
# Arguments that reach one person's data, open only to the roles named (the field itself is open).
ARGUMENT_ROLES: dict[tuple[str, str, str], frozenset[Role]] = {
    # A user's purchase history (their cross-sell) is a profile read; marketers reach people only
    # through audiences of consented users.
    ("Query", "crossSell", "userId"): PROFILE_READERS,
}
# Audience conditions that walk from the people counted to others (their ties): not for marketers,
# whose audiences hold consented people only, while those people's friends may not have consented.
TIE_CONDITIONS: tuple[type, ...] = (FriendsNode, FollowersNode, ReferralHopsNode)


class PolicyError(Exception):
    """The caller's role may not do this (``FORBIDDEN``)."""

    code = "FORBIDDEN"


def allowed(role: Role, type_name: str, field: str) -> bool:
    return role in FIELD_ROLES.get((type_name, field), EVERYONE)


def check_fields(role: Role, fields: Iterable[tuple[str, str]]) -> None:
    """Raise PolicyError naming every selected field that ``role`` may not select."""
    denied = sorted(p for p in fields if not allowed(role, *p))
    if denied:
        names = ", ".join(f"{t}.{f}" for t, f in denied)
        raise PolicyError(f"The {role.value} role may not read or call: {names}")


def check_audience(role: Role, root: Condition, purpose: str) -> None:
    """Raise PolicyError when ``role`` may not evaluate this definition for this purpose."""
    if role == MARKETER and purpose not in MARKETER_PURPOSES:
        raise PolicyError(
            f"purpose: the marketer role may only use purposes that apply consent "
            f"({', '.join(sorted(MARKETER_PURPOSES))})"
        )
    check_attributes(role, definition_attributes(root))


def protect(role: Role, root: Condition, purpose: str, k: int) -> Condition:
    """The definition ``role`` may evaluate for ``purpose``: ``check_audience``, then, below admin, no
    condition naming one person (ids, exact scores, one user's ties) and influence ranks coarsened to
    buckets of ``k`` (graph/privacy/singling_out.py); marketers may not walk ties at all."""
    check_audience(role, root, purpose)
    if role == ADMIN:
        return root
    if role == MARKETER:
        ties = sorted({kind_of(n) for n in conditions(root) if isinstance(n, TIE_CONDITIONS)})
        if ties:
            raise PolicyError(
                f"definition: the marketer role may not use conditions on ties ({', '.join(ties)}): "
                "they reach people outside a consented audience"
            )
    named = singling_out(root)
    if named:
        raise PolicyError(
            f"definition: the {role.value} role may not use conditions that single one person out: "
            + "; ".join(named)
        )
    try:
        return coarsened(root, k)
    except CoarseningError as exc:
        raise PolicyError(f"definition: {exc}") from exc


def check_argument(role: Role, type_name: str, field: str, argument: str) -> None:
    """Raise PolicyError when ``role`` may not pass ``argument`` to ``type_name.field``."""
    if role not in ARGUMENT_ROLES.get((type_name, field, argument), EVERYONE):
        raise PolicyError(f"{argument}: the {role.value} role may not pass it to {type_name}.{field}")


def check_attributes(role: Role, attributes: Iterable[str], argument: str = "definition") -> None:
    masked = sorted(set(attributes) & MASKED_ATTRIBUTES[role])
    if masked:
        raise PolicyError(
            f"{argument}: the {role.value} role may not filter or break down by {', '.join(masked)}"
        )


def as_role(value: Any) -> Role:
    return value if isinstance(value, Role) else Role(value)
