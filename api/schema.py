"""The GraphQL schema: thin resolvers, each calling one function of graph/."""

from __future__ import annotations

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from api.context import Context
from graph import profiles


@strawberry.type
class User:
    id: strawberry.ID
    gender: str | None
    birth_year: int | None
    age_band: str | None
    occupation: str | None
    education: str | None
    income_band: str | None
    city: str | None
    region: str | None
    country: str | None

    @strawberry.field(description="Friends (FRIEND_OF, read undirected), ordered by id.")
    async def friends(self, info: Info[Context, None]) -> list[User]:
        return [User.from_profile(p) for p in await info.context.friends.load(str(self.id))]

    @staticmethod
    def from_profile(profile: profiles.UserProfile) -> User:
        return User(
            id=strawberry.ID(profile.user_id),
            gender=profile.gender,
            birth_year=profile.birth_year,
            age_band=profile.age_band,
            occupation=profile.occupation,
            education=profile.education,
            income_band=profile.income_band,
            city=profile.city,
            region=profile.region,
            country=profile.country,
        )


@strawberry.type
class Query:
    @strawberry.field(description="One user's profile, or null when no user has this id.")
    async def user(self, info: Info[Context, None], id: strawberry.ID) -> User | None:
        profile = await run_in_threadpool(profiles.get_user, info.context.store, user_id=str(id))
        return User.from_profile(profile) if profile else None


schema = strawberry.Schema(query=Query)
