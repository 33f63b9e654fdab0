"""Clipping crowd polygons before rasterising them keeps a far-away vertex
from costing time in proportion to its distance. Polygons within the clip
margin must give exactly pycocotools' mask; clipped ones may differ only
on border pixels (pycocotools rounds edge end points)."""
import warnings

import numpy as np
import pycocotools.mask as cocomask
from hypothesis import given, settings
from hypothesis import strategies as st

from posekit.datasets.transforms.heatmap_mask import segs_to_mask
from posekit.datasets.transforms.polygon_clip import (CLIP_MARGIN,
                                                      clip_polygon)


def _reference(polygons, h, w):
    """pycocotools on the unclipped polygons."""
    polygons = [p for p in polygons if len(p) >= 6]
    if not polygons:
        return np.zeros((h, w), np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        return cocomask.decode(cocomask.merge(
            cocomask.frPyObjects(polygons, h, w)))


@st.composite
def polygon_sets(draw, far):
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    coord = st.one_of(
        st.floats(-CLIP_MARGIN, min(h, w) + CLIP_MARGIN),
        st.floats(-3., 45.),
        st.sampled_from([0., -0.5, 0.5, float(w), float(h), w - 0.5, -4.,
                         w + 4.]))
    if far:
        coord = st.one_of(coord, st.floats(-3000., 3000.))
    polygons = draw(st.lists(st.lists(coord, min_size=6, max_size=14).map(
        lambda p: p[:len(p) // 2 * 2]), min_size=1, max_size=3))
    return h, w, polygons


def _border(mask):
    """Pixels with a 4-neighbour of the other value."""
    pad = np.pad(mask, 1, mode='edge')
    return ((pad[1:-1, :-2] != mask) | (pad[1:-1, 2:] != mask) |
            (pad[:-2, 1:-1] != mask) | (pad[2:, 1:-1] != mask))


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(polygon_sets(far=False))
def test_unclipped_polygons_give_pycocotools_mask(case):
    h, w, polygons = case
    mask = segs_to_mask([polygons], (h, w))
    np.testing.assert_array_equal(mask, _reference(polygons, h, w))


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(polygon_sets(far=True))
def test_clipped_polygons_differ_only_on_the_border(case):
    h, w, polygons = case
    mask = segs_to_mask([polygons], (h, w))
    reference = _reference(polygons, h, w)
    differ = mask != reference
    assert not (differ & ~_border(reference)).any(), np.argwhere(differ)


def test_clip_polygon_exact_vertices():
    # A triangle reaching far to the right, cut by the box [0, 10]^2: the
    # cut edge runs along x = 10 between the two crossing points.
    tri = np.array([[0., 0.], [1e6, 5.], [0., 10.]])
    out = clip_polygon(tri, (0., 0.), (10., 10.))
    np.testing.assert_allclose(out, [[0., 0.], [10., 5e-5], [10., 10. - 5e-5],
                                     [0., 10.]], atol=1e-9)
    # A polygon wholly outside the box clips to nothing.
    assert clip_polygon(tri + 100, (0., 0.), (10., 10.)).shape == (0, 2)


def test_far_vertex_polygon_mask():
    # A vertex at x = 1e9 (pycocotools alone would walk a 1e9-pixel edge):
    # the mask is that of the same triangle cut at the image border.
    far = [0., 0., 1e9, 0., 0., 8.]
    near = [0., 0., 30., 0., 30., 8. * (1 - 30. / 1e9), 0., 8.]
    mask = segs_to_mask([[far]], (8, 12))
    reference = _reference([near], 8, 12)
    assert reference.sum() > 0
    assert not ((mask != reference) & ~_border(reference)).any()
