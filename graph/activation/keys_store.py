"""The match keys the graph holds: taken off a user's identities as soon as they lack advertising consent."""

from __future__ import annotations

from personagraph.graph.store import GraphStore


def drop_match_keys(store: GraphStore, *, user_id: str) -> int:
    """Remove the platform match keys from the user's identities unless the user has advertising consent
    (after an advertising consent statement: a withdrawal takes them at once); returns the identities that
    carried keys."""
    records = store.write_returning("activation/write/drop_match_keys", userId=user_id)
    return int(records[0]["removed"]) if records else 0


def advertising_users(store: GraphStore) -> frozenset[str]:
    """The users with advertising consent: an identities load derives match keys for theirs only (the
    derivation costs tens of microseconds a row; nobody else's keys would be kept)."""
    return frozenset(store.read("activation/read/advertising_users")[0]["ids"])


__all__ = ["advertising_users", "drop_match_keys"]
