import numpy as np
import pytest

from posekit.codecs.utils import (get_heatmap_maximum, refine_keypoints,
                                  refine_keypoints_dark,
                                  refine_keypoints_dark_udp)
from posekit.codecs.utils import refinement


def test_quarter_shift_toward_larger_neighbour():
    maps = np.zeros((4, 10, 12), np.float32)
    maps[0, 5, 6], maps[0, 5, 7], maps[0, 5, 5] = 1.0, 0.6, 0.2  # right
    maps[0, 4, 6], maps[0, 6, 6] = 0.7, 0.1                       # up
    maps[1, 5, 1], maps[1, 5, 2] = 1.0, 0.9   # x = 1: never moved in x
    maps[2, 0, 6], maps[2, 0, 7] = 1.0, 0.9   # y = 0: no x move either
    maps[3] = -1                              # no positive value
    locs, _ = get_heatmap_maximum(maps)
    out = refine_keypoints(locs[None], maps)
    assert out.dtype == np.float32 and out.shape == (1, 4, 2)
    np.testing.assert_array_equal(
        out[0], [[6.25, 4.75], [1, 5], [6, 0], [-1, -1]])


def _peaks_and_noise(ref, seed):
    rng = np.random.default_rng(seed)
    maps, centres = ref.gaussian_peaks(rng, (48, 64), 12, sigma=2.0,
                                       noise=0.01)
    maps *= rng.uniform(0.2, 1.0, (12, 1, 1)).astype(np.float32)
    # a ramp peaking at the border, and a noisy plateau (ill-conditioned)
    maps[10] = 0
    maps[10, :, :3] = np.linspace(0.2, 0.6, 3)
    maps[11] = 0.05 + rng.normal(0, 1e-3, (64, 48)).astype(np.float32)
    return maps, centres


@pytest.mark.parametrize('force_whole_map', [False, True])
def test_dark_matches_reference(ref, monkeypatch, force_whole_map):
    if force_whole_map:  # exercise the exact (whole-channel blur) path
        monkeypatch.setattr(refinement, '_MAX_AMPLIFICATION_DARK', -1.0)
    for seed in range(3):
        maps, _ = _peaks_and_noise(ref, seed)
        locs, _ = get_heatmap_maximum(maps)
        out = refine_keypoints_dark(locs[None], maps, 11)
        want = ref.dark(locs[None], maps, 11)
        well_posed = np.abs(want - locs).max(-1) < 2
        np.testing.assert_allclose(out[well_posed], want[well_posed],
                                   atol=1e-4)
        # cells too close to the border are not refined
        xy = locs.astype(int)
        border = ~((xy > 1) & (xy < (46, 62))).all(-1)
        np.testing.assert_array_equal(out[0, border], locs[border])


def test_dark_recovers_subpixel_centre(ref):
    rng = np.random.default_rng(4)
    maps, centres = ref.gaussian_peaks(rng, (48, 64), 17, sigma=2.0,
                                       margin=6)
    locs, _ = get_heatmap_maximum(maps)
    out = refine_keypoints_dark(locs[None], maps, 11)
    # a Gaussian stays Gaussian under the blur: its log is a quadratic,
    # which one Newton step solves up to the border effects
    assert np.abs(out[0] - centres).max() < 0.01
    assert np.abs(locs - centres).max() > 0.3  # the arg-max alone is not


@pytest.mark.parametrize('force_whole_map', [False, True])
def test_dark_udp_matches_reference(ref, monkeypatch, force_whole_map):
    if force_whole_map:
        monkeypatch.setattr(refinement, '_MAX_AMPLIFICATION_UDP', -1.0)
    for seed in range(3):
        maps, _ = _peaks_and_noise(ref, seed)
        locs, _ = get_heatmap_maximum(maps)
        out = refine_keypoints_dark_udp(locs[None], maps, 11)
        want = ref.dark_udp(locs[None], maps, 11)
        well_posed = np.abs(want - locs).max(-1) < 2
        assert well_posed.sum() >= 10
        np.testing.assert_allclose(out[well_posed], want[well_posed],
                                   atol=1e-4)


def test_dark_udp_recovers_subpixel_centre(ref):
    rng = np.random.default_rng(5)
    maps, centres = ref.gaussian_peaks(rng, (48, 64), 17, sigma=2.0,
                                       margin=6)
    locs, _ = get_heatmap_maximum(maps)
    out = refine_keypoints_dark_udp(locs[None], maps, 11)
    assert np.abs(out[0] - centres).max() < 0.05


def test_dark_udp_keypoint_at_minus_one_reads_flat_neighbours(ref):
    # The published algorithm reads neighbours by flat index into the
    # edge-extended stack; from (-1, -1) some land in the previous channel.
    rng = np.random.default_rng(6)
    maps, _ = ref.gaussian_peaks(rng, (8, 6), 3, sigma=1.5)
    maps[1] = -0.5
    locs, _ = get_heatmap_maximum(maps)
    assert locs[1].tolist() == [-1, -1]
    out = refine_keypoints_dark_udp(locs[None], maps, 3)

    logs = np.log(np.clip(ref.blur(maps, 3), 1e-3, 50))
    flat = np.pad(logs, ((0, 0), (1, 1), (1, 1)), mode='edge').ravel()
    row, plane = 8 + 2, (8 + 2) * (6 + 2)
    i = 0 + 0 * row + plane * 1  # (-1, -1) + 1 in channel 1
    v = {name: float(flat[i + off]) for name, off in dict(
        c=0, xp=1, yp=row, pp=row + 1, mm=-row - 1, xm=-1, ym=-row).items()}
    eps = np.finfo(np.float32).eps
    g = np.array([v['xp'] - v['xm'], v['yp'] - v['ym']]) / 2
    hess = np.array([
        [v['xp'] - 2 * v['c'] + v['xm'] + eps,
         (v['pp'] - v['xp'] - v['yp'] + 2 * v['c'] - v['xm'] - v['ym']
          + v['mm']) / 2],
        [0, v['yp'] - 2 * v['c'] + v['ym'] + eps]])
    hess[1, 0] = hess[0, 1]
    want = np.array([-1.0, -1.0]) - np.linalg.solve(hess, g)
    np.testing.assert_allclose(out[0, 1], want, atol=1e-5)


def test_shape_errors():
    maps = np.zeros((3, 8, 8), np.float32)
    for func, args in ((refine_keypoints, ()), (refine_keypoints_dark, (3, )),
                       (refine_keypoints_dark_udp, (3, ))):
        with pytest.raises(ValueError, match=r'\(N, 3, 2\)'):
            func(np.zeros((1, 4, 2), np.float32), maps, *args)
        with pytest.raises(ValueError, match=r'\(K, H, W\)'):
            func(np.zeros((1, 3, 2), np.float32), maps[0], *args)
