"""The torch decoders of the export graphs against posekit's numpy codecs
(the reference implementation) on batches of synthetic outputs."""
import numpy as np
import pytest
import torch

from posekit.codecs import (IntegralRegressionLabel, MSRAHeatmap,
                            RegressionLabel, SimCCLabel, UDPHeatmap)
from posekit.export.coord_decoders import RegressionDecoder, SimCCDecoder
from posekit.export.heatmap_decoders import (MSRAHeatmapDecoder,
                                             UDPHeatmapDecoder)
from posekit.export.ops import gaussian_taps

INPUT, HEATMAP = (48, 64), (12, 16)


def gaussian_maps(rng, n=6, k=5, size=HEATMAP, sigma=2.0):
    """Peaks of height ~1 at random sub-cell positions (some near the
    border), as a trained model gives: float32 (n, k, h, w)."""
    w, h = size
    yy, xx = np.mgrid[:h, :w]
    cx = rng.uniform(0, w - 1, (n, k, 1, 1))
    cy = rng.uniform(0, h - 1, (n, k, 1, 1))
    amp = rng.uniform(0.5, 1.0, (n, k, 1, 1))
    maps = amp * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    return maps.astype(np.float32)


def reference(codec, outputs):
    """The codec's per-sample decode, stacked: (N, K, 2), (N, K)."""
    kpts, scores = codec.batch_decode(outputs)
    return np.concatenate(kpts), np.concatenate(scores)


def decode(decoder, *outputs):
    with torch.no_grad():
        kpts, scores = decoder(*(torch.from_numpy(o) for o in outputs))
    return kpts.numpy(), scores.numpy()


def test_gaussian_taps_are_opencvs_and_reject_even_sizes():
    taps = gaussian_taps(11).numpy()
    sigma = 0.3 * ((11 - 1) / 2 - 1) + 0.8  # OpenCV's rule, 2.0
    x = np.arange(11) - 5
    expected = np.exp(-x**2 / (2 * sigma**2))
    np.testing.assert_allclose(taps, expected / expected.sum(), rtol=1e-6)
    with pytest.raises(ValueError, match='positive odd integer, got 4'):
        gaussian_taps(4)


@pytest.mark.parametrize('unbiased', [False, True])
def test_msra_heatmap_matches_codec(unbiased):
    rng = np.random.default_rng(0)
    maps = gaussian_maps(rng)
    # ties and edge cases: a flat channel (first cell wins), a channel
    # with no positive value (location -1), a peak on the border
    maps[0, 0] = 0.25
    maps[0, 1] = -0.5
    maps[1, 2] = 0
    maps[1, 2, 0, 5] = 1
    codec = MSRAHeatmap(INPUT, HEATMAP, sigma=2, unbiased=unbiased)
    want_k, want_s = reference(codec, maps)
    got_k, got_s = decode(MSRAHeatmapDecoder(codec), maps)
    assert got_k.shape == (6, 5, 2) and got_s.shape == (6, 5)
    np.testing.assert_array_equal(got_s, want_s)
    # plain decoding is exact; DARK agrees to float32 rounding
    np.testing.assert_allclose(got_k, want_k, rtol=0,
                               atol=1e-4 if unbiased else 1e-6)
    assert got_k[0, 1].tolist() == [-4.0, -4.0]      # -1 cell * stride 4
    assert got_k[0, 0].tolist() == [0.0, 0.0]        # first of all ties


def test_udp_gaussian_matches_codec_including_missing_keypoints():
    rng = np.random.default_rng(1)
    maps = gaussian_maps(rng)
    maps[2, 3] = -1.0      # arg-max -1: DARK-UDP reads the previous channel
    maps[3, 0] = -1.0      # ... or, on channel 0, the end of the stack
    codec = UDPHeatmap(INPUT, HEATMAP, sigma=2)
    want_k, want_s = reference(codec, maps)
    got_k, got_s = decode(UDPHeatmapDecoder(codec), maps)
    np.testing.assert_array_equal(got_s, want_s)
    np.testing.assert_allclose(got_k, want_k, rtol=0, atol=1e-3)
    # a refined position, not the bare arg-max cell times the scale
    assert np.abs(got_k[0] % 1).max() > 0.01


def test_udp_combined_matches_codec():
    rng = np.random.default_rng(2)
    labels = gaussian_maps(rng)
    labels[1, 4] = -1.0    # no positive label: offsets read at -1 wrap
    offsets = rng.uniform(-1, 1, (2, ) + labels.shape).astype(np.float32)
    maps = np.stack([labels, offsets[0], offsets[1]], 2).reshape(6, 15,
                                                                 16, 12)
    codec = UDPHeatmap(INPUT, HEATMAP, heatmap_type='combined',
                       blur_kernel_size=3)
    want_k, want_s = reference(codec, maps)
    got_k, got_s = decode(UDPHeatmapDecoder(codec), maps)
    np.testing.assert_allclose(got_s, want_s, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got_k, want_k, rtol=0, atol=1e-4)


def test_udp_combined_rejects_a_blur_wider_than_the_map():
    codec = UDPHeatmap(INPUT, HEATMAP, heatmap_type='combined',
                       blur_kernel_size=13)   # 27 taps on a 12-wide map
    with pytest.raises(ValueError, match=r'27 taps .* larger than 13 cells'
                       r'.*model.head.decoder.blur_kernel_size'):
        UDPHeatmapDecoder(codec)


def smooth_vectors(rng, n, k, width, sigma):
    centers = rng.uniform(0, width - 1, (n, k, 1))
    bins = np.arange(width)
    vecs = np.exp(-(bins - centers) ** 2 / (2 * sigma**2))
    return (rng.uniform(0.5, 1.0, (n, k, 1)) * vecs).astype(np.float32)


@pytest.mark.parametrize('use_dark', [False, True])
def test_simcc_matches_codec(use_dark):
    rng = np.random.default_rng(3)
    codec = SimCCLabel(INPUT, sigma=(4.9, 5.66), use_dark=use_dark)
    x = smooth_vectors(rng, 6, 5, 96, 4.9)
    y = smooth_vectors(rng, 6, 5, 128, 5.66)
    x[0, 2] = -0.5          # no positive score: both coordinates -1
    want_k, want_s = reference(codec, (x, y))
    got_k, got_s = decode(SimCCDecoder(codec), x, y)
    np.testing.assert_array_equal(got_s, want_s)
    np.testing.assert_allclose(got_k, want_k, rtol=0,
                               atol=1e-3 if use_dark else 0)
    if not use_dark:
        assert got_k[0, 2].tolist() == [-0.5, -0.5]   # -1 bin / ratio 2


@pytest.mark.parametrize('codec', [
    RegressionLabel(INPUT),
    IntegralRegressionLabel(INPUT, HEATMAP, sigma=2)])
@pytest.mark.parametrize('dims', [2, 4])
def test_regression_matches_codec(codec, dims):
    coords = np.random.default_rng(4).uniform(0, 1, (6, 5, dims)).astype(
        np.float32)
    want_k, want_s = reference(codec, coords[:, None])
    got_k, got_s = decode(RegressionDecoder(codec), coords)
    np.testing.assert_allclose(got_k, want_k, rtol=1e-6)
    np.testing.assert_allclose(got_s, want_s, rtol=1e-6)
