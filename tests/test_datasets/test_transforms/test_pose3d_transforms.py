"""RandomFlipAroundRoot."""
import numpy as np
import pytest

from posekit.datasets.transforms import MissingKeyError, RandomFlipAroundRoot

FLIP = [0, 2, 1]  # joint 0 is the root, 1 and 2 are a left/right pair


def _results():
    kpts = np.array([[[10., 0.], [12., 1.], [7., 2.]]])  # (T=1, K=3, 2)
    target = np.array([[[0.5, 0., 3.], [0.9, 1., 3.], [0.2, 2., 4.]]])
    return dict(keypoints=kpts, keypoints_visible=np.array([[1., 1., 0.]]),
                lifting_target=target,
                lifting_target_visible=np.array([[1., 0., 1.]]),
                flip_indices=FLIP,
                camera_param=dict(c=np.array([[3.], [4.]]),
                                  p=np.array([[0.1], [0.2]])))


def test_flip_around_root_joint():
    t = RandomFlipAroundRoot(dict(center_mode='root', center_index=0),
                             dict(center_mode='static', center_x=0.),
                             flip_prob=1.0, flip_camera=True)
    out = t(_results())
    # x' = 2 * x_root - x of the swapped joint; root x = 10.
    np.testing.assert_allclose(out['keypoints'][0, :, 0], [10, 13, 8])
    np.testing.assert_allclose(out['keypoints'][0, :, 1], [0, 2, 1])
    np.testing.assert_array_equal(out['keypoints_visible'], [[1, 0, 1]])
    np.testing.assert_allclose(out['lifting_target'][0, :, 0],
                               [-0.5, -0.2, -0.9])
    np.testing.assert_allclose(out['lifting_target'][0, :, 2], [3, 4, 3])
    np.testing.assert_array_equal(out['lifting_target_visible'], [[1, 1, 0]])
    np.testing.assert_allclose(out['camera_param']['c'], [[-3], [4]])
    np.testing.assert_allclose(out['camera_param']['p'], [[-0.1], [0.2]])


def test_flipping_twice_is_identity_and_prob_zero_is_noop():
    t = RandomFlipAroundRoot(dict(center_mode='root'), dict(), flip_prob=1.)
    twice = t(t(_results()))
    np.testing.assert_allclose(twice['keypoints'], _results()['keypoints'])
    np.testing.assert_allclose(twice['lifting_target'],
                               _results()['lifting_target'])
    never = RandomFlipAroundRoot(dict(), dict(), flip_prob=0.)
    np.testing.assert_array_equal(never(_results())['keypoints'],
                                  _results()['keypoints'])


def test_errors():
    with pytest.raises(ValueError, match='center_mode'):
        RandomFlipAroundRoot(dict(center_mode='middle'), dict())
    t = RandomFlipAroundRoot(dict(), dict(), flip_prob=1.)
    res = _results()
    del res['lifting_target']
    with pytest.raises(MissingKeyError, match='lifting_target'):
        t(res)
