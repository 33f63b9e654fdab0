import numpy as np
import pytest

from posekit.codecs.utils import (generate_gaussian_heatmaps,
                                  generate_udp_gaussian_heatmaps,
                                  generate_unbiased_gaussian_heatmaps)

GENERATORS = {'msra': generate_gaussian_heatmaps,
              'udp': generate_udp_gaussian_heatmaps,
              'dark': generate_unbiased_gaussian_heatmaps}


def _random_case(rng, num):
    # Heatmap space 48 x 64; keypoints spread past every border so the
    # out-of-bounds rule and clipped windows are exercised.
    kpts = rng.uniform([-14, -14], [62, 78], (num, 17, 2)).astype(np.float32)
    kpts[:, :3] = np.round(kpts[:, :3] * 2) / 2  # exact .5 rounding cases
    vis = (rng.uniform(size=(num, 17)) > 0.2).astype(np.float32)
    vis[:, 0] = 0.3  # below 0.5: invisible but keeps its weight
    return kpts, vis


@pytest.mark.parametrize('mode', sorted(GENERATORS))
@pytest.mark.parametrize('sigma', [2.0, 3.0, 1.5, (2.0, 1.5)])
def test_matches_reference(ref, mode, sigma):
    rng = np.random.default_rng(7)
    num = len(sigma) if isinstance(sigma, tuple) else 1
    for _ in range(6):
        kpts, vis = _random_case(rng, num)
        maps, weights = GENERATORS[mode]((48, 64), kpts, vis, sigma)
        want_maps, want_weights = ref.gaussian_heatmaps(
            (48, 64), kpts, vis, sigma, mode)
        assert maps.shape == (17, 64, 48) and maps.dtype == np.float32
        assert weights.shape == (num, 17) and weights.dtype == np.float32
        np.testing.assert_allclose(maps, want_maps, atol=1e-6)
        np.testing.assert_array_equal(weights, want_weights)


@pytest.mark.parametrize('sigma', [1.0, 2.0, 3.0])
@pytest.mark.parametrize('num', [2, 5, 12])
def test_msra_many_instances(ref, sigma, num):
    # Several instances take the scatter path: it must give the reference
    # maps, and exactly the maximum of the one-instance maps (which take
    # the crop path).
    rng = np.random.default_rng(num)
    for _ in range(4):
        kpts, vis = _random_case(rng, num)
        maps, weights = generate_gaussian_heatmaps((48, 64), kpts, vis,
                                                   sigma)
        want_maps, want_weights = ref.gaussian_heatmaps(
            (48, 64), kpts, vis, sigma, 'msra')
        np.testing.assert_allclose(maps, want_maps, atol=1e-6)
        np.testing.assert_array_equal(weights, want_weights)
        singles = [generate_gaussian_heatmaps((48, 64), kpts[i:i + 1],
                                              vis[i:i + 1], sigma)[0]
                   for i in range(num)]
        np.testing.assert_array_equal(maps, np.max(singles, axis=0))
        assert maps.shape == (17, 64, 48) and maps.dtype == np.float32


def test_msra_peak_on_rounded_cell():
    kpts = np.array([[[10.4, 20.6]]], np.float32)
    maps, weights = generate_gaussian_heatmaps((48, 64), kpts,
                                               np.ones((1, 1)), 2.0)
    assert maps[0, 21, 10] == 1.0
    # one cell right of the peak: exp(-1 / (2 * 2^2))
    assert maps[0, 21, 11] == pytest.approx(np.exp(-1 / 8), rel=1e-6)
    # the window ends 3 sigma = 6 cells from the peak
    assert maps[0, 21, 16] > 0 and maps[0, 21, 17] == 0
    assert weights.tolist() == [[1.0]]


def test_udp_and_dark_peak_on_exact_position():
    kpts = np.array([[[10.5, 20.0]]], np.float32)
    for gen in (generate_udp_gaussian_heatmaps,
                generate_unbiased_gaussian_heatmaps):
        maps, _ = gen((48, 64), kpts, np.ones((1, 1)), 2.0)
        # half a cell from the centre on both sides
        assert maps[0, 20, 10] == pytest.approx(np.exp(-0.25 / 8), rel=1e-6)
        assert maps[0, 20, 11] == pytest.approx(np.exp(-0.25 / 8), rel=1e-6)
    dark, _ = generate_unbiased_gaussian_heatmaps((48, 64), kpts,
                                                  np.ones((1, 1)), 2.0)
    # not truncated: 7.5 cells away is still drawn
    assert dark[0, 20, 18] == pytest.approx(np.exp(-7.5**2 / 8), rel=1e-5)


def test_out_of_bounds_rule():
    # window of sigma 2 = [mu - 6, mu + 7); mu = int(x + 0.5)
    xs = [53.0, 54.0, -7.4, -8.6]
    kpts = np.array([[[x, 10.0] for x in xs]], np.float32)
    maps, weights = generate_gaussian_heatmaps((48, 64), kpts,
                                               np.ones((1, 4)), 2.0)
    # 53: the window reaches the last column; 54: starts past it
    assert weights[0, :2].tolist() == [1.0, 0.0]
    assert maps[0, 10, 47] == pytest.approx(np.exp(-36 / 8), rel=1e-6)
    assert not maps[1].any()
    # -7.4 -> mu -6 (truncation toward zero), window ends at 1: kept;
    # -8.6 -> mu -8, window ends at -1 < 0: dropped
    assert weights[0, 2:].tolist() == [1.0, 0.0]
    assert maps[2, 10, 0] == pytest.approx(np.exp(-36 / 8), rel=1e-6)


def test_instances_merge_by_maximum():
    kpts = np.array([[[10.0, 20.0]], [[12.0, 20.0]]], np.float32)
    maps, weights = generate_gaussian_heatmaps((48, 64), kpts,
                                               np.ones((2, 1)), 2.0)
    assert maps[0, 20, 10] == 1.0 and maps[0, 20, 12] == 1.0
    # midway: both give exp(-1/8); a sum would give twice that
    assert maps[0, 20, 11] == pytest.approx(np.exp(-1 / 8), rel=1e-6)
    assert weights.shape == (2, 1)


def test_no_instances_and_non_finite():
    maps, weights = generate_gaussian_heatmaps(
        (48, 64), np.zeros((0, 5, 2), np.float32), np.zeros((0, 5)), 2.0)
    assert maps.shape == (5, 64, 48) and not maps.any()
    assert weights.shape == (0, 5)
    kpts = np.array([[[np.nan, 3.0], [5.0, 5.0]]], np.float32)
    maps, weights = generate_gaussian_heatmaps((48, 64), kpts,
                                               np.ones((1, 2)), 2.0)
    assert weights.tolist() == [[0.0, 1.0]] and not maps[0].any()


def test_sigma_errors():
    kpts = np.zeros((2, 1, 2), np.float32)
    with pytest.raises(ValueError, match=r'one value per instance \(2\)'):
        generate_gaussian_heatmaps((48, 64), kpts, np.ones((2, 1)),
                                   [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match='sigma must be positive'):
        generate_unbiased_gaussian_heatmaps((48, 64), kpts,
                                            np.ones((2, 1)), 0.0)
