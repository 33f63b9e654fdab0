import cv2
import numpy as np
import pytest

from posekit.codecs.utils import (blur_cells, blur_reflect, gaussian_blur,
                                  get_heatmap_maximum)


def test_heatmap_maximum_locations_and_values():
    maps = np.zeros((3, 4, 5), np.float32)
    maps[0, 2, 3] = 0.7
    maps[1, 1, 1] = maps[1, 3, 0] = 0.5  # tie: first in row-major order
    maps[2] = -0.2                       # no positive value
    locs, vals = get_heatmap_maximum(maps)
    assert locs.dtype == np.float32
    np.testing.assert_array_equal(locs, [[3, 2], [1, 1], [-1, -1]])
    np.testing.assert_allclose(vals, [0.7, 0.5, -0.2])


def test_heatmap_maximum_batched():
    rng = np.random.default_rng(0)
    maps = rng.uniform(0.1, 1, (2, 3, 6, 7)).astype(np.float32)
    maps[1, 2, 5, 6] = 2.0
    locs, vals = get_heatmap_maximum(maps)
    assert locs.shape == (2, 3, 2) and vals.shape == (2, 3)
    assert locs[1, 2].tolist() == [6, 5] and vals[1, 2] == 2.0
    flat = maps.reshape(6, -1)
    np.testing.assert_array_equal(vals.ravel(), flat.max(1))
    np.testing.assert_array_equal(
        locs.reshape(-1, 2) @ [1, 7], flat.argmax(1))


def test_heatmap_maximum_errors():
    with pytest.raises(ValueError, match=r'\(K, H, W\) or \(B, K, H, W\)'):
        get_heatmap_maximum(np.zeros((4, 5), np.float32))
    with pytest.raises(TypeError, match='numpy array'):
        get_heatmap_maximum([[[1.0]]])


@pytest.mark.parametrize('kernel', [11, 5, 17])
def test_gaussian_blur_matches_padded_opencv(ref, kernel):
    rng = np.random.default_rng(1)
    maps = rng.normal(0.2, 0.3, (5, 16, 12)).astype(np.float32)
    before = maps.copy()
    out = gaussian_blur(maps, kernel)
    np.testing.assert_allclose(out, ref.blur(maps, kernel), rtol=1e-6,
                               atol=1e-7)
    np.testing.assert_allclose(out.max(axis=(1, 2)), maps.max(axis=(1, 2)),
                               rtol=1e-6)
    np.testing.assert_array_equal(maps, before)  # input untouched


def test_gaussian_blur_zero_channel_stays_finite():
    maps = np.zeros((2, 8, 8), np.float32)
    maps[1, 4, 4] = 1
    out = gaussian_blur(maps, 5)
    assert np.isfinite(out).all() and not out[0].any()
    assert out[1].max() == pytest.approx(1.0)


def test_gaussian_blur_errors():
    with pytest.raises(ValueError, match='positive odd integer, got 4'):
        gaussian_blur(np.zeros((1, 8, 8), np.float32), 4)
    with pytest.raises(ValueError, match=r'\(K, H, W\)'):
        gaussian_blur(np.zeros((8, 8), np.float32), 5)


def test_blur_cells_equal_whole_map_blur():
    rng = np.random.default_rng(2)
    maps = rng.random((4, 20, 15)).astype(np.float32)
    pad = 5
    whole = []
    for m in maps:  # unscaled blur with zeros outside, read on a margin
        big = np.zeros((20 + 4 * pad, 15 + 4 * pad), np.float32)
        big[2 * pad:2 * pad + 20, 2 * pad:2 * pad + 15] = m
        whole.append(cv2.GaussianBlur(big, (11, 11), 0,
                                      borderType=cv2.BORDER_CONSTANT))
    whole = np.stack(whole)
    # blocks inside, on the edges and partly off the map
    channels = np.array([0, 1, 2, 3, 0])
    top = np.array([5, -2, 17, 0, 18])
    left = np.array([4, 0, -3, 12, 13])
    out = blur_cells(maps, channels, top, left, 3, 11)
    assert out.shape == (5, 3, 3)
    for m in range(5):
        want = whole[channels[m], 2 * pad + top[m]:2 * pad + top[m] + 3,
                     2 * pad + left[m]:2 * pad + left[m] + 3]
        np.testing.assert_allclose(out[m], want, rtol=1e-5, atol=1e-7)


def test_blur_reflect_matches_opencv_default_border():
    rng = np.random.default_rng(3)
    maps = rng.random((3, 9, 7)).astype(np.float32)
    out = blur_reflect(maps, 5)
    for m, o in zip(maps, out):
        np.testing.assert_allclose(o, cv2.GaussianBlur(m, (5, 5), 0),
                                   rtol=1e-6)
