"""flip_keypoints: mirror coordinates, swap left/right, visibility too."""
import numpy as np
import pytest

from posekit.structures import flip_keypoints

# keypoints 0 and 2 are a left/right pair, 1 is central
FLIP = [2, 1, 0]


def _kpts():
    return np.array([[[1., 2.], [5., 6.], [9., 3.]]], dtype=np.float32)


def test_coordinates_mirror_onto_pixel_centres_and_swap():
    out, vis = flip_keypoints(_kpts(), np.array([[1., 0., 0.5]]), (10, 8),
                              FLIP, 'horizontal')
    np.testing.assert_array_equal(out[0], [[0., 3.], [4., 6.], [8., 2.]])
    np.testing.assert_array_equal(vis, [[0.5, 0., 1.]])


def test_visibility_with_a_channel_axis_swaps_keypoints_not_channels():
    vis = np.array([[[1., 0.1], [0., 0.2], [0.5, 0.3]]])     # (N, K, 2)
    _, out = flip_keypoints(_kpts(), vis, (10, 8), FLIP, 'horizontal')
    np.testing.assert_array_equal(
        out, [[[0.5, 0.3], [0., 0.2], [1., 0.1]]])


def test_vertical_and_diagonal():
    out, _ = flip_keypoints(_kpts(), None, (10, 8), FLIP, 'vertical')
    np.testing.assert_array_equal(out[0], [[9., 4.], [5., 1.], [1., 5.]])
    out, _ = flip_keypoints(_kpts(), None, (10, 8), FLIP, 'diagonal')
    np.testing.assert_array_equal(out[0], [[0., 4.], [4., 1.], [8., 5.]])


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r'keypoints_visible must have shape '
                       r'\(1, 3\) or \(1, 3\) \+ \(C, \).*got \(1, 2\)'):
        flip_keypoints(_kpts(), np.ones((1, 2)), (10, 8), FLIP)
    with pytest.raises(ValueError, match='flip_indices has 2 entries'):
        flip_keypoints(_kpts(), None, (10, 8), [1, 0])
