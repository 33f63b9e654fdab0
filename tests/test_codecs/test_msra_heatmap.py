import numpy as np
import pytest
import torch

from posekit.codecs import MSRAHeatmap
from posekit.registry import KEYPOINT_CODECS

INPUT, HEATMAP = (192, 256), (48, 64)  # (w, h); 4 input pixels per cell


def _codec(**kwargs):
    return MSRAHeatmap(INPUT, HEATMAP, sigma=2.0, **kwargs)


def _random_keypoints(rng, num=1, margin=0.0):
    lo, hi = margin, np.array(INPUT) - 1 - margin
    return rng.uniform(lo, hi, (num, 17, 2)).astype(np.float32)


def test_built_from_config_with_mmpose_arguments():
    codec = KEYPOINT_CODECS.build(dict(
        type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64),
        sigma=2, unbiased=True, blur_kernel_size=17))
    assert isinstance(codec, MSRAHeatmap) and codec.unbiased
    assert codec.blur_kernel_size == 17
    np.testing.assert_array_equal(codec.scale_factor, [4, 4])
    assert codec.field_mapping_table == dict(heatmaps='heatmaps')
    assert codec.label_mapping_table == dict(
        keypoint_weights='keypoint_weights')
    assert codec.instance_mapping_table == {}


@pytest.mark.parametrize('unbiased', [False, True])
def test_encode_shapes_and_dtypes(unbiased):
    rng = np.random.default_rng(0)
    encoded = _codec(unbiased=unbiased).encode(_random_keypoints(rng, 2))
    assert set(encoded) == {'heatmaps', 'keypoint_weights'}
    assert encoded['heatmaps'].shape == (17, 64, 48)
    assert encoded['heatmaps'].dtype == np.float32
    assert encoded['heatmaps'].flags['C_CONTIGUOUS']
    assert encoded['keypoint_weights'].shape == (2, 17)
    assert encoded['keypoint_weights'].dtype == np.float32


def test_keypoint_on_known_pixel_peaks_on_its_cell():
    # input (41, 82) -> heatmap (10.25, 20.5) -> nearest cell (10, 21)
    kpts = np.array([[[41.0, 82.0]]], np.float32)
    maps = _codec().encode(kpts)['heatmaps']
    assert maps.max() == 1.0
    assert np.unravel_index(maps[0].argmax(), maps[0].shape) == (21, 10)
    dark = _codec(unbiased=True).encode(kpts)['heatmaps']
    # DARK keeps the sub-pixel centre: value at (10, 21) below 1
    assert dark[0, 21, 10] == pytest.approx(
        np.exp(-(0.25**2 + 0.5**2) / 8), rel=1e-6)


def test_weights_invisible_and_far_outside():
    kpts = np.array([[[40, 40], [60, 60], [-200, 50], [100, 900]]],
                    np.float32)
    vis = np.array([[1, 0, 1, 1]], np.float32)
    for unbiased in (False, True):
        enc = _codec(unbiased=unbiased).encode(kpts, vis)
        assert enc['keypoint_weights'].tolist() == [[1, 0, 0, 0]]
        assert enc['heatmaps'][0].max() == pytest.approx(1.0, abs=0.05)
        assert not enc['heatmaps'][1:].any()


def test_multiple_instances_take_the_maximum():
    kpts = np.array([[[40, 80]], [[48, 80]]], np.float32)  # cells 10, 12
    maps = _codec().encode(kpts)['heatmaps']
    assert maps[0, 20, 10] == 1.0 and maps[0, 20, 12] == 1.0
    assert maps[0, 20, 11] == pytest.approx(np.exp(-1 / 8), rel=1e-6)


def test_round_trip_plain_is_exact_rounding():
    # The target peaks on the nearest cell and decoding finds that cell
    # (equal neighbours: no quarter shift), so decode == round(p / 4) * 4:
    # an error of at most half a cell, 2 input pixels per axis. (Keypoints
    # within half a cell of the far edge round to a cell off the map.)
    rng = np.random.default_rng(1)
    codec = _codec()
    worst = 0.0
    for _ in range(50):
        kpts = _random_keypoints(rng, margin=2)
        decoded, scores = codec.decode(codec.encode(kpts)['heatmaps'])
        assert decoded.shape == (1, 17, 2) and scores.shape == (1, 17)
        np.testing.assert_array_equal(decoded,
                                      np.floor(kpts / 4 + 0.5) * 4)
        np.testing.assert_array_equal(scores, 1.0)
        worst = max(worst, np.abs(decoded - kpts).max())
    assert 1.9 < worst <= 2.0


