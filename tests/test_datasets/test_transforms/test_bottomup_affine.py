import numpy as np
import pytest

from posekit.datasets.transforms import BottomupRandomAffine, RandomFlip

FIXED = dict(shift_prob=0., scale_prob=0., rotate_prob=0.)


def _fixed(transform, shift=(0., 0.), scale=1., rotate=0.):
    """Pin the random parameters (shift fraction, scale, degrees)."""
    transform._get_transform_params = lambda: (np.array(shift), scale,
                                                rotate)
    return transform


def _sample(w=200, h=100):
    img = np.zeros((h, w, 3), np.uint8)
    img[30, 120] = 255
    return dict(img=img, img_shape=(h, w), ori_shape=(h, w),
                keypoints=np.array([[[120., 30.], [-50., 30.]]], np.float32),
                keypoints_visible=np.ones((1, 2), np.float32),
                bbox=np.array([[60., 10., 140., 90.]], np.float32),
                area=np.array([400.], np.float32))


def test_short_side_crop_without_randomness():
    # 200x100 image into 100x100, 'short': the 100x100 square at the image
    # centre (100, 50), so x_in = x - 50 and y_in = y.
    out = BottomupRandomAffine(input_size=(100, 100), **FIXED)(_sample())
    assert out['img'].shape == (100, 100, 3)
    assert out['img'][30, 70, 0] == 255 and out['img'].sum() == 3 * 255
    # the second keypoint lies outside and keeps its coordinates
    np.testing.assert_allclose(out['keypoints'], [[[70, 30], [-100, 30]]],
                               atol=1e-4)
    np.testing.assert_allclose(out['bbox'], [[10, 10, 90, 90]], atol=1e-4)
    np.testing.assert_allclose(out['area'], [400.], rtol=1e-5)
    assert out['input_size'] == (100, 100)
    np.testing.assert_allclose(out['input_center'], [100, 50])
    np.testing.assert_allclose(out['input_scale'], [100, 100])
    np.testing.assert_allclose(out['warp_mat'], [[1, 0, -50], [0, 1, 0]],
                               atol=1e-5)


def test_long_side_covers_the_image():
    # 'long': a 200x200 region, scale 1/2: x_in = x / 2, y_in = y / 2 + 25
    results = _sample()
    results['img'][:] = 100
    out = BottomupRandomAffine(input_size=(100, 100), scale_type='long',
                               **FIXED)(results)
    np.testing.assert_allclose(out['keypoints'][0, 0], [60, 40], atol=1e-4)
    np.testing.assert_allclose(out['bbox'], [[30, 30, 70, 70]], atol=1e-4)
    np.testing.assert_allclose(out['area'], [100.], rtol=1e-5)
    np.testing.assert_allclose(out['input_scale'], [200, 200])
    # rows above and below the image (y_in < 25 or > 74.5) are padding
    assert (out['img'][:25] == 0).all() and (out['img'][75:] == 0).all()
    assert (out['img'][25:75] == 100).all()


def test_rotation_moves_image_keypoints_and_boxes_alike():
    img = np.zeros((100, 100, 3), np.uint8)
    img[80, 50] = 200
    results = dict(img=img, keypoints=np.array([[[50., 80.]]], np.float32),
                   bbox=np.array([[40., 70., 60., 90.]], np.float32))
    out = _fixed(BottomupRandomAffine(input_size=(100, 100)),
                 rotate=90.)(results)
    # 90 degrees: the image's downward axis becomes the input's +x
    np.testing.assert_allclose(out['keypoints'], [[[80, 50]]], atol=1e-3)
    assert out['img'][50, 80, 0] == 200
    np.testing.assert_allclose(out['bbox'], [[70, 40, 90, 60]], atol=1e-3)


def test_shift_and_scale_follow_the_contract_mapping():
    out = _fixed(BottomupRandomAffine(input_size=(64, 48)),
                 shift=(0.1, -0.2), scale=1.25)(_sample())
    # region: image * 1.25 = (250, 125), 'short' -> (166.67, 125);
    # centre (100, 50) + (20, -20)
    np.testing.assert_allclose(out['input_center'], [120, 30])
    np.testing.assert_allclose(out['input_scale'], [125 * 4 / 3, 125],
                               rtol=1e-6)
    kpts = out['keypoints'][0]
    back = kpts / np.array([64, 48]) * out['input_scale'] + \
        out['input_center'] - out['input_scale'] / 2
    np.testing.assert_allclose(back, [[120, 30], [-50, 30]], atol=1e-3)


def test_random_parameters_move_keypoint_and_image_together():
    np.random.seed(3)
    transform = BottomupRandomAffine(input_size=(96, 96), rotate_factor=40)
    img = np.zeros((100, 120), np.uint8)
    img[40:43, 70:73] = 255  # a 3x3 dot around (71, 41)
    for _ in range(5):
        out = transform(dict(img=img.copy(),
                             keypoints=np.array([[[71., 41.]]], np.float32)))
        x, y = np.round(out['keypoints'][0, 0]).astype(int)
        peak = np.unravel_index(np.argmax(out['img']), out['img'].shape)
        assert abs(peak[0] - y) <= 1 and abs(peak[1] - x) <= 1


def test_flip_before_the_affine_is_recorded_in_warp_mat():
    results = RandomFlip(prob=1.)(dict(_sample(), flip_indices=[0, 1]))
    out = BottomupRandomAffine(input_size=(100, 100), **FIXED)(results)
    # original x -> flipped 199 - x -> minus 50 = 149 - x
    np.testing.assert_allclose(out['warp_mat'], [[-1, 0, 149], [0, 1, 0]],
                               atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match='input_size must be two positive'):
        BottomupRandomAffine(input_size=(0, 10))
    with pytest.raises(ValueError, match="scale_type must be one of "
                       r"\('short', 'long'\), got 'wide'"):
        BottomupRandomAffine(input_size=(8, 8), scale_type='wide')
    with pytest.raises(ValueError, match='perspective warps are not '
                       'supported'):
        BottomupRandomAffine(input_size=(8, 8), transform_mode='perspective')
    with pytest.raises(ValueError, match='scale_factor must be'):
        BottomupRandomAffine(input_size=(8, 8), scale_factor=(2, 1))
    with pytest.raises(ValueError, match='shift_prob must be a probability'):
        BottomupRandomAffine(input_size=(8, 8), shift_prob=2)
    with pytest.raises(KeyError, match="BottomupRandomAffine needs the key "
                       "'img'"):
        BottomupRandomAffine(input_size=(8, 8))({})
    bad = dict(img=np.zeros((4, 4), np.uint8),
               bbox=np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match=r'bbox must be \(N, 4\)'):
        BottomupRandomAffine(input_size=(8, 8), **FIXED)(bad)
