"""Per-user projections for segments, personas and attribution: orders, spend mix, channels, hours, tags.

Every array is aligned with ``UserOrders.ids`` (sorted internal ids of all users), so the analyses
index users by position and write back by internal id within the same run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from personagraph.graph.analytics.projection import IdArray, read_ranges
from personagraph.graph.store import GraphStore

FloatArray = npt.NDArray[np.float64]
MAX_USER_ID = "analytics/read/max_user_id"
NIGHT_HOURS = (22, 23, 0, 1, 2, 3)  # 22:00-04:00 in PERSONA_TIMEZONE (the zone hourCounts are in)
WORK_HOURS = tuple(range(9, 18))  # 09:00-18:00
TOP_CATEGORIES = 8  # spend-share columns kept; the rest of a user's spend is "other"


@dataclass(frozen=True)
class UserOrders:
    """Order history per user; times are epoch seconds (NaN when unknown), channels internal ids (-1)."""

    ids: IdArray
    orders: npt.NDArray[np.int64]
    spend: FloatArray
    first_order_at: FloatArray
    last_order_at: FloatArray
    acquired_at: FloatArray
    acquired_via: IdArray
    last_via: IdArray

    @property
    def size(self) -> int:
        """Number of projected users."""
        return int(self.ids.size)


@dataclass(frozen=True)
class Table:
    """A users x names matrix (shares or counts), columns named."""

    names: tuple[str, ...]
    values: FloatArray


@dataclass(frozen=True)
class Behaviour:
    """Product events per user and the shares of them at night and in work hours."""

    events: FloatArray
    night_share: FloatArray
    work_share: FloatArray


@dataclass(frozen=True)
class PersonaInputs:
    """Everything personas cluster on besides RFM, aligned with the users of a UserOrders."""

    categories: Table  # share of spend per top-level category (top TOP_CATEGORIES by total spend)
    channels: Table  # share of orders per channel kind
    behaviour: Behaviour
    tags: Table  # number of tags per tier


def project_user_orders(store: GraphStore) -> UserOrders:
    """One pass over users in id ranges: counts, spend, first/last order, acquisition, last channel."""
    ids: list[int] = []
    values: list[list[object]] = []
    for row in read_ranges(store, "analytics/read/project_user_orders", MAX_USER_ID):
        ids += row["ids"]
        values += row["values"]
    order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
    table = np.asarray(values, dtype=np.float64).reshape(-1, 7)[order]  # None -> NaN
    return UserOrders(
        ids=np.asarray(ids, dtype=np.int64)[order],
        orders=table[:, 0].astype(np.int64),
        spend=table[:, 1],
        first_order_at=table[:, 2],
        last_order_at=table[:, 3],
        acquired_at=table[:, 4],
        acquired_via=np.nan_to_num(table[:, 5], nan=-1.0).astype(np.int64),
        last_via=np.nan_to_num(table[:, 6], nan=-1.0).astype(np.int64),
    )


def project_persona_inputs(store: GraphStore, users: IdArray) -> PersonaInputs:
    """Spend mix, channel mix, time of day and tags of the given (sorted) users."""
    spend = _keyed_table(store, "analytics/read/project_user_category_spend", users, "categories", "spend")
    channels = _keyed_table(store, "analytics/read/project_user_channel_orders", users, "kinds", "orders")
    tags = _keyed_table(store, "analytics/read/project_user_tag_tiers", users, "tiers", "tags")
    return PersonaInputs(
        categories=_top_shares(spend, TOP_CATEGORIES),
        channels=_top_shares(channels, len(channels.names)),
        behaviour=_project_behaviour(store, users),
        tags=tags,
    )


def _keyed_table(store: GraphStore, statement: str, users: IdArray, key: str, value: str) -> Table:
    """Gather (user, key, value) triples over id ranges into a dense users x sorted-keys matrix."""
    user_ids: list[int] = []
    keys: list[str] = []
    values: list[float] = []
    for row in read_ranges(store, statement, MAX_USER_ID):
        user_ids += row["ids"]
        keys += row[key]
        values += row[value]
    names, columns = np.unique(np.asarray(keys, dtype=str), return_inverse=True)
    matrix = np.zeros((users.size, names.size), dtype=np.float64)
    at, known = _positions(users, user_ids)
    weights = np.asarray(values, dtype=np.float64)
    np.add.at(matrix, (at[known], columns.reshape(-1)[known]), weights[known])
    return Table(tuple(str(n) for n in names.tolist()), matrix)


def _top_shares(table: Table, keep: int) -> Table:
    """Row shares of the ``keep`` largest columns (by total), largest first; rows without any stay 0."""
    totals = table.values.sum(axis=0)
    top = np.argsort(-totals, kind="stable")[:keep]
    row_sum = table.values.sum(axis=1, keepdims=True)
    shares = np.divide(
        table.values[:, top], row_sum, out=np.zeros((table.values.shape[0], top.size)), where=row_sum > 0
    )
    return Table(tuple(table.names[i] for i in top.tolist()), shares)


def _project_behaviour(store: GraphStore, users: IdArray) -> Behaviour:
    """Night and work-hour shares from hourCounts; users without events keep 0 shares."""
    events = np.zeros(users.size, dtype=np.float64)
    night = np.zeros(users.size, dtype=np.float64)
    work = np.zeros(users.size, dtype=np.float64)
    for row in read_ranges(
        store,
        "analytics/read/project_user_hours",
        MAX_USER_ID,
        nightHours=list(NIGHT_HOURS),
        workHours=list(WORK_HOURS),
    ):
        at, known = _positions(users, row["ids"])
        events[at[known]] = np.asarray(row["events"], dtype=np.float64)[known]
        night[at[known]] = np.asarray(row["night"], dtype=np.float64)[known]
        work[at[known]] = np.asarray(row["work"], dtype=np.float64)[known]
    safe = np.maximum(events, 1.0)
    return Behaviour(events, night / safe, work / safe)


def _positions(users: IdArray, internal_ids: Iterable[int]) -> tuple[IdArray, npt.NDArray[np.bool_]]:
    """Positions of internal ids among ``users``, and which are there (users loaded meanwhile are not)."""
    wanted = np.fromiter(internal_ids, dtype=np.int64)
    if users.size == 0:
        return np.zeros(wanted.size, dtype=np.int64), np.zeros(wanted.size, dtype=np.bool_)
    at = np.minimum(np.searchsorted(users, wanted), users.size - 1)
    return at, users[at] == wanted
