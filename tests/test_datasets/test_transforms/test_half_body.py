import numpy as np
import pytest

from posekit.datasets.transforms import RandomHalfBody

# Upper keypoints 0-2 near the top, lower 3-5 near the bottom.
KPTS = np.array([[[10., 10.], [30., 20.], [20., 30.],
                  [12., 60.], [28., 80.], [20., 100.]]], dtype=np.float32)


def _sample(visible=(1, 1, 1, 1, 1, 1), keypoints=KPTS):
    return dict(keypoints=keypoints.copy(),
                keypoints_visible=np.array([visible], dtype=np.float32),
                upper_body_ids=[0, 1, 2], lower_body_ids=[3, 4, 5],
                bbox_center=np.array([[20., 55.]], dtype=np.float32),
                bbox_scale=np.array([[25., 113.]], dtype=np.float32))


def _half_body(**kwargs):
    args = dict(min_total_keypoints=6, min_upper_keypoints=2,
                min_lower_keypoints=2, padding=1.5, prob=1.)
    args.update(kwargs)
    return RandomHalfBody(**args)


def test_upper_half_box():
    out = _half_body(upper_prioritized_prob=1.)(_sample())
    # mean of (10,10), (30,20), (20,30); extent 20 x 20 times 1.5
    np.testing.assert_allclose(out['bbox_center'], [[20, 20]])
    np.testing.assert_allclose(out['bbox_scale'], [[30, 30]])


def test_lower_half_box():
    out = _half_body(upper_prioritized_prob=0.)(_sample())
    # mean of (12,60), (28,80), (20,100); extent 16 x 40 times 1.5
    np.testing.assert_allclose(out['bbox_center'], [[20, 80]])
    np.testing.assert_allclose(out['bbox_scale'], [[24, 60]])


def test_invisible_keypoints_are_left_out_of_the_box():
    kpts = KPTS.copy()
    kpts[0, 5] = [500., 500.]
    out = _half_body(min_total_keypoints=5, upper_prioritized_prob=0.)(
        _sample(visible=(1, 1, 1, 1, 1, 0), keypoints=kpts))
    # lower box from (12,60) and (28,80) only
    np.testing.assert_allclose(out['bbox_center'], [[20, 70]])
    np.testing.assert_allclose(out['bbox_scale'], [[24, 30]])


def test_falls_back_to_the_half_that_has_enough_keypoints():
    # only one lower keypoint visible: the upper half is used even though
    # the lower one is preferred
    out = _half_body(min_total_keypoints=4, upper_prioritized_prob=0.)(
        _sample(visible=(1, 1, 1, 0, 0, 1)))
    np.testing.assert_allclose(out['bbox_center'], [[20, 20]])


def test_unchanged_without_enough_keypoints_or_probability():
    for transform, visible in ((_half_body(), (1, 1, 1, 1, 1, 0)),
                               (_half_body(prob=0.), (1, ) * 6),
                               (_half_body(min_total_keypoints=3,
                                           min_upper_keypoints=4,
                                           min_lower_keypoints=4),
                                (1, ) * 6)):
        out = transform(_sample(visible=visible))
        np.testing.assert_allclose(out['bbox_center'], [[20, 55]])
        np.testing.assert_allclose(out['bbox_scale'], [[25, 113]])


def test_each_instance_decides_on_its_own():
    results = _sample()
    results['keypoints'] = np.concatenate([KPTS, KPTS + 100])
    results['keypoints_visible'] = np.array([[1] * 6, [1, 1, 1, 0, 0, 0]],
                                            dtype=np.float32)
    results['bbox_center'] = np.array([[20., 55.], [1., 2.]], np.float32)
    results['bbox_scale'] = np.array([[25., 113.], [3., 4.]], np.float32)
    out = _half_body(upper_prioritized_prob=1.)(results)
    np.testing.assert_allclose(out['bbox_center'], [[20, 20], [1, 2]])
    np.testing.assert_allclose(out['bbox_scale'], [[30, 30], [3, 4]])


def test_errors():
    results = _sample()
    del results['upper_body_ids']
    with pytest.raises(KeyError, match="RandomHalfBody needs the key "
                       "'upper_body_ids'"):
        _half_body()(results)
    results = _sample()
    results['lower_body_ids'] = [3, 4, 6]
    with pytest.raises(ValueError, match=r'lower_body_ids.*0\.\.5'):
        _half_body()(results)
    with pytest.raises(ValueError, match='upper_prioritized_prob'):
        RandomHalfBody(upper_prioritized_prob=2)
