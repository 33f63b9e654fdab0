"""warp_image gives cv2.warpAffine's output bit for bit."""
import cv2
import numpy as np
import pytest

from posekit.datasets.transforms.image_warp import (_use_four_channels,
                                                    warp_image)


def _random_case(rng):
    h, w = (int(v) for v in rng.integers(1, 200, 2))
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img = cv2.GaussianBlur(img, (5, 5), 2)  # smooth, like a photo
    angle, scale = rng.uniform(-np.pi, np.pi), rng.uniform(0.2, 4)
    mat = np.array([[scale * np.cos(angle), -scale * np.sin(angle),
                     rng.uniform(-100, 100)],
                    [scale * np.sin(angle), scale * np.cos(angle),
                     rng.uniform(-100, 100)]])
    # at least a quarter of the source's pixels: the 4-channel path
    out_w = max(w, 1) + int(rng.integers(0, 50))
    out_h = max(h, 1) + int(rng.integers(0, 50))
    return img, mat, (out_w, out_h)


@pytest.mark.parametrize('border', [0., (12.5, 200., 33.)])
def test_four_channel_path_matches_opencv(border):
    rng = np.random.default_rng(0)
    for _ in range(150):
        img, mat, size = _random_case(rng)
        assert _use_four_channels(img, size)
        want = cv2.warpAffine(img, mat, size, flags=cv2.INTER_LINEAR,
                              borderValue=border)
        got = warp_image(img, mat, size, border)
        assert got.shape == want.shape and got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)


def test_results_do_not_share_the_scratch_memory():
    rng = np.random.default_rng(1)
    img, mat, size = _random_case(rng)
    first = warp_image(img, mat, size)
    keep = first.copy()
    warp_image(255 - img, mat, size)
    np.testing.assert_array_equal(first, keep)


def test_other_images_take_the_plain_path():
    rng = np.random.default_rng(2)
    mat = np.array([[0.5, 0.1, 3.], [-0.1, 0.5, 2.]])
    gray = rng.integers(0, 256, (40, 30), dtype=np.uint8)
    float_img = rng.random((40, 30, 3)).astype(np.float32)
    big = rng.integers(0, 256, (400, 300, 3), dtype=np.uint8)
    assert not _use_four_channels(gray, (30, 40))
    assert not _use_four_channels(float_img, (30, 40))
    assert not _use_four_channels(big, (48, 64))  # small top-down crop
    for img, size in ((gray, (30, 40)), (float_img, (30, 40)),
                      (big, (48, 64))):
        np.testing.assert_array_equal(
            warp_image(img, mat, size, 7.),
            cv2.warpAffine(img, mat, size, flags=cv2.INTER_LINEAR,
                           borderValue=7.))
