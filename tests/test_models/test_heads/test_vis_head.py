import math

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from torch import nn

from posekit.models.heads import RegressionHead, VisPredictHead
from posekit.registry import MODELS
from posekit.structures import PoseDataSample

POSE_CFG = dict(type='RegressionHead', in_channels=4, num_joints=2,
                decoder=dict(type='RegressionLabel', input_size=(10, 10)))


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


def _vis_head(**kwargs):
    """vis logits = the first two feature channels (after pooling)."""
    head = VisPredictHead(pose_cfg=POSE_CFG, **kwargs)
    linear = head.vis_head[2]
    with torch.no_grad():
        linear.weight.copy_(torch.eye(2, 4))
        linear.bias.zero_()
    return head


def _sample(weights, vis_weights=None):
    s = PoseDataSample(metainfo=dict(flip_indices=[1, 0],
                                     input_size=(10, 10)))
    labels = dict(keypoint_labels=torch.full((1, 2, 2), 0.5),
                  keypoint_weights=torch.tensor([weights]))
    if vis_weights is not None:
        labels['keypoints_visible_weights'] = torch.tensor([vis_weights])
    s.gt_instance_labels = InstanceData(**labels)
    return s


FEATS = (torch.tensor([[2., -1., 0., 0.]]), )


def test_structure_and_state_dict_names():
    head = VisPredictHead(pose_cfg=POSE_CFG)
    assert isinstance(head.pose_head, RegressionHead)
    keys = set(head.state_dict())
    assert {'vis_head.2.weight', 'vis_head.2.bias', 'pose_head.fc.weight',
            'pose_head.fc.bias'} == keys
    assert tuple(head.vis_head[2].weight.shape) == (2, 4)
    # the default loss (BCELoss on probabilities) puts a sigmoid last
    assert head.use_sigmoid and isinstance(head.vis_head[-1], nn.Sigmoid)
    plain = VisPredictHead(pose_cfg=POSE_CFG, loss=dict(type='BCELoss'))
    assert not plain.use_sigmoid and len(plain.vis_head) == 3
    pose_out, vis = head((torch.rand(3, 4), ))
    assert tuple(pose_out.shape) == (3, 2, 2) and tuple(vis.shape) == (3, 2)


def test_config_errors():
    with pytest.raises(KeyError, match='in_channels'):
        VisPredictHead(pose_cfg=dict(type='RegressionHead', num_joints=2))
    with pytest.raises(ValueError, match='num_joints or out_channels'):
        VisPredictHead(pose_cfg=dict(type='RegressionHead', in_channels=4))
    with pytest.raises(ValueError, match='use_sigmoid=False contradicts'):
        VisPredictHead(pose_cfg=POSE_CFG, use_sigmoid=False)
    # an explicit value that agrees with the loss is fine
    assert VisPredictHead(pose_cfg=POSE_CFG, use_sigmoid=True).use_sigmoid


def test_predict_adds_visibility_once_through_the_sigmoid():
    for kwargs in (dict(), dict(loss=dict(type='BCELoss'))):
        head = _vis_head(**kwargs)
        (pred, ) = head.predict(FEATS, [_sample([1., 1.])])
        np.testing.assert_allclose(pred.keypoints_visible,
                                   [[_sigmoid(2.), _sigmoid(-1.)]],
                                   rtol=1e-6)
        assert pred.keypoints.shape == (1, 2, 2)
        np.testing.assert_allclose(pred.keypoint_scores, [[1., 1.]])


def test_flip_test_swaps_visibility():
    head = _vis_head()
    flipped = (torch.tensor([[0.5, 3., 0., 0.]]), )
    (pred, ) = head.predict([FEATS, flipped], [_sample([1., 1.])],
                            dict(flip_test=True))
    # the flipped probabilities swap keypoints before averaging
    np.testing.assert_allclose(
        pred.keypoints_visible,
        [[(_sigmoid(2.) + _sigmoid(3.)) / 2,
          (_sigmoid(-1.) + _sigmoid(0.5)) / 2]], rtol=1e-6)


