"""Hypothesis strategies shared by the fuzz tests (loaded by path from each
test file; not collected itself).

Coordinates are NaN-free float32 values drawn from three regimes: around a
small image, far outside it (up to +-1e6 pixels) and a few edge values
(exact borders, half pixels, tiny and huge magnitudes).
"""
from typing import Tuple

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Largest coordinate magnitude fed in: far beyond any image, still finite
# after scaling by every warp the transforms build.
EXTREME = 1e6
EDGES = (0., -0.5, 0.5, 1., 47., 47.5, 63., 63.5, 64., 1e-6, -1e-6,
         EXTREME, -EXTREME, 123456.7)


def fuzz_settings(max_examples: int) -> settings:
    """Reproducible settings: derandomized, no database, no deadline."""
    return settings(max_examples=max_examples, deadline=None,
                    derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def coordinates() -> st.SearchStrategy:
    """One float32 coordinate from one of the three regimes."""
    return st.one_of(
        st.floats(-16., 80., width=32),
        st.floats(-EXTREME, EXTREME, width=32),
        st.sampled_from(EDGES).map(np.float32),
    )


def keypoints(num: int, k: int, dims: int = 2) -> st.SearchStrategy:
    """float32 (num, k, dims) keypoints."""
    return hnp.arrays(np.float32, (num, k, dims), elements=coordinates())


def visibility(num: int, k: int) -> st.SearchStrategy:
    """float32 (num, k) visibility in [0, 1]: all invisible, all visible,
    0/1 per keypoint, or any value (0.5 is the drawing threshold)."""
    per_point = hnp.arrays(np.float32, (num, k), elements=st.one_of(
        st.sampled_from((0., 0.49, 0.5, 1.)),
        st.floats(0., 1., width=32)))
    return st.one_of(st.just(np.zeros((num, k), np.float32)),
                     st.just(np.ones((num, k), np.float32)), per_point)


def box_sides() -> st.SearchStrategy:
    """A box side length: ordinary, tiny, huge, zero or negative."""
    return st.one_of(st.floats(1., 80.), st.floats(0.5, 8.),
                     st.floats(1e-4, 1e-1), st.floats(1e3, EXTREME),
                     st.sampled_from((0., -1e-3, -5.)))


@st.composite
def boxes(draw, num: int = 1) -> np.ndarray:
    """float32 (num, 4) xyxy boxes anywhere (inside, outside, far away)
    with any side (see :func:`box_sides`)."""
    out = []
    for _ in range(num):
        x1, y1 = draw(coordinates()), draw(coordinates())
        w, h = draw(box_sides()), draw(box_sides())
        out.append([x1, y1, x1 + w, y1 + h])
    return np.asarray(out, dtype=np.float32)


def image_sizes(max_side: int = 64) -> st.SearchStrategy:
    """(h, w) of an image, 1 .. max_side pixels per side; the extremes
    (1, 2 and max_side pixels, so very thin images) are drawn often."""
    side = st.one_of(st.integers(1, max_side),
                     st.sampled_from((1, 2, max_side)))
    thin = st.sampled_from((1, 2))
    long = st.integers(max_side // 2, max_side)
    return st.one_of(st.tuples(side, side), st.tuples(thin, long),
                     st.tuples(long, thin))


def images(size: Tuple[int, int], channels: int = 3) -> np.ndarray:
    """A deterministic uint8 (h, w, channels) test image."""
    h, w = size
    values = np.arange(h * w * channels, dtype=np.int64) * 37 % 251
    return values.astype(np.uint8).reshape(h, w, channels)


def flip_indices(k: int) -> st.SearchStrategy:
    """A left/right permutation of k keypoints made of disjoint swaps."""
    @st.composite
    def build(draw):
        order = draw(st.permutations(range(k)))
        pairs = draw(st.integers(0, k // 2))
        idx = list(range(k))
        for i in range(pairs):
            a, b = order[2 * i], order[2 * i + 1]
            idx[a], idx[b] = b, a
        return idx
    return build()


def assert_finite(name: str, value) -> None:
    """Every entry of ``value`` (array, tensor or list of them) is
    finite."""
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            assert_finite(f'{name}[{i}]', v)
        return
    arr = np.asarray(value.numpy() if hasattr(value, 'numpy') else value,
                     dtype=np.float64)
    bad = ~np.isfinite(arr)
    assert not bad.any(), f'{name} has {int(bad.sum())} non-finite values'
