"""Communities and ties for one chunk: dense inside a community, sparse across, hubs at the influencers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from personagraph.loaders.generator import vocab
from personagraph.loaders.generator.arrays import IntArray, iso, strings
from personagraph.loaders.generator.catalog import Catalog
from personagraph.loaders.generator.people import Cohort

WITHIN = 0.93  # share of a user's own ties that stay in their community
FOLLOWS, FRIEND, REFERRED = 0, 1, 2


@dataclass(frozen=True)
class Communities:
    """Chunk positions in community order (`members`), each community a slice of it."""

    members: IntArray
    start: IntArray
    size: IntArray
    of: IntArray  # community number (within the chunk) of each chunk position

    def pick(self, rng: np.random.Generator, pos: IntArray) -> IntArray:
        """A random other member of each position's community (chunk positions)."""
        c = self.of[pos]
        offset = (rng.random(len(pos)) * self.size[c]).astype(np.int64)
        other = self.members[self.start[c] + offset]
        shifted = self.members[self.start[c] + (offset + 1) % self.size[c]]
        return np.where(other == pos, shifted, other)


def sample_communities(rng: np.random.Generator, size: int) -> Communities:
    """Sizes between 8 and ~200 (lognormal, median ~40); a too-small remainder joins the last one."""
    sizes: list[int] = []
    total = 0
    while total < size:
        sizes.append(int(np.clip(rng.lognormal(np.log(40), 0.6), 8, 200)))
        total += sizes[-1]
    sizes[-1] -= total - size
    if len(sizes) > 1 and sizes[-1] < 8:
        tail = sizes.pop()
        sizes[-1] += tail
    sizes_arr = np.asarray(sizes, dtype=np.int64)
    members = rng.permutation(size).astype(np.int64)
    of = np.empty(size, dtype=np.int64)
    of[members] = np.repeat(np.arange(len(sizes)), sizes_arr)
    return Communities(members, np.cumsum(sizes_arr) - sizes_arr, sizes_arr, of)


def tie_rows(rng: np.random.Generator, catalog: Catalog, cohort: Cohort, groups: Communities) -> list[str]:
    """Own ties (mostly in-community), follows of influencers, and who referred each referral user."""
    n, base, users = cohort.size, cohort.start, catalog.users
    degree = np.minimum(rng.poisson(rng.gamma(2.0, 10.5 / 2.0, n)), 150)
    if n < 2:
        degree[:] = 0
    src = np.repeat(np.arange(n), degree)
    inside = rng.random(len(src)) < WITHIN
    far = rng.integers(0, users, len(src))
    far = np.where(far == src + base, (far + 1) % users, far)
    dst = np.where(inside, groups.pick(rng, src) + base, far)
    kind = np.where(rng.random(len(src)) < 0.55, FOLLOWS, FRIEND)
    fans = np.repeat(np.arange(n), rng.poisson(0.3, n))
    idol = catalog.influencers[rng.integers(0, len(catalog.influencers), len(fans))]
    invited = np.flatnonzero(cohort.channel == vocab.REFERRAL)
    by_idol = rng.random(len(invited)) < 0.5
    referrer = np.where(
        by_idol,
        catalog.influencers[rng.integers(0, len(catalog.influencers), len(invited))],
        groups.pick(rng, invited) + base,
    )
    src = np.concatenate([src + base, fans + base, referrer])
    dst = np.concatenate([dst, idol, invited + base])
    kind = np.concatenate([kind, np.full(len(fans), FOLLOWS), np.full(len(invited), REFERRED)])
    swap = (kind == FRIEND) & (dst < src)  # a friendship is written once, from the smaller id
    src, dst = np.where(swap, dst, src), np.where(swap, src, dst)
    keep = src != dst
    key = np.unique((src[keep] * users + dst[keep]) * 3 + kind[keep])
    src, dst, kind = key // 3 // users, key // 3 % users, key % 3
    since = _since(rng, cohort, src, dst, kind)
    columns = zip(
        catalog.user_ids(src),
        catalog.user_ids(dst),
        strings(vocab.TIE_KINDS)[kind].tolist(),
        since,
        strict=True,
    )
    return [f"{s},{d},{k},{t}" for s, d, k, t in columns]


def _since(
    rng: np.random.Generator, cohort: Cohort, src: IntArray, dst: IntArray, kind: IntArray
) -> list[str]:
    """A referral dates from the referred user's arrival; other ties from after the chunk user's."""
    mine = np.where((src >= cohort.start) & (src < cohort.start + cohort.size), src, dst) - cohort.start
    mine = np.clip(mine, 0, cohort.size - 1)
    arrived = cohort.acquired_at[mine]
    later = arrived + (rng.random(len(src)) * (vocab.END - arrived)).astype(np.int64)
    referred_at = cohort.acquired_at[np.clip(dst - cohort.start, 0, cohort.size - 1)]
    return iso(np.where(kind == REFERRED, referred_at, later))
