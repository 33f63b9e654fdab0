"""The smallest inputs with which the fuzz tests of this folder first failed,
kept as plain examples so each fix stays checked by name."""
import numpy as np
import pytest

from posekit.codecs import ImagePoseLifting, VideoPoseLifting
from posekit.datasets.transforms import (BottomupResize, RandomFlip,
                                         RandomHalfBody, TopdownAffine)


def test_flip_swaps_visibility_with_weights_along_keypoints():
    # (N, K, 2) visibility (value, weight) used to be indexed on its last
    # axis: IndexError for K > 2, silently wrong for K = 2.
    vis = np.array([[[1., .1], [0., .2], [1., .3]]], np.float32)
    out = RandomFlip(prob=1.)(dict(
        img=np.zeros((4, 6, 3), np.uint8), flip_indices=[2, 1, 0],
        keypoints=np.array([[[0., 0.], [1., 1.], [5., 3.]]], np.float32),
        keypoints_visible=vis))
    np.testing.assert_array_equal(out['keypoints_visible'], vis[:, ::-1])
    np.testing.assert_array_equal(out['keypoints'][0, 0], [0., 3.])


def _half_body_results(kpts):
    return dict(keypoints=np.array([kpts], np.float32),
                keypoints_visible=np.ones((1, len(kpts)), np.float32),
                upper_body_ids=[0, 1], lower_body_ids=[2],
                bbox_center=np.array([[10., 10.]], np.float32),
                bbox_scale=np.array([[8., 8.]], np.float32))


def test_half_body_keeps_box_when_keypoints_coincide():
    # Two upper-body keypoints on the same pixel used to give a (0, 0)
    # box, which TopdownAffine rejects mid-training.
    half = RandomHalfBody(min_total_keypoints=2, min_upper_keypoints=2,
                          min_lower_keypoints=2, prob=1.)
    out = half(_half_body_results([[3., 4.], [3., 4.], [9., 9.]]))
    np.testing.assert_array_equal(out['bbox_scale'], [[8., 8.]])
    np.testing.assert_array_equal(out['bbox_center'], [[10., 10.]])
    # on a horizontal line: height 0, kept; TopdownAffine grows it
    out = half(_half_body_results([[2., 4.], [6., 4.], [9., 9.]]))
    np.testing.assert_allclose(out['bbox_scale'], [[6., 0.]])
    crop = TopdownAffine((6, 8))(dict(out, img=np.zeros((16, 16, 3),
                                                        np.uint8)))
    np.testing.assert_allclose(crop['input_scale'], [6., 8.])


def test_topdown_affine_rejects_negative_and_empty_boxes():
    for scale in ([[0., 0.]], [[-1., 4.]], [[np.inf, 2.]]):
        with pytest.raises(ValueError, match='bbox_scale must be positive'):
            TopdownAffine((8, 8))(dict(
                img=np.zeros((4, 4, 3), np.uint8),
                bbox_center=np.ones((1, 2)), bbox_scale=np.array(scale)))


def test_udp_resize_of_a_one_pixel_high_image():
    # (h, w) = (1, 64) fitted into 64 x 64 is scaled to 1 pixel high; UDP's
    # (size - 1) / image size was 0: input_scale inf, input_center nan.
    # At 80 wide it was negative (a mirrored warp).
    for width in (64, 80):
        out = BottomupResize((64, 64), use_udp=True)(
            dict(img=np.zeros((1, width, 3), np.uint8)))
        a = np.diag(out['warp_mat'][:, :2])
        np.testing.assert_allclose(a[1], 1.)  # (2 - 1) / 1
        assert np.isfinite(out['input_scale']).all()
        assert np.isfinite(out['input_center']).all()


def test_trajectory_weights_for_joints_at_or_behind_the_camera():
    # 1 / z used to give inf at z = 0 and a negative weight behind.
    target = np.array([[[0., 0., 4.], [0., 0., 0.], [0., 0., -2.]]],
                      np.float32)
    kpts = np.zeros((1, 3, 2), np.float32)
    enc = ImagePoseLifting(3).encode(kpts, None, target)
    np.testing.assert_allclose(enc['trajectory_weights'], [[.25, 0., 0.]])


def test_video_lifting_rejects_a_zero_image_width():
    # w = 0 used to divide by zero (inf labels).
    codec = VideoPoseLifting(2)
    with pytest.raises(ValueError, match=r"camera_param\['w'\] must be the"
                       r' image width.*got 0'):
        codec.encode(np.zeros((1, 2, 2)), None, np.ones((1, 2, 3)),
                     None, dict(w=0, h=10))


def test_lifting_rejects_a_zero_std():
    with pytest.raises(ValueError, match=r'target_std must hold finite '
                       r'numbers > 0; entry \[1, 2\]'):
        ImagePoseLifting(2, target_mean=np.zeros((2, 3)),
                         target_std=np.array([[1., 1., 1.], [1., 1., 0.]]))
