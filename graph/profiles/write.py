"""Write a user profile: create or update one user as a users.csv row would, then refresh what depends on
the user's attributes (their saved-audience membership), so the API and a load answer alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from personagraph.graph.audiences.service import refresh_user_membership
from personagraph.graph.changes.log import NewChange, record_changes
from personagraph.graph.entities import KINDS
from personagraph.graph.errors import PersonaGraphError
from personagraph.graph.ids import existing_ids
from personagraph.graph.privacy.forget import ensure_not_suppressed
from personagraph.graph.profiles.read import UserProfile, get_user
from personagraph.graph.records import RowContext, UserRecord
from personagraph.graph.store import GraphStore


class UserInputError(PersonaGraphError):
    """Fields given to upsert_user do not validate; ``fields`` names them for the API's error."""

    def __init__(self, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.fields = tuple(fields)


_USERS = KINDS["users"]


def user_record(user_id: str, fields: Mapping[str, Any]) -> UserRecord:
    """The loader's own validation of one users.csv row; errors name every failing column (upsert_user and
    the collector's identify events, graph/events/envelope.py, both validate with it)."""
    unknown = sorted(set(fields) - set(_USERS.columns))
    if unknown:
        raise UserInputError(
            f"{', '.join(unknown)}: not a user field; expected some of {', '.join(_USERS.columns)}",
            unknown,
        )
    if "user_id" in fields and fields["user_id"] != user_id:
        raise UserInputError(f"user_id: {fields['user_id']!r} differs from the user upserted", ["user_id"])
    try:
        record = _USERS.model.model_validate({**fields, "user_id": user_id})
    except ValidationError as error:
        raise _invalid(error) from error
    assert isinstance(record, UserRecord)
    if record.acquired_at is not None and record.acquired_via is None:
        raise UserInputError("acquired_at: give acquired_via with it", ["acquired_at"])
    return record


def _invalid(error: ValidationError) -> UserInputError:
    problems = [(str(e["loc"][0]) if e["loc"] else "user", e["msg"]) for e in error.errors()]
    message = "; ".join(f"{name}: {reason}" for name, reason in problems)
    return UserInputError(message, list(dict.fromkeys(name for name, _ in problems)))


def _require_channel(store: GraphStore, channel_id: str | None) -> None:
    """The loader's reference check: an acquisition channel must already exist."""
    if channel_id is None:
        return
    if not existing_ids(store, "channels", [channel_id]):
        raise UserInputError(f"acquired_via: no channel {channel_id!r}", ["acquired_via"])


def upsert_user(
    store: GraphStore,
    *,
    user_id: str,
    fields: Mapping[str, Any],
    suppression_key: bytes | None = None,
) -> UserProfile:
    """Create or update one user exactly as a users.csv row would (same model, row and statement).

    ``fields`` use the users.csv column names (gender, birth_year, city, acquired_via, ...). Fields
    not given, or given blank, keep their stored value; birth_year also refreshes age_band. With
    ``suppression_key``, a user who asked to be forgotten is refused (SuppressedUserError). The user's
    saved-audience membership is refreshed before this returns (a definition may filter on any field).
    Each attribute whose stored value changed, and each saved audience entered or left, is recorded in the
    change log (cause "profile"), as a fold records an event's (subscriptions, webhooks).
    """
    record = user_record(user_id, fields)
    if suppression_key is not None:
        ensure_not_suppressed(store, suppression_key, [record.user_id])
    row = record.to_row(RowContext())
    _require_channel(store, row["acquiredVia"])
    before = user_properties(store, [record.user_id]).get(record.user_id, {})
    store.write_rows(_USERS.statement_for(record), [row])
    after = user_properties(store, [record.user_id]).get(record.user_id, {})
    record_changes(
        store,
        [
            NewChange(record.user_id, "profile", name, "changed", "profile")
            for name in sorted(row["props"])
            if before.get(name) != after.get(name)
        ],
    )
    refresh_user_membership(store, record.user_id, cause="profile")
    profile = get_user(store, user_id=record.user_id)
    if profile is None:  # only if deleted at this very moment
        raise PersonaGraphError(f"user {record.user_id!r} vanished right after it was written")
    return profile


def user_properties(store: GraphStore, user_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored properties of the users that exist, by id: read before and after a write, they tell
    which attributes it changed (upsert_user here, an identify's fold in graph/events/fold.py)."""
    return {
        r["userId"]: dict(r["props"])
        for r in store.read("events/read/user_properties", userIds=list(user_ids))
    }


__all__ = ["UserInputError", "upsert_user", "user_properties", "user_record"]
