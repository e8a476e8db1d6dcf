"""Consent: the statements a user makes about what their data may be used for, their history, and the
flag each purpose sets on the user (marketingConsent, personalizationOptOut).

A statement is applied before set_consent returns, with what follows from it: the user's saved-audience
membership is refreshed, so a withdrawal takes them out of audiences of that purpose whoever records it
(the API, ``persona consent set``); an advertising statement that leaves the user without advertising
consent removes the ad-platform match keys from their identities (graph/activation/). The graph model is
in docs/privacy-data.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from personagraph.graph.activation.keys_store import drop_match_keys
from personagraph.graph.audiences.service import refresh_user_membership
from personagraph.graph.errors import NotFoundError, PersonaGraphError
from personagraph.graph.kinds import CONSENT_ALIASES, CONSENT_PURPOSES, Purpose
from personagraph.graph.store import GraphStore
from personagraph.graph.times import utc

# The purposes a consent statement is about (CONSENT_PURPOSES) are named as audiences name them, in
# graph/kinds.py. "personalisation", the name before, is still accepted (CONSENT_ALIASES; and read from a
# graph not migrated yet: schema V004 renames the stored statements).
MAX_SOURCE = 200


class PrivacyInputError(PersonaGraphError, ValueError):
    """An argument to a consent or forget call does not validate; the message names it."""


@dataclass(frozen=True)
class ConsentChange:
    """One consent statement: the user granted or withdrew one purpose, at a time, through a source.

    ``applied`` is False for a statement older than the one that set the flag: it is recorded, but the
    newer statement stands (a back-dated grant never overrides a later withdrawal)."""

    user_id: str
    purpose: str
    granted: bool
    at: datetime
    source: str
    applied: bool = True


def consent_purpose(purpose: str) -> str:
    """The purpose's name (an alias gives the name it stands for); PrivacyInputError for anything else."""
    named = CONSENT_ALIASES.get(purpose, purpose)
    if named not in CONSENT_PURPOSES:
        raise PrivacyInputError(
            f"purpose: {purpose!r} is not a consent purpose; expected one of {', '.join(CONSENT_PURPOSES)}"
        )
    return named


def set_consent(
    store: GraphStore,
    *,
    user_id: str,
    purpose: str,
    granted: bool,
    source: str,
    at: datetime | None = None,
) -> ConsentChange:
    """Record one consent statement and apply it to the user's flag (marketingConsent or
    personalizationOptOut) if it is newer than the statement that set the flag (at the same time, a
    withdrawal wins); an older one is recorded with ``applied=False`` and changes nothing. The same
    value again is still recorded: it is a statement by the user. The user's saved-audience membership
    is refreshed before this returns (a withdrawal takes them out of the audiences of that purpose), and
    each entry or exit is recorded in the change log (cause "consent", e.g. "marketing:withdrawn")."""
    purpose = consent_purpose(purpose)
    if not isinstance(granted, bool):
        raise PrivacyInputError(f"granted: expected true or false, got {granted!r}")
    if not source.strip() or len(source) > MAX_SOURCE:
        raise PrivacyInputError(
            f"source: {source!r}; expected who or what took the statement (1-{MAX_SOURCE} characters), "
            "e.g. 'preference centre'"
        )
    moment = utc(at) if at is not None else datetime.now(UTC)
    records = store.write_returning(
        "privacy/write/set_consent",
        userId=user_id,
        purpose=purpose,
        granted=granted,
        at=moment,
        source=source.strip(),
    )
    if not records:
        raise NotFoundError(f"userId: no user with id {user_id!r}")
    statement = f"{purpose}:{'granted' if granted else 'withdrawn'}"
    if purpose == Purpose.ADVERTISING.value:  # no consent, no platform hashes (graph/activation/)
        drop_match_keys(store, user_id=user_id)
    refresh_user_membership(store, user_id, cause="consent", cause_ids=(statement,))
    return ConsentChange(user_id, purpose, granted, moment, source.strip(), bool(records[0]["applied"]))


def consent_history(store: GraphStore, *, user_ids: Sequence[str]) -> dict[str, list[ConsentChange]]:
    """Each user's consent statements, newest first, in one query (for DataLoaders); [] when none."""
    found: dict[str, list[ConsentChange]] = {}
    for r in store.read("privacy/read/consent_history", userIds=list(user_ids)):
        changes = sorted(
            r["changes"],
            key=lambda c: (utc(c["at"]), utc(c["recordedAt"] or c["at"])),
            reverse=True,
        )
        found[r["userId"]] = [
            ConsentChange(
                r["userId"],
                CONSENT_ALIASES.get(c["purpose"], c["purpose"]),
                c["granted"],
                utc(c["at"]),
                c["source"],
                c["applied"],
            )
            for c in changes
        ]
    return {uid: found.get(uid, []) for uid in user_ids}


__all__ = [
    "ConsentChange",
    "PrivacyInputError",
    "consent_history",
    "consent_purpose",
    "set_consent",
]
