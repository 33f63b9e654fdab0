import numpy as np
import pytest

from posekit.codecs import IntegralRegressionLabel
from posekit.registry import KEYPOINT_CODECS

INPUT, HEATMAP = (192, 256), (48, 64)


def _codec(**kwargs):
    return IntegralRegressionLabel(INPUT, HEATMAP, sigma=2.0, **kwargs)


def test_built_from_config_with_mmpose_arguments():
    codec = KEYPOINT_CODECS.build(dict(
        type='IntegralRegressionLabel', input_size=(256, 256),
        heatmap_size=(64, 64), sigma=2.0, normalize=True, unbiased=True,
        blur_kernel_size=11))
    assert codec.input_size == (256, 256) and codec.heatmap_size == (64, 64)
    assert codec.heatmap_codec.unbiased
    assert codec.field_mapping_table == dict(heatmaps='heatmaps')
    assert codec.label_mapping_table == dict(
        keypoint_labels='keypoint_labels', keypoint_weights='keypoint_weights')


def test_encode_normalised_heatmaps_and_labels():
    kpts = np.array([[[40, 80], [100, 120], [-50, 10], [60, 60]]],
                    np.float32)
    vis = np.array([[1, 1, 1, 0]], np.float32)
    enc = _codec().encode(kpts, vis)
    assert set(enc) == {'heatmaps', 'keypoint_labels', 'keypoint_weights'}
    maps = enc['heatmaps']
    assert maps.shape == (4, 64, 48) and maps.dtype == np.float32
    # drawn channels sum to 1; empty ones stay 0 (not NaN)
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), [1, 1, 0, 0],
                               rtol=1e-5)
    assert np.isfinite(maps).all()
    # keypoint 0: input (40, 80) -> cell (10, 20)
    assert np.unravel_index(maps[0].argmax(), (64, 48)) == (20, 10)
    np.testing.assert_allclose(enc['keypoint_labels'][0, :2],
                               [[40 / 192, 80 / 256], [100 / 192, 120 / 256]])
    # weights from the regression rule: outside the input or invisible -> 0
    assert enc['keypoint_weights'].tolist() == [[1, 1, 0, 0]]


def test_unnormalised_heatmaps_peak_at_one():
    enc = _codec(normalize=False).encode(np.array([[[40, 80]]], np.float32))
    assert enc['heatmaps'].max() == 1.0


def test_decode_like_regression():
    codec = _codec()
    kpts, scores = codec.decode(np.array([[[0.5, 0.25, 0.1, 0.3]]],
                                         np.float32))
    np.testing.assert_allclose(kpts, [[[96, 64]]])
    np.testing.assert_allclose(scores, [[0.8]], rtol=1e-6)
    batch_kpts, _ = codec.batch_decode(np.full((2, 3, 2), 0.5, np.float32))
    assert len(batch_kpts) == 2
    np.testing.assert_allclose(batch_kpts[1], np.full((1, 3, 2), [96, 128]))


def test_bad_arguments_name_the_codec():
    with pytest.raises(ValueError, match='IntegralRegressionLabel: .*sigma'):
        IntegralRegressionLabel(INPUT, HEATMAP, sigma=0)
    with pytest.raises(ValueError, match='heatmap_size must be'):
        IntegralRegressionLabel(INPUT, (48, ), sigma=2)
