"""Fuzzing the heatmap codecs (MSRAHeatmap plain and unbiased, UDPHeatmap
gaussian and combined, IntegralRegressionLabel): extreme keypoints encode
to finite targets in their ranges, and any finite model output decodes to
finite keypoints."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from posekit.codecs import (IntegralRegressionLabel, MSRAHeatmap,
                            UDPHeatmap)


import _posekit_fuzz_inputs as fz  # noqa: E402  (conftest.py)

# (input (w, h), heatmap (W, H)): strides 1, 4, uneven, and tiny maps.
SIZES = [((48, 64), (12, 16)), ((64, 48), (16, 12)), ((48, 64), (48, 64)),
         ((30, 20), (7, 5)), ((8, 6), (2, 2)), ((48, 64), (3, 2))]
SIGMAS = [0.5, 1., 1.5, 2., 3., 0.25]


@st.composite
def heatmap_codecs(draw, sigmas=tuple(SIGMAS), sizes=tuple(SIZES),
                   radius_factors=(0.0546875, 0.3, 1e-3)):
    (input_size, heatmap_size) = draw(st.sampled_from(sizes))
    sigma = draw(st.sampled_from(sigmas))
    kind = draw(st.sampled_from(['msra', 'dark', 'udp', 'udp_combined',
                                 'integral']))
    if kind in ('msra', 'dark'):
        codec = MSRAHeatmap(input_size, heatmap_size, sigma,
                            unbiased=kind == 'dark')
    elif kind == 'udp':
        codec = UDPHeatmap(input_size, heatmap_size, sigma=sigma)
    elif kind == 'udp_combined':
        codec = UDPHeatmap(input_size, heatmap_size, 'combined',
                           radius_factor=draw(st.sampled_from(
                               radius_factors)))
    else:
        codec = IntegralRegressionLabel(
            input_size, heatmap_size, sigma,
            unbiased=draw(st.booleans()),
            normalize=draw(st.booleans()))
    return kind, codec


@st.composite
def encode_cases(draw):
    kind, codec = draw(heatmap_codecs())
    num = draw(st.integers(0, 3))
    k = draw(st.integers(1, 5))
    kpts = draw(fz.keypoints(num, k))
    vis = draw(st.one_of(st.none(), fz.visibility(num, k)))
    return kind, codec, kpts, vis


def _cells(codec, kind, kpts):
    """Keypoints in heatmap cells (float64), as each codec maps them."""
    if kind.startswith('udp'):
        stride = (np.array(codec.input_size) - 1) / (
            np.array(codec.heatmap_size) - 1)
    else:
        stride = np.array(codec.input_size) / codec.heatmap_size
    return kpts.astype(np.float64) / stride


@fz.fuzz_settings(160)
@given(encode_cases())
def test_heatmap_encode_targets_in_range(case):
    kind, codec, kpts, vis = case
    num, k = kpts.shape[:2]
    out = codec.encode(kpts, vis)
    w, h = codec.heatmap_size
    maps, weights = out['heatmaps'], out['keypoint_weights']
    channels = 3 * k if kind == 'udp_combined' else k
    assert maps.shape == (channels, h, w) and maps.dtype == np.float32
    assert weights.shape == (num, k) and weights.dtype == np.float32
    fz.assert_finite('heatmaps', maps)
    visible = np.ones((num, k)) if vis is None else vis
    if kind == 'integral':
        # RegressionLabel's weights: 1 for visible (> 0.5) keypoints inside
        # the input, else 0.
        inside = ((kpts >= 0) & (kpts <= np.array(codec.input_size) - 1)
                  ).all(-1)
        np.testing.assert_array_equal(weights, inside & (visible > 0.5))
    else:
        # The visibility, or 0 for a visible keypoint off the map.
        assert ((weights == visible) |
                ((weights == 0) & (visible >= 0.5))).all()

    if kind == 'udp_combined':
        labels = maps[0::3]
        assert set(np.unique(labels)) <= {0., 1.}
        return
    assert maps.min() >= 0 and maps.max() <= 1
    cells = _cells(codec, kind, kpts)
    # A keypoint far enough off the map cannot be drawn and gets weight 0.
    # Low side: MSRA (like MMPose) rounds the centre with int(), which
    # truncates toward zero, so a negative centre can move up to one more
    # cell towards the map: weight 0 is certain only from 3 sigma + 3.5
    # cells off (at -3.25 cells with sigma 0.5 nothing is drawn, weight 1).
    far = ((cells < -3 * codec_sigma(codec) - 3.5) |
           (cells > np.array([w, h]) + 3 * codec_sigma(codec) + 0.5)).any(-1)
    assert (weights[far & (visible >= 0.5)] == 0).all()
    if kind == 'integral':
        if codec.normalize:
            sums = maps.reshape(k, -1).sum(1)
            drawn = maps.reshape(k, -1).max(1) > 0
            np.testing.assert_allclose(sums[drawn], 1, rtol=1e-4)
        labels = out['keypoint_labels']
        assert labels.shape == (num, k, 2)
        fz.assert_finite('keypoint_labels', labels)
        return
    if kind == 'msra' and (3 * codec.sigma).is_integer():
        # The peak cell int(p + 0.5) of a visible keypoint on the map is 1
        # (with a fractional radius the reference's truncation toward zero
        # moves windows near the left/top border by a cell).
        mu = np.trunc(cells + 0.5)
        on_map = ((mu >= 0) & (mu < (w, h))).all(-1) & (visible >= 0.5)
        expected = on_map.any(0)
        assert ((maps.reshape(k, -1).max(1) == 1) == expected).all()


def codec_sigma(codec):
    return codec.heatmap_codec.sigma if hasattr(codec, 'heatmap_codec') \
        else codec.sigma


@st.composite
def decode_cases(draw):
    kind, codec = draw(heatmap_codecs())
    if kind == 'integral':
        kind, codec = 'msra', codec.heatmap_codec
    k = draw(st.integers(1, 4))
    w, h = codec.heatmap_size
    channels = 3 * k if kind == 'udp_combined' else k
    shape = (channels, h, w)
    maps = draw(st.one_of(
        st.just(np.zeros(shape, np.float32)),
        st.floats(-5., 5., width=32).map(
            lambda v: np.full(shape, v, np.float32)),
        hnp.arrays(np.float32, shape, elements=st.floats(
            -1e3, 1e3, width=32)),
        hnp.arrays(np.float32, shape, elements=st.sampled_from(
            [0., 1., -1., 1e-12, 60., 1e3]))))
    return kind, codec, maps


@fz.fuzz_settings(100)
@given(decode_cases())
def test_heatmap_decode_any_output_is_finite(case):
    kind, codec, maps = case
    keypoints, scores = codec.decode(maps)
    k = maps.shape[0] // 3 if kind == 'udp_combined' else maps.shape[0]
    assert keypoints.shape == (1, k, 2) and scores.shape == (1, k)
    fz.assert_finite('decoded keypoints', keypoints)
    fz.assert_finite('decoded scores', scores)
    if kind in ('msra', 'dark', 'udp'):
        np.testing.assert_array_equal(scores[0],
                                      maps.reshape(k, -1).max(1))


@st.composite
def round_trip_cases(draw):
    # Integer radii 3 sigma (with a fractional one the reference's window
    # truncation shifts peaks near the border by a cell) and maps of at
    # least 12 cells a side (a Newton step on a 2 x 2 map is meaningless);
    # label disks that cover at least one cell.
    kind, codec = draw(heatmap_codecs(sigmas=(1., 2.), sizes=SIZES[:3],
                                      radius_factors=(0.0546875, 0.3)))
    w, h = codec.input_size
    k = draw(st.integers(1, 4))
    # Well inside the input, so the whole Gaussian is on the map.
    frac = draw(hnp.arrays(np.float32, (1, k, 2), elements=st.floats(
        0.25, 0.75, width=32)))
    return kind, codec, frac * np.array([w, h], np.float32)


@fz.fuzz_settings(60)
@given(round_trip_cases())
def test_heatmap_round_trip_within_a_cell(case):
    kind, codec, kpts = case
    if kind == 'integral':
        decoded, _ = codec.decode(codec.encode(kpts)['keypoint_labels'])
        np.testing.assert_allclose(decoded, kpts, atol=1e-3)
        return
    decoded, scores = codec.decode(codec.encode(kpts)['heatmaps'])
    stride = np.array(codec.input_size) / codec.heatmap_size
    if kind.startswith('udp'):
        # UDP decodes to p * input_size / (input_size - 1) (see UDPHeatmap).
        kpts = kpts * np.array(codec.input_size) / (
            np.array(codec.input_size) - 1)
    # Overlapping Gaussians of different keypoints live on separate
    # channels, so each keypoint is found within about one cell.
    assert (np.abs(decoded - kpts) <= 1.01 * stride + 1e-3).all(), \
        (decoded, kpts)
