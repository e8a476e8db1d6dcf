"""The dataset-wide parts (channels, products, tags, bundles, influencers) every user chunk draws on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from personagraph.loaders.generator import vocab
from personagraph.loaders.generator.arrays import BoolArray, FloatArray, IntArray, StrArray, strings

BUNDLES = 6


@dataclass(frozen=True)
class Catalog:
    """Products sorted by top category (popular first within each), plus the planted global facts."""

    users: int
    user_width: int
    skus: StrArray
    price: FloatArray
    top_start: IntArray
    top_size: IntArray
    by_price: IntArray  # product indices, cheapest first within each top category's range
    search_terms: StrArray  # all terms, grouped by top category
    term_start: IntArray
    term_size: IntArray
    bundles: IntArray  # (BUNDLES, 2) product indices
    influencers: IntArray  # 0-based user indices, sorted
    product_rows: list[str]

    def user_id(self, index: int) -> str:
        return f"u{index + 1:0{self.user_width}d}"

    def user_ids(self, indices: IntArray) -> list[str]:
        width = self.user_width
        return [f"u{i + 1:0{width}d}" for i in indices.tolist()]


def build_catalog(rng: np.random.Generator, users: int) -> Catalog:
    """One draw per seed, shared by all chunks, so products and influencers agree across files."""
    count = max(50, users // 50)
    subs = [(t, s) for t, (_, subcats) in enumerate(vocab.CATEGORIES) for s in range(len(subcats))]
    sub_of = np.sort(np.arange(count) % len(subs))  # contiguous by top category (subs are in top order)
    top_of = np.array([subs[s][0] for s in sub_of.tolist()], dtype=np.int64)
    tops = len(vocab.CATEGORIES)
    top_size = np.bincount(top_of, minlength=tops).astype(np.int64)
    top_start = np.concatenate(([0], np.cumsum(top_size)[:-1])).astype(np.int64)
    for t in range(tops):  # mix subcategories so popularity (index order) is not by subcategory
        lo, hi = int(top_start[t]), int(top_start[t] + top_size[t])
        sub_of[lo:hi] = rng.permutation(sub_of[lo:hi])
    base = np.array([vocab.CATEGORIES[subs[s][0]][1][subs[s][1]][1] for s in sub_of.tolist()])
    price = np.maximum(np.round(base * rng.lognormal(0.0, 0.35, count) / 10) * 10 - 1, 9.0)
    width = max(5, len(str(count)))
    skus = strings([f"P{i + 1:0{width}d}" for i in range(count)])
    by_price = np.lexsort((price, top_of)).astype(np.int64)
    terms, term_start, term_size = _search_terms()
    return Catalog(
        users=users,
        user_width=max(7, len(str(users))),
        skus=skus,
        price=price,
        top_start=top_start,
        top_size=top_size,
        by_price=by_price,
        search_terms=terms,
        term_start=term_start,
        term_size=term_size,
        bundles=_bundles(rng, top_start, top_size),
        influencers=np.sort(rng.choice(users, min(users, max(3, min(100, users // 5000))), replace=False)),
        product_rows=_product_rows(rng, skus, sub_of, price, subs),
    )


def _product_rows(
    rng: np.random.Generator, skus: StrArray, sub_of: IntArray, price: FloatArray, subs: list[tuple[int, int]]
) -> list[str]:
    rows = []
    picks = rng.integers(0, 1 << 30, len(skus)).tolist()
    for sku, s, p, pick in zip(skus.tolist(), sub_of.tolist(), price.tolist(), picks, strict=True):
        t, si = subs[s]
        top, subcats = vocab.CATEGORIES[t]
        sub, _, nouns = subcats[si]
        brand = vocab.BRANDS[t * vocab.BRANDS_PER_TOP + pick % vocab.BRANDS_PER_TOP]
        name = (
            f"{brand} {vocab.ADJECTIVES[pick // 7 % len(vocab.ADJECTIVES)]} {nouns[pick // 97 % len(nouns)]}"
        )
        rows.append(f"{sku},{name},{brand},{top}/{sub},{p:.2f},CNY")
    return rows


def _search_terms() -> tuple[StrArray, IntArray, IntArray]:
    terms: list[str] = []
    starts, sizes = [], []
    for t, (_, subcats) in enumerate(vocab.CATEGORIES):
        starts.append(len(terms))
        brands = vocab.BRANDS[t * vocab.BRANDS_PER_TOP : (t + 1) * vocab.BRANDS_PER_TOP]
        nouns = [noun for _, _, ns in subcats for noun in ns]
        terms += [f"{prefix}{noun}" for noun in nouns for prefix in vocab.SEARCH_PREFIXES[:3]]
        terms += [f"{brand} {noun}" for brand in brands for noun in nouns[:2]] + list(brands)
        sizes.append(len(terms) - starts[-1])
    return strings(terms), np.array(starts, dtype=np.int64), np.array(sizes, dtype=np.int64)


def _bundles(rng: np.random.Generator, top_start: IntArray, top_size: IntArray) -> IntArray:
    """Pairs from the less popular half of one top category, so chance co-occurrence stays low."""
    pairs = []
    for k in range(BUNDLES):
        t = k % len(top_start)
        half = int(top_size[t]) // 2
        a, b = rng.choice(int(top_size[t]) - half, 2, replace=False)
        pairs.append((int(top_start[t]) + half + int(a), int(top_start[t]) + half + int(b)))
    return np.array(pairs, dtype=np.int64)


def pick_products(
    rng: np.random.Generator, catalog: Catalog, top: IntArray, own_top: BoolArray, cheap: BoolArray
) -> IntArray:
    """Popular products are picked most; `own_top` stays in the given category, `cheap` takes its cheapest."""
    n = len(top)
    skew = rng.random(n) ** 1.6
    inside = catalog.top_start[top] + (skew * catalog.top_size[top]).astype(np.int64)
    other = rng.integers(0, len(catalog.top_start), n)
    anywhere = catalog.top_start[other] + (rng.random(n) ** 1.6 * catalog.top_size[other]).astype(np.int64)
    picked = np.where(own_top, inside, anywhere)
    cheapest = catalog.by_price[
        catalog.top_start[top] + (rng.random(n) * 0.15 * catalog.top_size[top]).astype(np.int64)
    ]
    return np.where(cheap, cheapest, picked)


def channel_rows() -> list[str]:
    return [f"{cid},{name},{kind}" for cid, name, kind, _ in vocab.CHANNELS]


def tag_rows() -> list[str]:
    return [",".join(tag) for tag in vocab.TAGS]
