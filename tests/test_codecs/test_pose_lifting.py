"""ImagePoseLifting / VideoPoseLifting encode-decode."""
import numpy as np
import pytest

from posekit.codecs import ImagePoseLifting, VideoPoseLifting

K = 5


def _target():
    t = np.arange(K * 3, dtype=np.float32).reshape(1, K, 3)
    t[..., 2] += 4  # positive depths
    return t


def test_image_lifting_root_relative_and_restored():
    codec = ImagePoseLifting(num_keypoints=K, root_index=0)
    kpts = np.random.RandomState(0).rand(1, K, 2).astype(np.float32)
    target = _target()
    enc = codec.encode(kpts, np.ones((1, K)), target, np.ones((1, K)))
    np.testing.assert_allclose(enc['target_root'], [[0, 1, 6]])
    np.testing.assert_allclose(enc['lifting_target_label'][0, 2], [6, 6, 6])
    # (T, K, D) -> (K * D, T): row 2 * j + d holds joint j, coordinate d.
    assert enc['keypoint_labels'].shape == (2 * K, 1)
    assert enc['keypoint_labels'][3, 0] == kpts[0, 1, 1]
    assert enc['keypoint_labels_visible'].shape == (1, K)
    dec, scores = codec.decode(enc['lifting_target_label'],
                               enc['target_root'])
    np.testing.assert_allclose(dec, target)
    assert scores.shape == (1, K)


def test_image_lifting_remove_root_and_stats():
    mean, std = np.full((K - 1, 3), 1.0), np.full((K - 1, 3), 2.0)
    codec = ImagePoseLifting(num_keypoints=K, root_index=0, remove_root=True,
                             save_index=True, target_mean=mean,
                             target_std=std)
    target = _target()
    enc = codec.encode(np.ones((1, K, 2)), None, target, np.ones((1, K)))
    assert enc['lifting_target_label'].shape == (1, K - 1, 3)
    assert enc['lifting_target_weight'].shape == (1, K - 1)
    assert enc['target_root_removed'] is True
    assert enc['target_root_index'] == 0
    # Joint 1 is 3 units right of the root in every axis: (3 - 1) / 2 = 1.
    np.testing.assert_allclose(enc['lifting_target_label'][0, 0], [1, 1, 1])
    dec, _ = codec.decode(enc['lifting_target_label'],
                          enc['target_root'][:, None])
    np.testing.assert_allclose(dec, target, atol=1e-5)


def test_image_lifting_invisible_target_weight():
    codec = ImagePoseLifting(num_keypoints=K, root_index=[0, 1])
    vis = np.array([[1, 0.2, 1, 0, 1]])
    enc = codec.encode(np.ones((1, K, 2)), None, _target(), vis)
    np.testing.assert_array_equal(enc['lifting_target_weight'],
                                  [[1, 0, 1, 0, 1]])
    # Two roots are averaged: joints 0 and 1 -> (1.5, 2.5, 7.5).
    np.testing.assert_allclose(enc['target_root'], [[1.5, 2.5, 7.5]])


def test_video_lifting_normalises_by_image_size():
    codec = VideoPoseLifting(num_keypoints=K, reshape_keypoints=False,
                             normalize_camera=True)
    kpts = np.zeros((3, K, 2), np.float32)
    kpts[1, 2] = [1000, 500]
    cam = dict(w=1000, h=1000, f=np.array([[1000.], [1000.]]),
               c=np.array([[500.], [600.]]))
    enc = codec.encode(kpts, None, _target(), np.ones((1, K)), cam)
    assert enc['keypoint_labels'].shape == (3, K, 2)
    np.testing.assert_allclose(enc['keypoint_labels'][1, 2], [1, 0])
    np.testing.assert_allclose(enc['keypoint_labels'][0, 0], [-1, -1])
    np.testing.assert_allclose(enc['camera_param']['f'], [[2], [2]])
    np.testing.assert_allclose(enc['camera_param']['c'], [[0], [0.2]])
    assert cam['f'][0, 0] == 1000  # the input dict is left untouched
    dec, _ = codec.decode(enc['lifting_target_label'], enc['target_root'])
    np.testing.assert_allclose(dec, _target())


def test_video_lifting_reshape_and_camera_errors():
    codec = VideoPoseLifting(num_keypoints=K, concat_vis=True)
    enc = codec.encode(np.zeros((4, K, 2)), np.ones((4, K)), _target(),
                       np.ones((1, K)), dict(w=10, h=10))
    assert enc['keypoint_labels'].shape == (3 * K, 4)
    assert enc['keypoints_visible'].shape == (4, K)
    with pytest.raises(KeyError, match=r"camera_param lacks \['w', 'h'\]"):
        codec.encode(np.zeros((4, K, 2)), None, _target(), None, None)
    no_center = VideoPoseLifting(num_keypoints=K, zero_center=False)
    enc = no_center.encode(np.zeros((1, K, 2)), None, _target(), None,
                           dict(w=10, h=10))
    assert 'target_root' not in enc
    np.testing.assert_allclose(enc['lifting_target_label'], _target())
    # Without visibility the trajectory weight is 1 / depth.
    np.testing.assert_allclose(enc['trajectory_weights'][0, 1], 1 / 9)


def test_bad_root_index_and_decode_root_shape():
    with pytest.raises(ValueError, match='root_index'):
        ImagePoseLifting(num_keypoints=K, root_index=K)
    codec = VideoPoseLifting(num_keypoints=K)
    with pytest.raises(ValueError, match='target_root'):
        codec.decode(np.zeros((2, K, 3)), np.zeros((3, 3)))
