import numpy as np
import pytest

from posekit.datasets.transforms import GetBBoxCenterScale, TopdownAffine

# A 60 x 80 box (aspect 0.75, like the 192 x 256 input) centred on (130, 90)
BOX = np.array([[100., 50., 160., 130.]], dtype=np.float32)


def _crop(keypoints, use_udp, input_size=(192, 256), bbox=BOX, **extra):
    results = dict(img=np.zeros((200, 300, 3), dtype=np.uint8), bbox=bbox,
                   keypoints=np.array([keypoints], dtype=np.float32),
                   **extra)
    results = GetBBoxCenterScale(padding=1.25)(results)
    return TopdownAffine(input_size, use_udp=use_udp)(results)


@pytest.mark.parametrize('use_udp,centre,corner', [
    (False, (96., 128.), (19.2, 25.6)),
    # UDP measures sizes in pixel intervals: 191/75 and 255/100 per pixel
    (True, (95.5, 127.5), (19.1, 25.5)),
])
def test_box_centre_and_corner_land_where_expected(use_udp, centre, corner):
    out = _crop([[130., 90.], [100., 50.]], use_udp)
    # the padded box is 75 x 100: the corner is 1/10 of the way in
    np.testing.assert_allclose(out['transformed_keypoints'][0],
                               [centre, corner], atol=1e-3)
    assert out['img'].shape == (256, 192, 3)
    assert out['input_size'] == (192, 256)
    np.testing.assert_allclose(out['input_center'], [130, 90])
    np.testing.assert_allclose(out['input_scale'], [75, 100])
    # the original keypoints are kept
    np.testing.assert_allclose(out['keypoints'][0, 1], [100, 50])


def test_scale_is_grown_to_the_input_aspect_ratio():
    out = _crop([[130., 90.]], False,
                bbox=np.array([[100., 60., 160., 120.]], np.float32))
    np.testing.assert_allclose(out['input_scale'], [75, 100])
    np.testing.assert_allclose(out['bbox_scale'], [[75, 100]])


def test_rotation_moves_keypoints_as_computed_by_hand():
    rot = np.array([30.], dtype=np.float32)
    out = _crop([[140., 100.]], False, input_size=(96, 128),
                bbox_rotation=rot)
    # offset (10, 10) from the centre, turned by -30 degrees, times 96/75
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    expected = [48 + 1.28 * (10 * c + 10 * s), 64 + 1.28 * (10 * c - 10 * s)]
    np.testing.assert_allclose(out['transformed_keypoints'][0, 0], expected,
                               atol=1e-3)


@pytest.mark.parametrize('use_udp', [False, True])
@pytest.mark.parametrize('rotation', [0., 30.])
def test_image_content_follows_the_keypoints(use_udp, rotation):
    img = np.zeros((200, 300, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:200, :300]
    blob = 255 * np.exp(-((xx - 141) ** 2 + (yy - 97) ** 2) / (2 * 1.5**2))
    img[..., 1] = blob.astype(np.uint8)
    results = dict(img=img, bbox=BOX,
                   keypoints=np.array([[[141., 97.]]], dtype=np.float32),
                   bbox_rotation=np.array([rotation], dtype=np.float32))
    results = GetBBoxCenterScale()(results)
    out = TopdownAffine((96, 128), use_udp=use_udp)(results)
    warped = out['img'][..., 1]
    y, x = np.unravel_index(np.argmax(warped), warped.shape)
    kx, ky = out['transformed_keypoints'][0, 0]
    assert abs(x - kx) <= 1 and abs(y - ky) <= 1, (x, y, kx, ky)
    assert warped.max() > 200


def test_extra_keypoint_dims_are_kept():
    out = _crop([[130., 90., 7.]], False)
    np.testing.assert_allclose(out['transformed_keypoints'][0, 0],
                               [96, 128, 7], atol=1e-3)


def test_without_keypoints_only_the_image_is_cropped():
    results = GetBBoxCenterScale()(dict(
        img=np.zeros((50, 50, 3), np.uint8), bbox=BOX / 4))
    out = TopdownAffine((32, 32))(results)
    assert out['img'].shape == (32, 32, 3)
    assert 'transformed_keypoints' not in out


def test_errors():
    with pytest.raises(ValueError, match=r'input_size must be two positive '
                       r'ints \(w, h\), got \(192, 256.0\)'):
        TopdownAffine((192, 256.0))
    with pytest.raises(KeyError, match="TopdownAffine needs the key "
                       "'bbox_center'.*GetBBoxCenterScale"):
        TopdownAffine((8, 8))(dict(img=np.zeros((4, 4, 3), np.uint8)))
    two = GetBBoxCenterScale()(dict(bbox=np.concatenate([BOX, BOX]),
                                    img=np.zeros((4, 4, 3), np.uint8)))
    with pytest.raises(ValueError, match=r'one instance.*\(2, 2\)'):
        TopdownAffine((8, 8))(two)
    zero = dict(img=np.zeros((4, 4, 3), np.uint8),
                bbox_center=np.ones((1, 2)), bbox_scale=np.zeros((1, 2)))
    with pytest.raises(ValueError, match='bbox_scale must be positive'):
        TopdownAffine((8, 8))(zero)