def test_round_trip_dark_within_half_pixel():
    # The brief's bound, 0.5 input pixels, for keypoints 2 sigma (4 cells)
    # or more inside the map; closer to the border the zero-padded blur
    # loses mass and cells at 0, 1, W-2, W-1 are not refined at all.
    rng = np.random.default_rng(2)
    codec = _codec(unbiased=True)
    worst = 0.0
    for _ in range(50):
        kpts = _random_keypoints(rng, margin=16)
        decoded, scores = codec.decode(codec.encode(kpts)['heatmaps'])
        worst = max(worst, np.abs(decoded - kpts).max())
        assert scores.min() > 0.9
    assert worst < 0.5
    # With the whole 3-sigma disc inside, the log of the blurred Gaussian
    # is a quadratic and one Newton step is almost exact.
    for _ in range(20):
        kpts = _random_keypoints(rng, margin=24)
        decoded, _ = codec.decode(codec.encode(kpts)['heatmaps'])
        assert np.abs(decoded - kpts).max() < 0.01


def test_decode_hand_made_heatmap():
    maps = np.zeros((3, 64, 48), np.float32)
    maps[0, 20, 10], maps[0, 20, 11], maps[0, 20, 9] = 0.9, 0.5, 0.2
    maps[1, 30, 40] = 0.4
    maps[2] = -0.1
    keypoints, scores = _codec().decode(maps)
    np.testing.assert_array_equal(
        keypoints[0], [[(10 + 0.25) * 4, 20 * 4], [40 * 4, 30 * 4],
                       [-4, -4]])
    np.testing.assert_allclose(scores[0], [0.9, 0.4, -0.1])
    # tensors are accepted too, bfloat16 (mixed precision) included
    from_tensor = _codec().decode(torch.from_numpy(maps))[0]
    np.testing.assert_array_equal(from_tensor, keypoints)
    half = _codec().decode(torch.from_numpy(maps).bfloat16())[0]
    np.testing.assert_array_equal(half, keypoints)


def test_batch_decode_loops_over_samples():
    rng = np.random.default_rng(3)
    codec = _codec(unbiased=True)
    batch = np.stack([codec.encode(_random_keypoints(rng, margin=16))[
        'heatmaps'] for _ in range(3)])
    keypoints, scores = codec.batch_decode(torch.from_numpy(batch))
    assert len(keypoints) == len(scores) == 3
    for sample, kpts in zip(batch, keypoints):
        np.testing.assert_array_equal(kpts, codec.decode(sample)[0])


def test_argument_errors():
    with pytest.raises(ValueError, match=r'input_size must be \(w, h\)'):
        MSRAHeatmap((192, ), HEATMAP, 2.0)
    with pytest.raises(ValueError, match='sigma must be a positive number'):
        MSRAHeatmap(INPUT, HEATMAP, 0)
    with pytest.raises(ValueError, match='blur_kernel_size must be a '
                       'positive odd integer.*got 10'):
        MSRAHeatmap(INPUT, HEATMAP, 2.0, blur_kernel_size=10)


def test_input_shape_errors():
    codec = _codec()
    with pytest.raises(ValueError, match=r'keypoints must have shape '
                       r'\(N, K, 2\), got \(17, 2\)'):
        codec.encode(np.zeros((17, 2), np.float32))
    with pytest.raises(ValueError, match=r'keypoints_visible must have '
                       r'shape \(N, K\) = \(1, 17\).*got \(17,\)'):
        codec.encode(np.zeros((1, 17, 2), np.float32), np.ones(17))
    with pytest.raises(ValueError, match=r'\(C, 64, 48\).*got \(17, 48, 64\)'):
        codec.decode(np.zeros((17, 48, 64), np.float32))
    with pytest.raises(ValueError, match='use batch_decode'):
        codec.decode(np.zeros((2, 17, 64, 48), np.float32))
