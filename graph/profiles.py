"""Read user profiles: typed results, never raw records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from graph.store import GraphStore


class UserProfile(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    gender: str | None = None
    birth_year: int | None = None
    age_band: str | None = None
    occupation: str | None = None
    education: str | None = None
    income_band: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    marketing_consent: bool | None = None
    personalization_opt_out: bool | None = None

    @classmethod
    def from_node(cls, props: Mapping[str, Any]) -> UserProfile:
        return cls(
            user_id=props["userId"],
            gender=props.get("gender"),
            birth_year=props.get("birthYear"),
            age_band=props.get("ageBand"),
            occupation=props.get("occupation"),
            education=props.get("education"),
            income_band=props.get("incomeBand"),
            city=props.get("city"),
            region=props.get("region"),
            country=props.get("country"),
            marketing_consent=props.get("marketingConsent"),
            personalization_opt_out=props.get("personalizationOptOut"),
        )


def get_user(store: GraphStore, *, user_id: str) -> UserProfile | None:
    records = store.read("query/get_user", userId=user_id)
    return UserProfile.from_node(records[0]["user"]) if records else None


def friends_of(
    store: GraphStore, *, user_ids: Sequence[str], limit: int = 50
) -> dict[str, list[UserProfile]]:
    """Friends of each user, batched for DataLoaders; users without friends map to []."""
    found = {
        r["userId"]: [UserProfile.from_node(f) for f in r["friends"]]
        for r in store.read("query/list_friends", userIds=list(user_ids), limit=limit)
    }
    return {uid: found.get(uid, []) for uid in user_ids}
