import numpy as np
import pytest
import torch

from posekit.codecs import BaseKeypointCodec


class _Identity(BaseKeypointCodec):
    """Decodes a (K, 2) array to itself with scores = x."""

    def encode(self, keypoints, keypoints_visible=None):
        return dict(keypoints=keypoints)

    def decode(self, encoded):
        return encoded[None], encoded[None, :, 0]


class _TwoInputs(BaseKeypointCodec):
    """Decodes SimCC-style pairs: keypoints from argmax of x and y."""

    def encode(self, keypoints, keypoints_visible=None):
        return {}

    def decode(self, simcc_x, simcc_y):
        kpts = np.stack([simcc_x.argmax(-1), simcc_y.argmax(-1)], -1)
        return kpts[None].astype(np.float32), simcc_x.max(-1)[None]


def test_abstract_methods_are_required():
    with pytest.raises(TypeError, match='abstract'):
        BaseKeypointCodec()


def test_class_tables_default_empty():
    codec = _Identity()
    assert codec.auxiliary_encode_keys == set()
    assert codec.field_mapping_table == {}
    assert codec.instance_mapping_table == {}
    assert codec.label_mapping_table == {}
    assert not codec.support_batch_decoding


def test_batch_decode_loops_over_arrays_and_tensors():
    batch = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    for given in (batch, torch.from_numpy(batch)):
        keypoints, scores = _Identity().batch_decode(given)
        assert len(keypoints) == 3 and len(scores) == 3
        np.testing.assert_array_equal(keypoints[2], batch[2][None])
        np.testing.assert_array_equal(scores[1], [[4, 6]])


def test_batch_decode_with_several_inputs():
    x = np.zeros((2, 3, 10), np.float32)
    y = np.zeros((2, 3, 8), np.float32)
    x[1, 2, 7] = y[1, 2, 5] = 1
    keypoints, scores = _TwoInputs().batch_decode((x, torch.from_numpy(y)))
    assert keypoints[1][0, 2].tolist() == [7, 5]
    assert scores[1][0, 2] == 1
    with pytest.raises(ValueError, match=r'different batch sizes \[2, 1\]'):
        _TwoInputs().batch_decode((x, y[:1]))


def test_overriding_batch_decode_is_reported():
    class Vectorised(_Identity):
        def batch_decode(self, batch_encoded):
            return [], []
    assert Vectorised().support_batch_decoding
