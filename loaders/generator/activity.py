"""Order lines and behaviour events for one chunk: bundles, bargain hunters and night owls planted here."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from personagraph.loaders.generator import vocab
from personagraph.loaders.generator.arrays import BoolArray, IntArray, choose, iso, strings
from personagraph.loaders.generator.catalog import Catalog, pick_products
from personagraph.loaders.generator.people import Cohort

ORDER_CAP = 30  # orders per user, so id widths are known up front
EVENT_CAP = 200
BUNDLE_SHARE = 0.04  # orders that are one of the planted bundles


@dataclass
class BundleCounts:
    """Orders holding each bundle's first, second and both products, to state the lift we planted."""

    orders: int = 0
    first: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    second: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    both: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def add(self, bundles: IntArray, order: IntArray, sku: IntArray, orders: int) -> None:
        counts = np.zeros((3, len(bundles)), dtype=np.int64)
        for k, (a, b) in enumerate(bundles.tolist()):
            with_a, with_b = np.unique(order[sku == a]), np.unique(order[sku == b])
            counts[:, k] = len(with_a), len(with_b), len(np.intersect1d(with_a, with_b))
        if not len(self.first):
            self.first, self.second, self.both = (np.zeros(len(bundles), dtype=np.int64) for _ in range(3))
        self.first, self.second, self.both = (
            self.first + counts[0],
            self.second + counts[1],
            self.both + counts[2],
        )
        self.orders += orders

    def lift(self) -> list[float]:
        expected = self.first * self.second / max(self.orders, 1) ** 2
        pairs = zip(self.both.tolist(), expected.tolist(), strict=True)
        return [float(b / self.orders / e) if e else 0.0 for b, e in pairs]


def _times(rng: np.random.Generator, acquired: IntArray, night: BoolArray) -> IntArray:
    """A day after the user arrived, at an hour drawn from the day or night-owl profile."""
    day = (acquired + rng.random(len(acquired)) * (vocab.END - acquired)).astype(np.int64) // vocab.DAY
    hour = np.where(
        night,
        choose(rng, vocab.NIGHT_OWL_HOURS, len(acquired)),
        choose(rng, vocab.DAY_HOURS, len(acquired)),
    )
    at: IntArray = day * vocab.DAY + hour * 3600 + rng.integers(0, 3600, len(acquired))
    at[at < acquired] += vocab.DAY
    return at


def order_rows(
    rng: np.random.Generator, catalog: Catalog, cohort: Cohort, first_order: int, counts: BundleCounts
) -> tuple[list[str], int]:
    """Order lines grouped by order; returns them and the number of orders used (for the next id)."""
    per_user = np.minimum(rng.poisson(1.3, cohort.size), ORDER_CAP)
    per_user[cohort.thrifty] = np.maximum(per_user[cohort.thrifty], 2)
    owner = np.repeat(np.arange(cohort.size), per_user)
    orders = len(owner)
    lines = 1 + rng.poisson(0.45, orders)
    order = np.repeat(np.arange(orders), lines)
    user = owner[order]
    thrifty = cohort.thrifty[user] & (rng.random(len(order)) < 0.8)
    sku = pick_products(rng, catalog, cohort.top[user], rng.random(len(order)) < 0.6, thrifty)
    bundled = np.flatnonzero(rng.random(orders) < BUNDLE_SHARE)
    pick = rng.integers(0, len(catalog.bundles), len(bundled))
    first_line = np.cumsum(lines) - lines
    sku[first_line[bundled]] = catalog.bundles[pick, 0]
    order, sku = np.concatenate([order, bundled]), np.concatenate([sku, catalog.bundles[pick, 1]])
    key = np.unique(order * len(catalog.skus) + sku)  # one line per product per order, grouped by order
    order, sku = key // len(catalog.skus), key % len(catalog.skus)
    counts.add(catalog.bundles, order, sku, orders)
    user = owner[order]
    discount = np.where(
        cohort.thrifty[user] & (rng.random(len(order)) < 0.7),
        rng.uniform(0.6, 0.85, len(order)),
        np.where(rng.random(len(order)) < 0.1, 0.9, 1.0),
    )
    price = np.round(catalog.price[sku] * discount, 2)
    quantity = 1 + (rng.random(len(order)) < 0.15) + (rng.random(len(order)) < 0.05)
    at = _times(rng, cohort.acquired_at[owner], np.zeros(orders, dtype=np.bool_))
    channel = strings([c[0] for c in vocab.CHANNELS])[np.asarray(vocab.SELLING)[rng.integers(0, 6, orders)]]
    width = len(str(catalog.users * ORDER_CAP))
    ids = [f"o{i:0{width}d}" for i in range(first_order, first_order + orders)]
    columns = zip(
        order.tolist(),
        cohort.ids[user].tolist(),
        catalog.skus[sku].tolist(),
        quantity.tolist(),
        price.tolist(),
        strict=True,
    )
    times, channels = iso(at), channel.tolist()
    rows = [f"{ids[o]},{u},{s},{times[o]},{q},{p:.2f},{channels[o]}" for o, u, s, q, p in columns]
    return rows, orders


def event_rows(rng: np.random.Generator, catalog: Catalog, cohort: Cohort, first_event: int) -> list[str]:
    """Events in time order per user; night owls get most of theirs between 22:00 and 04:00 UTC."""
    per_user = np.minimum(rng.poisson(rng.gamma(1.5, 20 / 1.5, cohort.size)), EVENT_CAP)
    per_user[cohort.night] = np.maximum(per_user[cohort.night], 12)
    user = np.repeat(np.arange(cohort.size), per_user)
    at = _times(rng, cohort.acquired_at[user], cohort.night[user])
    order = np.lexsort((at, user))
    user, at = user[order], at[order]
    n = len(user)
    kind = choose(rng, [k[1] for k in vocab.EVENT_KINDS], n)
    own_top = rng.random(n) < 0.7
    top = np.where(own_top, cohort.top[user], rng.integers(0, len(vocab.CATEGORIES), n))
    sku = catalog.skus[pick_products(rng, catalog, top, own_top, np.zeros(n, dtype=np.bool_))]
    term = catalog.search_terms[
        catalog.term_start[top] + (rng.random(n) * catalog.term_size[top]).astype(np.int64)
    ]
    target = np.where(kind == vocab.SEARCH, term, sku)
    online = np.asarray(vocab.ONLINE)
    usual = np.isin(cohort.channel[user], online) & (rng.random(n) < 0.6)
    channel = np.where(usual, cohort.channel[user], online[rng.integers(0, len(online), n)])
    width = len(str(catalog.users * EVENT_CAP))
    columns = zip(
        range(first_event, first_event + n),
        cohort.ids[user].tolist(),
        strings([k[0] for k in vocab.EVENT_KINDS])[kind].tolist(),
        iso(at),
        target.tolist(),
        strings([c[0] for c in vocab.CHANNELS])[channel].tolist(),
        strict=True,
    )
    return [f"e{i:0{width}d},{u},{k},{t},{g},{c}" for i, u, k, t, g, c in columns]
