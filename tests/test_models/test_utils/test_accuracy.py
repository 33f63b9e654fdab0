import numpy as np
import pytest

from posekit.models.utils import (heatmap_argmax, keypoint_pck_accuracy,
                                  pose_pck_accuracy)


def _peaks(shape, points):
    """Heatmaps of ``shape`` (N, K, H, W) with a 1 at each (n, k) -> (x, y)
    of ``points``."""
    maps = np.zeros(shape, dtype=np.float32)
    for (n, k), (x, y) in points.items():
        maps[n, k, y, x] = 1.
    return maps


def test_heatmap_argmax_locations_and_empty_maps():
    maps = _peaks((1, 2, 4, 5), {(0, 0): (3, 1)})
    locs, vals = heatmap_argmax(maps)
    np.testing.assert_array_equal(locs, [[[3, 1], [-1, -1]]])
    np.testing.assert_array_equal(vals, [[1, 0]])


def test_pose_pck_accuracy_counts_within_threshold():
    # 64 x 48 heatmaps, thr 0.05: x error normalised by H=64 (MMPose's
    # convention), so 3 px is a hit (0.047) and 4 px a miss (0.0625)
    shape = (2, 3, 64, 48)
    target = _peaks(shape, {(0, 0): (10, 10), (0, 1): (20, 20),
                            (0, 2): (5, 5), (1, 0): (10, 10),
                            (1, 1): (30, 30), (1, 2): (7, 7)})
    output = _peaks(shape, {(0, 0): (13, 10), (0, 1): (24, 20),
                            (0, 2): (40, 60), (1, 0): (10, 10),
                            (1, 1): (30, 30), (1, 2): (7, 7)})
    mask = np.array([[True, True, True], [True, True, False]])
    acc, avg, cnt = pose_pck_accuracy(output, target, mask)
    np.testing.assert_allclose(acc, [1.0, 0.5, 0.0])
    assert avg == pytest.approx(0.5)
    assert cnt == 3


def test_keypoint_without_valid_instance_is_minus_one():
    pred = np.zeros((1, 2, 2))
    gt = np.zeros((1, 2, 2))
    acc, avg, cnt = keypoint_pck_accuracy(
        pred, gt, np.array([[True, False]]), 0.1, np.ones((1, 2)))
    np.testing.assert_allclose(acc, [1.0, -1.0])
    assert (avg, cnt) == (1.0, 1)
    # a zero normaliser removes the instance altogether
    acc, avg, cnt = keypoint_pck_accuracy(
        pred, gt, np.array([[True, True]]), 0.1, np.array([[0., 1.]]))
    np.testing.assert_allclose(acc, [-1.0, -1.0])
    assert (avg, cnt) == (0.0, 0)


def test_shape_errors():
    with pytest.raises(ValueError, match=r'\(N, K, H, W\)'):
        pose_pck_accuracy(np.zeros((1, 2, 3, 4)), np.zeros((1, 2, 3, 5)),
                          np.ones((1, 2), bool))
    with pytest.raises(ValueError, match=r'mask must be \(N, K\)'):
        keypoint_pck_accuracy(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)),
                              np.ones((2, 2), bool), 0.1, np.ones((1, 2)))
