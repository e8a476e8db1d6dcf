"""k-anonymity on counts: how many users a count shows to a caller who may not see the exact number
(the API's roles below admin; api/counts.py decides who is shown what and paces them): a floor,
rounding and sticky noise.

- **Noise, then the floor**: a true count ``n`` is moved by a deterministic discrete-Laplace noise of
  scale ``PERSONA_PRIVACY_NOISE`` users (``_noise``: no hard edge), rounded to
  ``PERSONA_PRIVACY_ROUND_TO``, and only then compared with ``k`` (``PERSONA_PRIVACY_K``, default
  100, the smallest list ad platforms such as Google Ads will target): under it, the count is shown
  as "fewer than k" (``value: null, fewerThan: k``). The floor sees the noisy value only, so whether
  a count is shown does not tell which side of k the true count is on (a floor tested before the
  noise did: ``ranks 1..99 or (rank R and tag x)`` answered "null" or "a number" by one person's
  tag). Such an audience's members and look-alikes are not listed, and breakdown buckets under the
  floor are merged into one ``grouped`` bucket.
- **Differencing**: ``count(A) - count(A and not x)`` would say whether x is in A. The noise is keyed
  by the server's secret and by *what was asked* (the canonical definition, purpose and which count),
  so asking again gives the same answer (no averaging by repetition), while ``A`` and ``A and not x``
  get independent noise whether or not x is in A: their difference is mostly noise.
- **Budget**: averaging many differently worded definitions of the same pair of audiences still
  recovers a difference (measured by bench/privacy.py, docs/security.md); the API's daily
  ``CountBudget`` (api/counts.py) sets the pace of that attack.
"""

from __future__ import annotations

import hashlib
import hmac
import math

from personagraph.graph.secrets import derived_key
from personagraph.graph.settings import Settings


class Disclosure:
    """The floor, noise and rounding of one deployment."""

    def __init__(self, key: bytes, *, k: int, noise: int, round_to: int) -> None:
        self.key = key
        self.k = k
        self.noise = noise
        self.round_to = round_to

    @classmethod
    def from_settings(cls, settings: Settings) -> Disclosure:
        return cls(
            derived_key(settings, "count-noise"),
            k=settings.privacy_k,
            noise=settings.privacy_noise,
            round_to=settings.privacy_round_to,
        )

    def shown(self, n: int, *asked: str, exact: bool = False) -> int | None:
        """The number shown for a true count ``n`` (None: under the floor); ``n`` itself when ``exact``
        (a caller who may see exact counts)."""
        if exact:
            return n
        noisy = n + self._noise(asked)
        value = self.round_to * math.floor(noisy / self.round_to + 0.5)
        return value if value >= self.k else None

    def _noise(self, asked: tuple[str, ...]) -> int:
        """A two-sided geometric (discrete Laplace) draw of scale ``noise``, fixed by what was asked.

        Its support has no edge: every shown value can come from a true count of n and of n + 1, with
        likelihoods at most e^(1/noise) apart. (Uniform noise of +-N had an edge: a count of 94 never
        showed above 110 and one of 95 could show 120, so one answer of 120 proved the 95th person.)
        """
        if not self.noise:
            return 0
        digest = hmac.new(self.key, "\x1f".join(asked).encode("utf-8"), hashlib.sha256).digest()
        # Two uniforms in (0, 1] give two geometric counts with P(G >= g) = exp(-g / noise).
        up, down = ((int.from_bytes(digest[i : i + 8], "big") + 1) / 2.0**64 for i in (0, 8))
        return math.floor(-self.noise * math.log(up)) - math.floor(-self.noise * math.log(down))


__all__ = ["Disclosure"]
