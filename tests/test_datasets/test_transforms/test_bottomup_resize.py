import numpy as np
import pytest

from posekit.datasets.transforms import BottomupResize
from posekit.structures import transform_points


def _image(w=640, h=480):
    img = np.full((h, w, 3), 50, np.uint8)
    return dict(img=img, img_shape=(h, w), ori_shape=(h, w))


def _to_image(points, results):
    """The contract's input -> image mapping."""
    size = np.array(results['input_size'], np.float64)
    scale = results['input_scale'].astype(np.float64)
    center = results['input_center'].astype(np.float64)
    return points / size * scale + center - scale / 2


POINTS = np.array([[0., 0.], [100., 50.], [639., 479.], [320.5, 17.25]])


def test_fit_centres_the_scaled_image():
    # 640x480 into 512x512: scale 0.8 -> 512x384, 64 rows of padding above
    out = BottomupResize(input_size=(512, 512), pad_val=(1, 2, 3))(_image())
    assert out['img'].shape == (512, 512, 3)
    assert out['input_size'] == (512, 512) and out['img_shape'] == (512, 512)
    np.testing.assert_allclose(out['input_center'], [320, 240])
    np.testing.assert_allclose(out['input_scale'], [640, 640])
    pad = [[1, 2, 3]] * 64 * 512
    assert out['img'][:64].reshape(-1, 3).tolist() == pad
    assert out['img'][448:].reshape(-1, 3).tolist() == pad
    assert (out['img'][64:448] == 50).all()
    np.testing.assert_allclose(out['warp_mat'], [[0.8, 0, 0], [0, 0.8, 64]],
                               atol=1e-6)
    inputs = transform_points(POINTS, out['warp_mat'])
    np.testing.assert_allclose(inputs[1], [80, 104], atol=1e-4)
    np.testing.assert_allclose(_to_image(inputs, out), POINTS, atol=1e-3)


def test_expand_covers_and_pads_to_the_size_factor():
    # cover 512x512: scale 16/15 -> 682.7x512, padded to 704x512
    out = BottomupResize(input_size=(512, 512), size_factor=64,
                         resize_mode='expand')(_image())
    assert out['img'].shape == (512, 704, 3)
    assert out['input_size'] == (704, 512)
    np.testing.assert_allclose(out['input_center'], [320, 240], atol=1e-4)
    np.testing.assert_allclose(out['input_scale'], [660, 480], atol=1e-3)
    inputs = transform_points(POINTS, out['warp_mat'])
    np.testing.assert_allclose(_to_image(inputs, out), POINTS, atol=1e-3)


@pytest.mark.parametrize('mode', ['fit', 'expand'])
def test_udp_mapping_inverts_exactly(mode):
    out = BottomupResize(input_size=(512, 512), resize_mode=mode,
                         use_udp=True)(_image(500, 333))
    pts = POINTS * [500 / 640, 333 / 480]
    inputs = transform_points(pts, out['warp_mat'])
    np.testing.assert_allclose(_to_image(inputs, out), pts, atol=2e-3)


def test_aug_scales_make_a_pyramid_base_first():
    out = BottomupResize(input_size=(256, 256), aug_scales=[0.5, 2.])(
        _image(320, 240))
    assert isinstance(out['img'], list)
    assert [i.shape for i in out['img']] == [(256, 256, 3), (128, 128, 3),
                                             (512, 512, 3)]
    assert out['aug_scales'] == [0.5, 2.]
    # the metainfo describes the base scale: 320x240 -> 256x192
    assert out['input_size'] == (256, 256)
    np.testing.assert_allclose(out['input_scale'], [320, 320])


def test_errors():
    with pytest.raises(ValueError, match=r"input_size is \(500, 512\); "):
        BottomupResize(input_size=(500, 512))
    with pytest.raises(ValueError, match=r'input_size \* aug_scales\[0\] '
                       r'is \(89, 89\)'):
        BottomupResize(input_size=(128, 128), aug_scales=[0.7])
    # 'expand' rounds up instead
    BottomupResize(input_size=(500, 512), resize_mode='expand')
    with pytest.raises(ValueError, match="resize_mode must be one of"):
        BottomupResize(input_size=(64, 64), resize_mode='crop')
    with pytest.raises(ValueError, match='aug_scales must be a list'):
        BottomupResize(input_size=(64, 64), aug_scales=[0])
    with pytest.raises(TypeError, match='must be one numpy image, got list'):
        BottomupResize(input_size=(64, 64))(dict(img=[np.zeros((4, 4))]))
    with pytest.raises(KeyError, match="BottomupResize needs the key 'img'"):
        BottomupResize(input_size=(64, 64))({})
