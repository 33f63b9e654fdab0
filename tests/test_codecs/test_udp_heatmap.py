import cv2
import numpy as np
import pytest

from posekit.codecs import UDPHeatmap
from posekit.registry import KEYPOINT_CODECS

INPUT, HEATMAP = (192, 256), (48, 64)
# Decoded keypoints are p_in * input_size / (input_size - 1) (see the
# class docstring): what the estimator's x / input_size * scale expects.
DECODE_SCALE = np.array([192 / 191, 256 / 255])


def _random_keypoints(rng, num=1, margin=0.0):
    lo, hi = margin, np.array(INPUT) - 1 - margin
    return rng.uniform(lo, hi, (num, 17, 2)).astype(np.float32)


def test_built_from_config_with_mmpose_arguments():
    codec = KEYPOINT_CODECS.build(dict(
        type='UDPHeatmap', input_size=(192, 256), heatmap_size=(48, 64),
        heatmap_type='combined', radius_factor=0.05, blur_kernel_size=9))
    assert (codec.heatmap_type, codec.radius_factor) == ('combined', 0.05)
    assert codec.sigma == 2.0  # default
    np.testing.assert_allclose(codec.scale_factor, [191 / 47, 255 / 63],
                               rtol=1e-6)
    assert codec.field_mapping_table == dict(heatmaps='heatmaps')


def test_first_and_last_pixel_centres_land_on_first_and_last_cells():
    kpts = np.array([[[0, 0], [191, 255]]], np.float32)
    maps = UDPHeatmap(INPUT, HEATMAP).encode(kpts)['heatmaps']
    assert maps.shape == (2, 64, 48) and maps.dtype == np.float32
    assert maps[0, 0, 0] == 1.0 and maps[1, 63, 47] == 1.0
    # sub-pixel centre: input x = 191 / 47 * 10.5 -> cell 10.5
    half = np.array([[[191 / 47 * 10.5, 255 / 63 * 20]]], np.float32)
    maps = UDPHeatmap(INPUT, HEATMAP).encode(half)['heatmaps']
    assert maps[0, 20, 10] == pytest.approx(np.exp(-0.25 / 8), rel=1e-5)
    assert maps[0, 20, 11] == pytest.approx(np.exp(-0.25 / 8), rel=1e-5)


def test_weights_invisible_and_far_outside():
    kpts = np.array([[[40, 40], [60, 60], [-200, 50], [100, 900]]],
                    np.float32)
    vis = np.array([[1, 0, 1, 1]], np.float32)
    enc = UDPHeatmap(INPUT, HEATMAP).encode(kpts, vis)
    assert enc['keypoint_weights'].tolist() == [[1, 0, 0, 0]]
    assert enc['keypoint_weights'].dtype == np.float32
    assert not enc['heatmaps'][1:].any()


def test_multiple_instances_take_the_maximum():
    kpts = np.array([[[10 * 191 / 47, 80]], [[12 * 191 / 47, 80]]],
                    np.float32)
    maps = UDPHeatmap(INPUT, HEATMAP).encode(kpts)['heatmaps']
    row = int(np.argmax(maps[0].max(1)))
    assert maps[0, row, 10] == pytest.approx(maps[0, row, 12], rel=1e-5)
    assert maps[0, row, 11] < maps[0, row, 10]  # a dip: not a sum


def test_round_trip_within_half_pixel():
    # 0.5 px for keypoints 2 sigma (4 cells) inside; with the 3-sigma disc
    # inside one DARK-UDP step is almost exact.
    rng = np.random.default_rng(0)
    codec = UDPHeatmap(INPUT, HEATMAP)
    worst = 0.0
    for margin, bound in ((16, 0.5), (24, 0.01)):
        for _ in range(40):
            kpts = _random_keypoints(rng, margin=margin)
            decoded, scores = codec.decode(codec.encode(kpts)['heatmaps'])
            assert decoded.shape == (1, 17, 2)
            # the score is the nearest cell's value, at most half a cell
            # off per axis: >= exp(-(0.5^2 + 0.5^2) / (2 * 2^2))
            assert decoded.dtype == np.float32
            assert scores.min() >= np.exp(-0.5 / 8) - 1e-6
            worst = np.abs(decoded - kpts * DECODE_SCALE).max()
            assert worst < bound


def test_decode_hand_made_heatmap(ref):
    rng = np.random.default_rng(1)
    maps, centres = ref.gaussian_peaks(rng, HEATMAP, 5, sigma=2.0, margin=6)
    maps *= 0.8
    keypoints, scores = UDPHeatmap(INPUT, HEATMAP).decode(maps)
    np.testing.assert_allclose(scores[0], 0.8, rtol=0.05)
    np.testing.assert_allclose(keypoints[0], centres / (47, 63) * INPUT,
                               atol=0.2)


def test_combined_round_trip_is_exact():
    # The offset maps hold (p - cell) / r everywhere, so whichever cell the
    # blurred label map peaks on, cell + offset * r = p.
    rng = np.random.default_rng(2)
    codec = UDPHeatmap(INPUT, HEATMAP, heatmap_type='combined')
    kpts = _random_keypoints(rng, margin=8)
    vis = np.ones((1, 17), np.float32)
    vis[0, 3] = 0
    enc = codec.encode(kpts, vis)
    maps = enc['heatmaps']
    assert maps.shape == (51, 64, 48) and maps.dtype == np.float32
    assert enc['keypoint_weights'].tolist() == vis.tolist()
    radius = 0.0546875 * 64
    cell = np.floor(kpts[0, 0] / codec.scale_factor + 0.5).astype(int)
    assert maps[0, cell[1], cell[0]] == 1.0          # label disc
    assert maps[1, 0, 0] == pytest.approx(
        kpts[0, 0, 0] / codec.scale_factor[0] / radius, rel=1e-5)
    assert not maps[9:12].any()                       # invisible keypoint
    decoded, scores = codec.decode(maps)
    ok = vis[0] > 0
    np.testing.assert_allclose(decoded[0, ok], (kpts * DECODE_SCALE)[0, ok],
                               atol=1e-3)
    # the score is the label map blurred with 2 * 11 + 1, at the peak
    labels = [cv2.GaussianBlur(m, (23, 23), 0).max() for m in maps[0::3]]
    np.testing.assert_allclose(scores[0, ok], np.array(labels)[ok],
                               rtol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="heatmap_type must be one of "
                       r"\('gaussian', 'combined'\), got 'offset'"):
        UDPHeatmap(INPUT, HEATMAP, heatmap_type='offset')
    with pytest.raises(ValueError, match=r'heatmap_size must be \(w, h\), '
                       'two integers >= 2'):
        UDPHeatmap(INPUT, (1, 64))
    with pytest.raises(ValueError, match='radius_factor must be a positive'):
        UDPHeatmap(INPUT, HEATMAP, radius_factor=-1)
    codec = UDPHeatmap(INPUT, HEATMAP, heatmap_type='combined')
    with pytest.raises(ValueError, match='3 maps per keypoint, got 4'):
        codec.decode(np.zeros((4, 64, 48), np.float32))
    with pytest.raises(ValueError, match=r'\(N, K, 2\), got \(1, 17, 3\)'):
        codec.encode(np.zeros((1, 17, 3), np.float32))
