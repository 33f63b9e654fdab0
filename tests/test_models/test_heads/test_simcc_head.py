import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from torch import nn

from posekit.codecs import SimCCLabel
from posekit.models.heads import SimCCHead
from posekit.registry import MODELS
from posekit.structures import PoseDataSample


@MODELS.register_module(name='_TestSpySimCCLoss', force=True)
class SpySimCCLoss(nn.Module):
    """sum of squared differences of both vectors; records its inputs."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, pred, gt, weights):
        self.calls.append((pred, gt, weights))
        return sum(((p - g).pow(2).sum(-1) * weights).sum()
                   for p, g in zip(pred, gt))


def _bare_head(input_size, featmap, k=2, **kwargs):
    """A head without convs: the feature maps go straight to the MLPs."""
    return SimCCHead(in_channels=k, out_channels=k, input_size=input_size,
                     in_featuremap_size=featmap, deconv_out_channels=None,
                     final_layer=None, **kwargs)


def _set_linear(layer, weight=None, bias=None):
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
        if weight is not None:
            layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)


def test_shapes_and_state_dict_names():
    head = SimCCHead(in_channels=32, out_channels=17, input_size=(48, 64),
                     in_featuremap_size=(6, 8), deconv_out_channels=(16, 16),
                     deconv_kernel_sizes=(4, 4))
    pred_x, pred_y = head((torch.rand(2, 32, 8, 6), ))
    assert tuple(pred_x.shape) == (2, 17, 96)
    assert tuple(pred_y.shape) == (2, 17, 128)
    keys = set(head.state_dict())
    assert {'mlp_head_x.weight', 'mlp_head_x.bias', 'mlp_head_y.weight',
            'deconv_head.deconv_layers.0.weight',
            'deconv_head.final_layer.weight'} <= keys
    # the maps are upsampled 4x to 24 x 32 before flattening
    assert tuple(head.mlp_head_x.weight.shape) == (96, 24 * 32)
    assert type(head.loss_module).__name__ == 'KLDiscretLoss'
    head.init_weights()
    assert head.mlp_head_x.weight.std().item() == pytest.approx(0.01,
                                                                rel=0.3)


def test_without_deconvs_the_final_conv_or_nothing():
    head = SimCCHead(in_channels=8, out_channels=3, input_size=(16, 12),
                     in_featuremap_size=(4, 3), deconv_out_channels=None)
    assert tuple(head.final_layer.weight.shape) == (3, 8, 1, 1)
    pred_x, pred_y = head((torch.rand(1, 8, 3, 4), ))
    assert tuple(pred_x.shape) == (1, 3, 32)
    assert tuple(pred_y.shape) == (1, 3, 24)
    assert _bare_head((16, 12), (4, 3)).final_layer is None


def test_errors():
    with pytest.raises(ValueError, match="deconv_type must be one of"):
        SimCCHead(8, 3, (16, 12), (4, 3), deconv_type='upsample')
    with pytest.raises(ValueError, match='ViPNASHead'):
        SimCCHead(8, 3, (16, 12), (4, 3), deconv_type='vipnas')
    with pytest.raises(ValueError, match='input_size must be'):
        SimCCHead(8, 3, 16, (4, 3))
    head = _bare_head((16, 12), (4, 3))
    with pytest.raises(ValueError, match='in_featuremap_size'):
        head((torch.rand(1, 2, 4, 4), ))
    with pytest.raises(KeyError, match='keypoint_x_labels'):
        head.loss((torch.rand(1, 2, 3, 4), ), [PoseDataSample(
            gt_instance_labels=InstanceData(keypoint_weights=torch.ones(
                1, 2)))])


def test_predict_decodes_to_input_pixels():
    head = _bare_head((16, 12), (4, 2), decoder=dict(
        type='SimCCLabel', input_size=(16, 12), sigma=6.0,
        simcc_split_ratio=2.0))
    bias_x = torch.zeros(32)
    bias_x[20] = 0.9
    bias_y = torch.zeros(24)
    bias_y[7] = 0.8
    _set_linear(head.mlp_head_x, bias=bias_x)
    _set_linear(head.mlp_head_y, bias=bias_y)
    preds = head.predict((torch.rand(2, 2, 2, 4), ), [PoseDataSample()] * 2)
    assert len(preds) == 2
    # bins / split ratio: (20 / 2, 7 / 2); score: the smaller maximum
    np.testing.assert_allclose(preds[0].keypoints, [[[10., 3.5]] * 2])
    np.testing.assert_allclose(preds[0].keypoint_scores, [[0.8, 0.8]],
                               rtol=1e-6)


def _row_head(**kwargs):
    """x logits = the feature row itself (identity MLP over 32 columns),
    y logits = a fixed bump at bin 8."""
    head = _bare_head((16, 12), (32, 1), decoder=dict(
        type='SimCCLabel', input_size=(16, 12), sigma=6.0), **kwargs)
    bias_y = torch.zeros(24)
    bias_y[8] = 1.
    _set_linear(head.mlp_head_x, weight=torch.eye(32))
    _set_linear(head.mlp_head_y, bias=bias_y)
    return head


def test_flip_test_on_an_equivariant_model():
    head = _row_head()
    feats = torch.zeros(1, 2, 1, 32)
    feats[0, 0, 0, 6] = 1.   # left keypoint at bin 6
    feats[0, 1, 0, 20] = 1.  # right keypoint at bin 20
    # what a mirror-equivariant backbone sees on the flipped input: the
    # left channel holds the mirrored right keypoint and vice versa
    flipped = feats[:, [1, 0]].flip(-1)
    s = PoseDataSample(metainfo=dict(flip_indices=[1, 0]))
    (plain, ) = head.predict((feats, ), [s])
    (tta, ) = head.predict([(feats, ), (flipped, )], [s],
                           dict(flip_test=True))
    np.testing.assert_allclose(plain.keypoints, [[[3., 4.], [10., 4.]]])
    np.testing.assert_allclose(tta.keypoints, plain.keypoints)
    # the averaged vectors keep the full peak only if both agree
    np.testing.assert_allclose(tta.keypoint_scores, [[1., 1.]])
    with pytest.raises(ValueError, match='list of two'):
        head.predict((feats, ), [s], dict(flip_test=True))


def test_output_heatmaps_normalised_vectors():
    head = _bare_head((16, 12), (4, 2), decoder=dict(
        type='SimCCLabel', input_size=(16, 12), sigma=(4.0, 2.0)))
    bias_x = torch.zeros(32)
    bias_x[10] = 5.
    bias_y = torch.zeros(24)
    bias_y[3] = 10.
    _set_linear(head.mlp_head_x, bias=bias_x)
    _set_linear(head.mlp_head_y, bias=bias_y)
    (pred, ), (field, ) = head.predict((torch.rand(1, 2, 2, 4), ),
                                       [PoseDataSample()],
                                       dict(output_heatmaps=True))
    assert tuple(field.heatmaps.shape) == (2, 24, 32)
    assert pred.keypoint_x_labels.shape == (1, 2, 32)
    assert pred.keypoint_y_labels.shape == (1, 2, 24)
    # x: 5 / (4 sqrt(2 pi)) < 1 kept; y: 10 / (2 sqrt(2 pi)) > 1 -> 1
    peak_x = 5 / (4 * np.sqrt(2 * np.pi))
    assert pred.keypoint_x_labels[0, 0, 10] == pytest.approx(peak_x,
                                                             rel=1e-5)
    assert pred.keypoint_y_labels[0, 1, 3] == pytest.approx(1.0)
    assert field.heatmaps[0, 3, 10].item() == pytest.approx(peak_x,
                                                            rel=1e-5)
    assert field.heatmaps.sum().item() == pytest.approx(2 * peak_x,
                                                        rel=1e-5)


def _one_hot(k, size, bins):
    out = torch.zeros(1, k, size)
    out[0, torch.arange(k), torch.tensor(bins)] = 1.
    return out


def test_loss_values_and_accuracy_in_mmpose_order():
    # input 40 x 12 at split ratio 2: 80 x bins, 24 y bins; feature row 0
    # gives the x logits, the first 24 columns of row 1 the y logits
    head = _bare_head((40, 12), (80, 2), k=4,
                      loss=dict(type='_TestSpySimCCLoss'))
    _set_linear(head.mlp_head_x,
                weight=torch.cat([torch.eye(80), torch.zeros(80, 80)], 1))
    _set_linear(head.mlp_head_y, weight=torch.cat(
        [torch.zeros(24, 80), torch.eye(24), torch.zeros(24, 56)], 1))
    feats = torch.stack([
        _one_hot(4, 80, [10, 10, 12, 30]),
        torch.nn.functional.pad(_one_hot(4, 24, [5, 8, 5, 5]), (0, 56))], 2)
    s = PoseDataSample()
    s.gt_instance_labels = InstanceData(
        keypoint_x_labels=_one_hot(4, 80, [10, 10, 10, 70]),
        keypoint_y_labels=_one_hot(4, 24, [5, 5, 5, 20]),
        keypoint_weights=torch.tensor([[1., 1., 1., 0.]]))
    losses = head.loss((feats, ), [s])
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    (px, py), (gx, gy), w = head.loss_module.calls[-1]
    assert tuple(px.shape) == (1, 4, 80) and tuple(w.shape) == (1, 4)
    # acc: kp0 exact; kp1 1.5 px off in y, normalised by the input width
    # 40 (MMPose's (h, w) order) -> 0.0375 < 0.05; kp2 1 px off in x over
    # the height 12 -> 0.083; kp3 has weight 0
    assert losses['acc_pose'].item() == pytest.approx(2 / 3)
    # spy loss: kp1's y and kp2's x one-hots differ in two bins each
    assert losses['loss_kpt'].item() == pytest.approx(4.)
    assert losses['loss_kpt'].requires_grad


def test_estimator_end_to_end():
    torch.manual_seed(0)
    k = 3
    codec = dict(type='SimCCLabel', input_size=(64, 64), sigma=6.0,
                 simcc_split_ratio=2.0)
    model = MODELS.build(dict(
        type='TopdownPoseEstimator',
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8),
        head=dict(type='SimCCHead', in_channels=64, out_channels=k,
                  input_size=(64, 64), in_featuremap_size=(2, 2),
                  deconv_out_channels=(8, 8), deconv_kernel_sizes=(4, 4),
                  loss=dict(type='KLDiscretLoss', use_target_weight=True),
                  decoder=codec),
        test_cfg=dict(flip_test=True)))
    model.init_weights()
    encoder = SimCCLabel(input_size=(64, 64), sigma=6.0)
    rng = np.random.default_rng(0)
    inputs = torch.from_numpy(rng.random((2, 3, 64, 64), dtype=np.float32))
    samples = []
    for _ in range(2):
        enc = encoder.encode(rng.uniform(5, 59, (1, k, 2)))
        s = PoseDataSample(metainfo=dict(
            input_size=(64, 64), input_center=np.array([32., 32.]),
            input_scale=np.array([64., 64.]), flip_indices=[0, 2, 1]))
        s.gt_instance_labels = InstanceData(
            **{key: torch.from_numpy(enc[key]) for key in
               ('keypoint_x_labels', 'keypoint_y_labels',
                'keypoint_weights')})
        samples.append(s)
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    assert torch.isfinite(losses['loss_kpt']) and losses['loss_kpt'] > 0
    losses['loss_kpt'].backward()
    model.eval()
    with torch.no_grad():
        out = model(inputs, samples, mode='predict')
    pred = out[0].pred_instances
    assert pred.keypoints.shape == (1, k, 2)
    # identity input->image mapping: keypoints stay inside the input
    assert np.all((pred.keypoints >= 0) & (pred.keypoints < 64))
    # decoded SimCC bins are multiples of 1 / split ratio
    np.testing.assert_allclose(pred.keypoints * 2,
                               np.round(pred.keypoints * 2), atol=1e-5)
