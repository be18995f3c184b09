"""Toy two-class data sets in the plane, for the demo and the tests.

Both follow scikit-learn's conventions (its ``make_moons`` / ``make_circles``
geometry, the first half of the points in class 0, shuffled, Gaussian noise
added afterwards) and return ``(X, y)``: X a list of ``[x1, x2]`` floats, y a
list of 0/1 ints.  They use Python's ``random.Random(seed)``, so a seed gives
the same points on every machine and Python version, but not the points
scikit-learn (NumPy's generator) would give for that seed.
"""

from __future__ import annotations

import math
import random
from typing import Callable

Dataset = tuple[list[list[float]], list[int]]


def _linspace(start: float, stop: float, n: int, endpoint: bool = True) -> list[float]:
    """n evenly spaced numbers from start, as numpy.linspace."""
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1 if endpoint else n)
    return [start + i * step for i in range(n)]


def _check(n_samples: int, noise: float | None) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an int >= 2 (one point per class), not {n_samples!r}")
    if noise is not None and not noise >= 0.0:
        raise ValueError(f"noise must be >= 0, not {noise!r}")


def _shuffle_and_jitter(points: list[list[float]], labels: list[int], noise: float | None,
                        rng: random.Random) -> Dataset:
    order = list(range(len(points)))
    rng.shuffle(order)
    X = [points[i] for i in order]
    y = [labels[i] for i in order]
    if noise:
        X = [[x1 + rng.gauss(0.0, noise), x2 + rng.gauss(0.0, noise)] for x1, x2 in X]
    return X, y


def make_moons(n_samples: int = 100, noise: float | None = 0.1, seed: int | None = None) -> Dataset:
    """Two interleaving half circles: class 0 the upper moon (centre (0, 0)),
    class 1 the lower one (centre (1, 0.5)); ``n_samples // 2`` points in class 0.

    >>> X, y = make_moons(4, noise=0.0, seed=0)
    >>> len(X), sorted(y)
    (4, [0, 0, 1, 1])
    """
    _check(n_samples, noise)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_out)]
    inner = [[1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5] for t in _linspace(0.0, math.pi, n_in)]
    return _shuffle_and_jitter(outer + inner, [0] * n_out + [1] * n_in, noise, random.Random(seed))


def make_circles(n_samples: int = 100, noise: float | None = 0.1, factor: float = 0.5,
                 seed: int | None = None) -> Dataset:
    """A circle of radius ``factor`` (class 1) inside the unit circle (class 0).

    The defaults differ from scikit-learn's (noise=None, factor=0.8) so that
    the demo's network separates the classes in its 100 steps.
    """
    _check(n_samples, noise)
    if not 0.0 <= factor < 1.0:
        raise ValueError(f"factor must be in [0, 1), not {factor!r}")
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, 2 * math.pi, n_out, endpoint=False)]
    inner = [[factor * math.cos(t), factor * math.sin(t)]
             for t in _linspace(0.0, 2 * math.pi, n_in, endpoint=False)]
    return _shuffle_and_jitter(outer + inner, [0] * n_out + [1] * n_in, noise, random.Random(seed))


DATASETS: dict[str, Callable[..., Dataset]] = {"moons": make_moons, "circles": make_circles}
