import numpy as np
import pytest
import torch

from posekit.codecs import RegressionLabel
from posekit.registry import KEYPOINT_CODECS

INPUT = (192, 256)


def test_built_from_config():
    codec = KEYPOINT_CODECS.build(dict(type='RegressionLabel',
                                       input_size=(192, 256)))
    assert isinstance(codec, RegressionLabel)
    assert codec.input_size == (192, 256)
    assert codec.label_mapping_table == dict(
        keypoint_labels='keypoint_labels', keypoint_weights='keypoint_weights')
    assert codec.field_mapping_table == {}


def test_encode_values_and_weights():
    kpts = np.array([[[96, 128], [0, 0], [191, 255], [191.5, 10],
                      [-0.1, 5], [20, 256], [30, 40], [30, 40]]], np.float32)
    vis = np.array([[1, 1, 1, 1, 1, 1, 0, 0.6]], np.float32)
    enc = RegressionLabel(INPUT).encode(kpts, vis)
    labels = enc['keypoint_labels']
    assert labels.dtype == np.float32 and labels.shape == (1, 8, 2)
    np.testing.assert_allclose(labels[0, 0], [0.5, 0.5])
    np.testing.assert_allclose(labels[0, 2], [191 / 192, 255 / 256])
    np.testing.assert_allclose(labels[0, 4], [-0.1 / 192, 5 / 256],
                               rtol=1e-6)
    # inside means 0 <= x <= w - 1 and 0 <= y <= h - 1; visibility > 0.5
    assert enc['keypoint_weights'].tolist() == [[1, 1, 1, 0, 0, 0, 0, 1]]
    assert enc['keypoint_weights'].dtype == np.float32


def test_round_trip_is_exact():
    rng = np.random.default_rng(0)
    kpts = rng.uniform([0, 0], [191, 255], (3, 17, 2)).astype(np.float32)
    codec = RegressionLabel(INPUT)
    decoded, scores = codec.decode(codec.encode(kpts)['keypoint_labels'])
    assert decoded.shape == (3, 17, 2) and decoded.dtype == np.float32
    np.testing.assert_allclose(decoded, kpts, rtol=1e-6, atol=1e-5)
    assert scores.shape == (3, 17) and (scores == 1).all()


def test_decode_with_sigma_scores():
    encoded = np.array([[[0.25, 0.5, 0.2, 0.4], [1.0, 0.0, 0.0, 1.0]]],
                       np.float32)
    kpts, scores = RegressionLabel(INPUT).decode(encoded)
    np.testing.assert_allclose(kpts, [[[48, 128], [192, 0]]])
    # 1 - mean(sigma): 1 - 0.3, 1 - 0.5
    np.testing.assert_allclose(scores, [[0.7, 0.5]], rtol=1e-6)


def test_decode_2d_tensor_gives_one_instance():
    kpts, scores = RegressionLabel(INPUT).decode(torch.tensor([[0.5, 0.25]]))
    assert kpts.shape == (1, 1, 2) and scores.shape == (1, 1)
    np.testing.assert_allclose(kpts, [[[96, 64]]])


def test_batch_decode():
    codec = RegressionLabel(INPUT)
    assert codec.support_batch_decoding
    batch = torch.tensor([[[0.5, 0.5]], [[0.25, 1.0]]])    # (B, K, 2)
    kpts, scores = codec.batch_decode(batch)
    assert len(kpts) == 2 and kpts[1].shape == (1, 1, 2)
    np.testing.assert_allclose(kpts[1], [[[48, 256]]])
    assert scores[0].shape == (1, 1)
    multi = torch.rand(2, 3, 4, 4)                         # (B, N, K, 4)
    kpts, scores = codec.batch_decode(multi)
    assert kpts[0].shape == (3, 4, 2) and scores[1].shape == (3, 4)
    np.testing.assert_allclose(kpts[1], multi[1, ..., :2].numpy() * INPUT,
                               rtol=1e-6)


def test_errors():
    codec = RegressionLabel(INPUT)
    with pytest.raises(ValueError, match=r'D = 2, or D = 4.*\(1, 17, 3\)'):
        codec.decode(np.zeros((1, 17, 3)))
    with pytest.raises(ValueError, match=r'expected \(B, K, D\) or'):
        codec.batch_decode(np.zeros((17, 2)))
    with pytest.raises(ValueError, match=r'keypoints_visible must have '):
        codec.encode(np.zeros((1, 17, 2)), np.ones((1, 16)))
    with pytest.raises(ValueError, match='input_size must be'):
        RegressionLabel((192, ))
