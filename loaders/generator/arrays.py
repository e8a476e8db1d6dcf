"""Array aliases and vectorised helpers shared by the samplers, so each stays a few numpy calls."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.object_]


def iso(seconds: IntArray) -> list[str]:
    """Epoch seconds as ISO-8601 UTC text (`2024-03-02T10:15:00Z`), formatted in C, not per row."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return np.char.add(text, "Z").tolist()  # type: ignore[no-any-return]


def choose(rng: np.random.Generator, weights: Sequence[float], n: int) -> IntArray:
    """Indices drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), n, p=p / p.sum()).astype(np.int64)


def strings(values: Sequence[str]) -> StrArray:
    """An object array of str, so fancy indexing returns Python strings ready for joining."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def scramble(index: IntArray, multiplier: int, offset: int, modulus: int) -> list[int]:
    """A bijection of user indices onto [0, modulus): unique raw identity values without a lookup."""
    return ((index.astype(object) * multiplier + offset) % modulus).tolist()  # type: ignore[no-any-return]
