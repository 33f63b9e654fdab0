import cv2
import numpy as np
import pytest
import torch

from posekit.codecs.utils import (gaussian_blur1d, get_simcc_maximum,
                                  get_simcc_normalized, refine_simcc_dark,
                                  simcc_blur_kernel_size)


def test_get_simcc_maximum_locations_and_smaller_value():
    x = np.array([[0.1, 0.9, 0.2], [0.0, 0.0, 0.0]], np.float32)
    y = np.array([[0.5, 0.0, 0.0, 0.3], [0.0, 0.7, 0.0, 0.0]], np.float32)
    locs, vals = get_simcc_maximum(x, y)
    assert locs.tolist() == [[1, 0], [-1, -1]]  # max 0 -> -1
    assert vals.tolist() == [pytest.approx(0.5), 0.0]
    locs3, vals3 = get_simcc_maximum(x[None], y[None])
    assert locs3.shape == (1, 2, 2) and vals3.shape == (1, 2)


def test_get_simcc_maximum_softmax():
    x = np.log(np.array([[1., 3.]], np.float32))       # softmax 1/4, 3/4
    y = np.log(np.array([[1., 1., 2.]], np.float32))   # 1/4, 1/4, 1/2
    locs, vals = get_simcc_maximum(x, y, apply_softmax=True)
    assert locs.tolist() == [[1, 2]]
    assert vals[0] == pytest.approx(0.5)


def test_get_simcc_maximum_errors():
    with pytest.raises(TypeError, match='simcc_x must be a numpy array'):
        get_simcc_maximum(torch.zeros(2, 3), np.zeros((2, 3)))
    with pytest.raises(ValueError, match='must agree on all but the last'):
        get_simcc_maximum(np.zeros((2, 3)), np.zeros((3, 3)))


def test_blur_kernel_size_rule():
    # (20 s - 7) // 3, made odd by subtracting one
    assert simcc_blur_kernel_size(6.0) == 37
    assert simcc_blur_kernel_size(4.9) == 29
    assert simcc_blur_kernel_size(0.5) == 1
    with pytest.raises(ValueError, match='sigma >= 0.5'):
        simcc_blur_kernel_size(0.4)


def test_gaussian_blur1d_matches_row_by_row_blur():
    rng = np.random.default_rng(0)
    simcc = rng.uniform(0, 1, (2, 3, 40)).astype(np.float32)
    out = gaussian_blur1d(simcc, 7)
    assert out.shape == simcc.shape and out.dtype == np.float32
    for n in range(2):
        for k in range(3):
            row = np.zeros((1, 46), np.float32)
            row[0, 3:43] = simcc[n, k]
            blurred = cv2.GaussianBlur(row, (7, 1), 0)[0, 3:43]
            expected = blurred * (simcc[n, k].max() / blurred.max())
            np.testing.assert_allclose(out[n, k], expected, rtol=1e-6)
            assert out[n, k].max() == pytest.approx(simcc[n, k].max())
    # an all-zero vector stays zero (no division by zero)
    assert not gaussian_blur1d(np.zeros((1, 10), np.float32), 3).any()
    with pytest.raises(ValueError, match='positive odd integer'):
        gaussian_blur1d(simcc, 4)


def test_refine_simcc_dark_on_a_sampled_gaussian():
    # a Gaussian wide against the blur stays Gaussian after it, so the
    # Newton step on its log lands on the centre
    bins = np.arange(100)
    centres = np.array([[30.3, 61.8]])
    simcc = np.exp(-(bins - centres[..., None])**2 / (2 * 6**2))
    argmax = simcc.argmax(-1).astype(np.float32)
    refined = refine_simcc_dark(argmax, simcc.astype(np.float32), 3)
    np.testing.assert_allclose(refined, centres, atol=0.02)
    assert argmax.tolist() == [[30, 62]]


def test_refine_simcc_dark_errors():
    simcc = np.ones((1, 2, 10), np.float32)
    with pytest.raises(ValueError, match=r'keypoints must be \(N, K\)'):
        refine_simcc_dark(np.zeros((2, 1)), simcc, 3)
    with pytest.raises(ValueError, match=r'in \[-1, 9\]'):
        refine_simcc_dark(np.array([[0., 10.]]), simcc, 3)


def test_get_simcc_normalized():
    simcc = torch.tensor([[[-1., 0.5, 0.25], [1., 4., 2.]]])
    out = get_simcc_normalized(simcc)
    # negatives -> 0; a vector peaking above 1 is divided by its peak
    assert out.tolist() == [[[0., 0.5, 0.25], [0.25, 1., 0.5]]]
    scaled = get_simcc_normalized(torch.full((1, 1, 2), 2.0), sigma=2.0)
    expected = 2 / (2 * np.sqrt(2 * np.pi))
    assert scaled[0, 0, 0].item() == pytest.approx(expected)
    with pytest.raises(ValueError, match=r'expected \(B, K, W\)'):
        get_simcc_normalized(torch.zeros(3, 4))