def test_loss_values():
    head = _vis_head()
    losses = head.loss(FEATS, [_sample([1., 0.])])
    assert set(losses) == {'loss_vis', 'acc_vis', 'loss_kpt', 'acc_pose'}
    # BCE: -log(sigmoid(2)) = log(1 + e^-2); -log(1 - sigmoid(-1))
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-1))) / 2
    assert losses['loss_vis'].item() == pytest.approx(expected, rel=1e-5)
    assert losses['acc_vis'].item() == pytest.approx(1.0)
    losses = head.loss(FEATS, [_sample([0., 0.])])
    assert losses['acc_vis'].item() == pytest.approx(0.5)


def test_loss_with_visibility_weights():
    head = _vis_head(loss=dict(type='BCELoss', use_target_weight=True,
                               use_sigmoid=True))
    losses = head.loss(FEATS, [_sample([0., 0.], vis_weights=[0., 1.])])
    # only keypoint 1 counts: its loss over the 2 elements, and it is right
    assert losses['loss_vis'].item() == pytest.approx(
        math.log(1 + math.exp(-1)) / 2, rel=1e-5)
    assert losses['acc_vis'].item() == pytest.approx(1.0, abs=1e-5)
    # without packed weights every keypoint weighs 1
    losses = head.loss(FEATS, [_sample([0., 0.])])
    assert losses['acc_vis'].item() == pytest.approx(0.5, abs=1e-5)


@pytest.mark.parametrize('pose', ['RegressionHead', 'HeatmapHead'])
def test_estimator_end_to_end(pose):
    torch.manual_seed(0)
    k = 3
    if pose == 'RegressionHead':
        pose_cfg = dict(type='RegressionHead', in_channels=64, num_joints=k,
                        decoder=dict(type='RegressionLabel',
                                     input_size=(64, 64)))
    else:
        pose_cfg = dict(type='HeatmapHead', in_channels=64, out_channels=k,
                        deconv_out_channels=(8, 8), deconv_kernel_sizes=(4, 4),
                        decoder=dict(type='MSRAHeatmap', input_size=(64, 64),
                                     heatmap_size=(8, 8), sigma=1.))
    model = MODELS.build(dict(
        type='TopdownPoseEstimator',
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8),
        neck=dict(type='GlobalAveragePooling')
        if pose == 'RegressionHead' else None,
        head=dict(type='VisPredictHead', pose_cfg=pose_cfg),
        test_cfg=dict(flip_test=True)))
    model.init_weights()
    rng = np.random.default_rng(0)
    inputs = torch.from_numpy(rng.random((2, 3, 64, 64), dtype=np.float32))
    samples = []
    for _ in range(2):
        s = PoseDataSample(metainfo=dict(
            input_size=(64, 64), input_center=np.array([32., 32.]),
            input_scale=np.array([64., 64.]), flip_indices=[0, 2, 1]))
        s.gt_instance_labels = InstanceData(
            keypoint_labels=torch.rand(1, k, 2),
            keypoint_weights=torch.tensor([[1., 0., 1.]]))
        s.gt_fields = PixelData(heatmaps=torch.rand(k, 8, 8))
        samples.append(s)
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_vis', 'acc_vis', 'loss_kpt', 'acc_pose'}
    sum(v for key, v in losses.items() if key.startswith('loss')).backward()
    assert model.head.vis_head[2].weight.grad is not None
    model.eval()
    with torch.no_grad():
        out = model(inputs, samples, mode='predict')
        feats = model.extract_feat(inputs)
        flipped = model.extract_feat(inputs.flip(-1))
        vis = (model.head.vis_forward(feats) + model.head.vis_forward(
            flipped)[:, [0, 2, 1]]) / 2
    pred = out[1].pred_instances
    assert pred.keypoints.shape == (1, k, 2)
    # visibility comes from the vis head, not from the keypoint scores
    np.testing.assert_allclose(pred.keypoints_visible, vis[1:2].numpy(),
                               rtol=1e-5)
