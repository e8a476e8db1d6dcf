"""Per-request context: the graph store, a timed way to call graph/, and DataLoaders made per request.

Resolvers never build Cypher: they call one graph/ function through `Context.call` (run in a worker
thread, timed into the metrics) or ask a DataLoader, which batches every key a request asked for into
one graph/ call, so a page of 50 users with tags and friends is a handful of Cypher statements.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from personagraph.api.auth import Principal
from personagraph.api.change_feed import ChangeFeed
from personagraph.api.collector import EventCollector
from personagraph.api.counts import Count, CountBudget, CountBudgetError, shown_count
from personagraph.api.metrics import Metrics
from personagraph.api.policy import ADMIN, PolicyError, Role
from personagraph.graph.analytics import insights
from personagraph.graph.audit import AuditEntry, AuditLog
from personagraph.graph.events import record as events
from personagraph.graph.events.envelope import Envelope
from personagraph.graph.events.journal import Outcome
from personagraph.graph.paging import Page
from personagraph.graph.privacy import consent
from personagraph.graph.privacy.k_anonymity import Disclosure
from personagraph.graph.products import read as products
from personagraph.graph.profiles import read as profiles
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from personagraph.graph.surveys import read as surveys
from personagraph.graph.tags.engine import TagCache

T = TypeVar("T")
V = TypeVar("V")
Batch = Callable[..., Mapping[str, V]]  # graph/ function: (store, *, <ids>=[...], **group) -> {id: value}


@dataclass
class Context(BaseContext):
    store: GraphStore
    metrics: Metrics
    tag_cache: TagCache
    principal: Principal | None  # the caller (api/auth.py); their role decides what they see (api/policy.py)
    disclosure: Disclosure  # how counts are shown below admin (graph/privacy/k_anonymity.py)
    audit: AuditLog
    suppression_key: bytes  # hashes forgotten users' ids (graph/privacy/forget.py)
    count_budget: CountBudget | None = None  # counts shown a day per key below admin (None: no budget)
    collector: EventCollector | None = None  # the event log recordEvent(s) append to (api/collector.py)
    changes: ChangeFeed | None = None  # the change log as a live feed, for subscriptions (api/change_feed.py)
    # A long-lived connection's credentials checked again (a subscription ends when its key is revoked).
    reauthenticate: Callable[[], Principal] | None = None
    settings: Settings | None = None  # the server's (webhooks sign and check URLs with them)
    loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def role(self) -> Role:
        """The caller's role (AccessControl refused the operation already if there is none)."""
        if self.principal is None:
            raise PolicyError("Credentials required")
        return self.principal.role

    def count(self, n: int, *asked: str) -> Count:
        """The true count ``n`` as the caller may see it (api/counts.py). Each different count shown
        to a role below admin spends one of its key's daily count budget; when it is spent the field
        fails with RATE_LIMITED (and the audit log says so, once a minute per key), since averaging many
        counts defeats their noise."""
        role = self.role
        if role != ADMIN and self.count_budget is not None:
            assert self.principal is not None  # self.role raised otherwise
            key = self.principal.budget
            wait = self.count_budget.spend(key, asked)
            if wait > 0:
                if self.count_budget.first_refusal(key):
                    self.audit.record(
                        AuditEntry(self.principal.subject, role.value, "count-budget", asked[-1], 0, {})
                    )
                raise CountBudgetError(
                    f"Count budget spent: at most {self.count_budget.per_day} different counts a day per key "
                    f"for the {role.value} role; retry in {math.ceil(wait)} s"
                )
        return shown_count(self.disclosure, role, n, *asked)

    async def call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run one graph/ function with this request's store in a worker thread, timed."""
        started = time.perf_counter()
        try:
            return await run_in_threadpool(fn, self.store, **kwargs)
        finally:
            self.metrics.graph_seconds.labels(fn.__name__).observe(time.perf_counter() - started)

    async def record(self, envelope: Envelope) -> Outcome:
        """Record one event or order: through the event log, waiting for its fold (api/collector.py), or
        folded at once where the app has no event log."""
        if self.collector is not None:
            started = time.perf_counter()
            try:
                return await self.collector.record(envelope)
            finally:
                self.metrics.graph_seconds.labels("record").observe(time.perf_counter() - started)
        return await self.call(
            events.fold_one, envelope=envelope, cache=self.tag_cache, suppression_key=self.suppression_key
        )

    def loader(self, fn: Batch[V], ids_arg: str, missing: V, **group: Hashable) -> DataLoader[str, V]:
        """The request's DataLoader for ``fn`` with these extra arguments (one loader per combination).

        ``ids_arg`` names the parameter that takes the batched ids; ids ``fn`` does not return get
        ``missing``.
        """
        key = f"{fn.__module__}.{fn.__name__}:{sorted(group.items())!r}"
        found = self.loaders.get(key)
        if found is None:

            async def load(ids: Sequence[str]) -> list[V]:
                values = await self.call(fn, **{ids_arg: list(ids)}, **group)
                return [values.get(i, missing) for i in ids]

            found = self.loaders[key] = SharedLoader(load_fn=load)
        return found

    # The loaders resolvers use, named for what they return.

    def users(self) -> DataLoader[str, profiles.UserProfile | None]:
        return self.loader(profiles.get_users, "user_ids", None)

    def tags(self, tier: str | None, include_expired: bool) -> DataLoader[str, list[profiles.UserTag]]:
        return self.loader(profiles.tags_of, "user_ids", [], tier=tier, include_expired=include_expired)

    def identities(self) -> DataLoader[str, list[profiles.Identity]]:
        return self.loader(profiles.identities_of, "user_ids", [])

    def channels(self) -> DataLoader[str, list[profiles.UserChannel]]:
        return self.loader(profiles.channels_of, "user_ids", [])

    def orders(self, first: int, after: str | None) -> DataLoader[str, Page[profiles.OrderSummary]]:
        return self.loader(profiles.orders_pages, "user_ids", _EMPTY, first=first, after=after)

    def ties(
        self, kind: str, first: int, after: str | None, fields: tuple[str, ...] | None
    ) -> DataLoader[str, Page[profiles.UserProfile]]:
        """Pages of a tie list whose users carry ``fields`` (sorted UserProfile fields; None: all)."""
        return self.loader(
            profiles.ties_pages, "user_ids", _EMPTY, kind=kind, first=first, after=after, fields=fields
        )

    def consent_history(self) -> DataLoader[str, list[consent.ConsentChange]]:
        return self.loader(consent.consent_history, "user_ids", [])

    def surveys(self, first: int) -> DataLoader[str, list[surveys.AnsweredSurvey]]:
        return self.loader(surveys.surveys_of, "user_ids", [], first=first)

    def products(self) -> DataLoader[str, products.ProductInfo | None]:
        return self.loader(products.get_products, "skus", None)

    def communities(self) -> DataLoader[str, insights.CommunityInfo | None]:
        return self.loader(insights.get_communities, "community_ids", None)

    def personas(self) -> DataLoader[str, insights.PersonaInfo | None]:
        return self.loader(insights.get_personas, "persona_ids", None)


class SharedLoader(DataLoader[str, V]):
    """A DataLoader whose cached result survives one of its readers being cancelled.

    Resolvers in one request share the loader's future per key. When a field fails, graphql-core
    cancels its sibling resolvers; a cancelled ``await future`` cancels the future itself, so another
    field waiting on the same key would get CancelledError (which no field error catches: HTTP 500).
    Each reader therefore awaits a shield of the shared future.
    """

    def load(self, key: str) -> Awaitable[V]:
        return asyncio.shield(super().load(key))


_EMPTY: Page[Any] = Page(items=[], end_cursor=None, has_next=False, total=0)
