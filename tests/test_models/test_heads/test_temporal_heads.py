import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from posekit.models.heads.regression_heads import (TemporalRegressionHead,
                                                   TrajectoryRegressionHead)
from posekit.structures import PoseDataSample

K = 4


class RootCodec:
    """Test double: adds the stored root to the root-relative joints."""

    def decode(self, coords, target_root=None):
        kpts = coords if target_root is None else coords + target_root
        return kpts, np.ones(kpts.shape[:-1], np.float32)


def _samples(labels, weights, key='lifting_target_weight', meta=None):
    out = []
    for lab, w in zip(labels, weights):
        s = PoseDataSample()
        s.gt_instance_labels = InstanceData(
            lifting_target_label=torch.as_tensor(lab)[None],
            **{key: torch.as_tensor(w)[None]})
        if meta:
            s.set_metainfo(meta)
        out.append(s)
    return out


def _const_head(cls, bias, **kw):
    head = cls(in_channels=8, num_joints=K, **kw)
    head.conv.weight.data.zero_()
    head.conv.bias.data.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return head


def test_forward_shape_and_one_frame_check():
    head = TemporalRegressionHead(in_channels=8, num_joints=K,
                                  loss=dict(type='MPJPELoss'))
    assert head.forward((torch.rand(3, 8, 1), )).shape == (3, K, 3)
    with pytest.raises(ValueError, match='receptive field'):
        head.forward((torch.rand(3, 8, 5), ))


def test_temporal_loss_values():
    # prediction: every joint at (0, 3, 4); labels at the origin
    bias = np.tile([0., 3., 4.], K)
    head = _const_head(TemporalRegressionHead, bias,
                       loss=dict(type='MPJPELoss', use_target_weight=True))
    weights = np.array([[1., 1., 0., 0.], [1., 1., 1., 1.]], np.float32)
    samples = _samples(np.zeros((2, K, 3), np.float32), weights)
    losses = head.loss((torch.rand(2, 8, 1), ), samples)
    # 6 of 8 joints weighted, distance 5 each
    assert losses['loss_pose3d'].item() == pytest.approx(5 * 6 / 8)
    assert losses['mpjpe'].item() == pytest.approx(5.0)


def test_temporal_default_mse_loss():
    bias = np.tile([0., 3., 4.], K)
    head = _const_head(TemporalRegressionHead, bias)
    samples = _samples(np.zeros((1, K, 3), np.float32), np.ones((1, K)))
    # mean of squares of (0, 3, 4) = 25 / 3
    assert head.loss((torch.rand(1, 8, 1), ), samples)[
        'loss_pose3d'].item() == pytest.approx(25 / 3, rel=1e-5)


def test_loss_errors_name_key():
    head = TemporalRegressionHead(in_channels=8, num_joints=K)
    samples = _samples(np.zeros((1, K, 3)), np.ones((1, K)),
                       key='trajectory_weights')
    with pytest.raises(KeyError, match='lifting_target_weight'):
        head.loss((torch.rand(1, 8, 1), ), samples)
    samples = _samples(np.zeros((1, K + 1, 3)), np.ones((1, K + 1)))
    with pytest.raises(ValueError, match='num_joints'):
        head.loss((torch.rand(1, 8, 1), ), samples)


def test_trajectory_loss_keys():
    head = _const_head(TrajectoryRegressionHead, np.zeros(3 * K))
    labels = np.zeros((1, K, 3), np.float32)
    labels[0, :, 2] = 2.
    samples = _samples(labels, np.ones((1, K)), key='trajectory_weights')
    losses = head.loss((torch.rand(1, 8, 1), ), samples)
    assert set(losses) == {'loss_traj', 'mpjpe_traj'}
    assert losses['loss_traj'].item() == pytest.approx(2.0)


def test_predict_adds_target_root():
    bias = np.arange(3 * K, dtype=np.float32)
    head = _const_head(TemporalRegressionHead, bias, decoder=RootCodec())
    samples = _samples(np.zeros((2, K, 3)), np.ones((2, K)))
    samples[0].set_metainfo(dict(target_root=np.array([[10., 0., 0.]])))
    samples[1].set_metainfo(dict(target_root=np.array([[0., 0., 100.]])))
    preds = head.predict((torch.rand(2, 8, 1), ), samples)
    expected = bias.reshape(1, K, 3)
    np.testing.assert_allclose(preds[0].keypoints, expected + [10, 0, 0])
    np.testing.assert_allclose(preds[1].keypoints, expected + [0, 0, 100])
    assert preds[1].keypoint_scores.shape == (1, K)


def test_flip_test_mirrors_back():
    # joints 0/1 and 2/3 are left/right pairs
    flip = [1, 0, 3, 2]
    head = TemporalRegressionHead(in_channels=8, num_joints=K,
                                  decoder=RootCodec())
    head.conv.weight.data.zero_()
    plain = torch.tensor([[1., 0, 0], [-1, 0, 0], [2, 1, 0], [-2, 1, 0]])
    head.conv.bias.data.copy_(plain.flatten())
    samples = _samples(np.zeros((1, K, 3)), np.ones((1, K)),
                       meta=dict(flip_indices=flip))
    feats = [(torch.rand(1, 8, 1), ), (torch.rand(1, 8, 1), )]
    # a symmetric pose is its own mirror image: flip test changes nothing
    preds = head.predict(feats, samples, test_cfg=dict(flip_test=True))
    np.testing.assert_allclose(preds[0].keypoints[0], plain.numpy(),
                               atol=1e-6)
    # an asymmetric one averages with its mirror: x of pair (0, 1) was
    # (3, -1) -> mirror (1, -3) -> mean (2, -2)
    head.conv.bias.data[0] = 3.
    preds = head.predict(feats, samples, test_cfg=dict(flip_test=True))
    assert preds[0].keypoints[0, :2, 0].tolist() == pytest.approx([2., -2.])
    with pytest.raises(KeyError, match='flip_indices'):
        head.predict(feats, _samples(np.zeros((1, K, 3)), np.ones((1, K))),
                     test_cfg=dict(flip_test=True))
