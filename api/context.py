"""Per-request context: the graph store and DataLoaders created fresh for each request."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from graph.profiles import UserProfile, friends_of
from graph.store import GraphStore


@dataclass
class Context(BaseContext):
    store: GraphStore
    friends: DataLoader[str, list[UserProfile]] = field(init=False)

    def __post_init__(self) -> None:
        super().__init__()

        async def load_friends(user_ids: list[str]) -> list[list[UserProfile]]:
            found = await run_in_threadpool(friends_of, self.store, user_ids=user_ids)
            return [found[uid] for uid in user_ids]

        self.friends = DataLoader(load_fn=load_friends)
