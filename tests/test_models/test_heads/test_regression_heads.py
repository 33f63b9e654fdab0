from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData, PixelData
from torch import nn

from posekit.models.heads import (DSNTHead, IntegralRegressionHead,
                                  RegressionHead, RLEHead)
from posekit.models.heads.regression_heads import dsnt_head
from posekit.registry import MODELS
from posekit.structures import PoseDataSample


@MODELS.register_module(name='_TestSpyL1Loss', force=True)
class SpyL1Loss(nn.Module):
    """mean(|output - target| * weights); records what it was given."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, output, target, target_weights=None):
        self.calls.append((output, target, target_weights))
        return ((output - target).abs() * target_weights).mean()


@MODELS.register_module(name='_TestSpyRLELoss', force=True)
class SpyRLELoss(nn.Module):
    """Has one parameter (like RLE's flow prior); records its arguments."""

    def __init__(self):
        super().__init__()
        self.flow_w = nn.Parameter(torch.ones(3))
        self.calls = []

    def forward(self, pred, sigma, target, target_weight=None):
        self.calls.append((pred, sigma, target, target_weight))
        return (pred - target).abs().mean() + sigma.mean()


@MODELS.register_module(name='_TestSpyPairLoss', force=True)
class SpyPairLoss(nn.Module):
    """Two values per call, like MultipleLossWrapper with two losses:
    [mean |coords - labels|, 100 * mean (heatmaps - gt)^2]."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, outputs, targets, weights):
        self.calls.append((outputs, targets, weights))
        return [(outputs[0] - targets[0]).abs().mean(),
                100 * (outputs[1] - targets[1]).pow(2).mean()]


def _sample(labels=None, weights=None, heatmaps=None, **meta):
    s = PoseDataSample(metainfo=meta)
    fields = {}
    if labels is not None:
        fields['keypoint_labels'] = torch.as_tensor(labels, dtype=torch.float)
    if weights is not None:
        fields['keypoint_weights'] = torch.as_tensor(weights,
                                                     dtype=torch.float)
    s.gt_instance_labels = InstanceData(**fields)
    if heatmaps is not None:
        s.gt_fields = PixelData(heatmaps=heatmaps)
    return s


def _constant_fc(head, values):
    """Make ``head.fc`` output ``values`` (K, D) whatever its input."""
    with torch.no_grad():
        head.fc.weight.zero_()
        head.fc.bias.copy_(torch.tensor(values).flatten())


# ---------------------------------------------------------------- DeepPose

def test_regression_head_shapes_and_state_dict():
    head = RegressionHead(in_channels=32, num_joints=17)
    assert set(head.state_dict()) == {'fc.weight', 'fc.bias'}
    assert tuple(head.fc.weight.shape) == (34, 32)
    assert type(head.loss_module).__name__ == 'SmoothL1Loss'
    out = head((torch.rand(3, 32), ))
    assert tuple(out.shape) == (3, 17, 2)
    # pooled maps (B, C, 1, 1) work too
    assert tuple(head((torch.rand(3, 32, 1, 1), )).shape) == (3, 17, 2)
    head.init_weights()
    assert head.fc.weight.std().item() == pytest.approx(0.01, rel=0.3)
    assert torch.all(head.fc.bias == 0)


def test_regression_head_errors():
    head = RegressionHead(in_channels=32, num_joints=2)
    with pytest.raises(ValueError, match='GlobalAveragePooling'):
        head((torch.rand(1, 32, 4, 4), ))
    with pytest.raises(TypeError, match='in_channels must be an int'):
        RegressionHead(in_channels=[16, 32], num_joints=2)
    with pytest.raises(KeyError, match='keypoint_labels'):
        head.loss((torch.rand(1, 32), ), [_sample(weights=[[1., 1.]])])
    with pytest.raises(ValueError, match='decoder'):
        head.predict((torch.rand(1, 32), ), [PoseDataSample()])


def test_regression_head_loss_values_and_accuracy():
    head = RegressionHead(in_channels=4, num_joints=2,
                          loss=dict(type='_TestSpyL1Loss'))
    _constant_fc(head, [[0.5, 0.5], [0.1, 0.2]])
    samples = [_sample([[[0.5, 0.5], [0.9, 0.2]]], [[1., 1.]]),
               _sample([[[0.52, 0.5], [0.1, 0.2]]], [[1., 0.]])]
    losses = head.loss((torch.rand(2, 4), ), samples)
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    # |diffs| * weights: sample 0: 0, 0, 0.8, 0; sample 1: 0.02, 0, (0, 0)
    assert losses['loss_kpt'].item() == pytest.approx(0.82 / 8)
    _, _, weights = head.loss_module.calls[-1]
    assert tuple(weights.shape) == (2, 2, 1)
    # keypoint 0: both within 0.05 -> 1; keypoint 1: one valid, 0.8 off -> 0
    assert losses['acc_pose'].item() == pytest.approx(0.5)
    assert losses['loss_kpt'].requires_grad


def test_regression_head_predict_in_input_pixels():
    head = RegressionHead(in_channels=4, num_joints=2,
                          decoder=dict(type='RegressionLabel',
                                       input_size=(64, 48)))
    _constant_fc(head, [[0.25, 0.5], [0.5, 0.75]])
    preds = head.predict((torch.rand(2, 4), ), [PoseDataSample()] * 2)
    assert len(preds) == 2
    np.testing.assert_allclose(preds[1].keypoints, [[[16, 24], [32, 36]]])
    np.testing.assert_allclose(preds[1].keypoint_scores, [[1., 1.]])


def test_regression_head_flip_test_numbers():
    head = RegressionHead(in_channels=4, num_joints=2,
                          decoder=dict(type='RegressionLabel',
                                       input_size=(64, 48)))
    _constant_fc(head, [[0.25, 0.5], [0.5, 0.75]])
    s = PoseDataSample(metainfo=dict(flip_indices=[1, 0],
                                     input_size=(64, 48)))
    feats = [(torch.rand(1, 4), ), (torch.rand(1, 4), )]
    (pred, ) = head.predict(feats, [s], dict(flip_test=True))
    # flipped back: kp0 <- kp1: (1 - 0.5 - 1/64, 0.75) = (0.484375, 0.75);
    # kp1 <- kp0: (1 - 0.25 - 1/64, 0.5) = (0.734375, 0.5); then averaged
    # with the plain values and scaled by (64, 48)
    np.testing.assert_allclose(pred.keypoints,
                               [[[23.5, 30.], [39.5, 30.]]], atol=1e-5)
    (pred, ) = head.predict(feats, [s], dict(flip_test=True,
                                             shift_coords=False))
    np.testing.assert_allclose(pred.keypoints,
                               [[[24., 30.], [40., 30.]]], atol=1e-5)
    with pytest.raises(KeyError, match='flip_indices'):
        head.predict(feats, [PoseDataSample(metainfo=dict(
            input_size=(64, 48)))], dict(flip_test=True))


def _pixel_regression_model(width, **test_cfg):
    """Estimator on (B, 1, 1, width) one-hot rows: both keypoints regress
    the column of the hot pixel (x_norm = sum_i row[i] * i / width)."""
    model = MODELS.build(dict(
        type='TopdownPoseEstimator',
        backbone=dict(type='_TestIdentityBackbone'),
        head=dict(type='RegressionHead', in_channels=width, num_joints=2,
                  decoder=dict(type='RegressionLabel',
                               input_size=(width, 1))),
        test_cfg=test_cfg))
    with torch.no_grad():
        model.head.fc.weight.zero_()
        model.head.fc.bias.zero_()
        model.head.fc.weight[0::2] = torch.arange(width) / width
    return model


def test_estimator_flip_test_is_exact_on_a_mirror_symmetric_model():
    x = torch.zeros(1, 1, 1, 8)
    x[..., 2] = 1.
    meta = dict(input_size=(8, 1), input_center=np.array([4., 0.5]),
                input_scale=np.array([8., 1.]), flip_indices=[1, 0])
    (out, ) = _pixel_regression_model(8, flip_test=True)(
        x, [PoseDataSample(metainfo=meta)], mode='predict')
    # the flipped input has the hot pixel at 8 - 1 - 2 = 5; mapped back
    # with the one-pixel shift it agrees with the plain prediction, x = 2
    np.testing.assert_allclose(out.pred_instances.keypoints[..., 0],
                               [[2., 2.]], atol=1e-5)
    (out, ) = _pixel_regression_model(8, flip_test=True, shift_coords=False)(
        x, [PoseDataSample(metainfo=meta)], mode='predict')
    # without the shift the flipped estimate is 3, the mean 2.5
    np.testing.assert_allclose(out.pred_instances.keypoints[..., 0],
                               [[2.5, 2.5]], atol=1e-5)


# ---------------------------------------------------------------- RLE

def test_rle_head_state_dict_and_outputs():
    head = RLEHead(in_channels=16, num_joints=17,
                   loss=dict(type='_TestSpyRLELoss'))
    assert tuple(head.fc.weight.shape) == (68, 16)
    assert {'fc.weight', 'fc.bias', 'loss_module.flow_w'} == \
        set(head.state_dict())
    assert tuple(head((torch.rand(2, 16), )).shape) == (2, 17, 4)


def test_rle_head_default_loss_is_rle():
    head = RLEHead(in_channels=16, num_joints=3)
    assert type(head.loss_module).__name__ == 'RLELoss'


def test_rle_head_loss_gets_raw_sigma_logits():
    head = RLEHead(in_channels=4, num_joints=2,
                   loss=dict(type='_TestSpyRLELoss'))
    _constant_fc(head, [[0.5, 0.5, -1., 2.], [0.1, 0.2, 0., 0.]])
    samples = [_sample([[[0.5, 0.5], [0.1, 0.3]]], [[1., 1.]])]
    losses = head.loss((torch.rand(1, 4), ), samples)
    pred, sigma, target, weight = head.loss_module.calls[-1]
    torch.testing.assert_close(sigma, torch.tensor([[[-1., 2.], [0., 0.]]]))
    assert tuple(pred.shape) == (1, 2, 2) and tuple(weight.shape) == (1, 2, 1)
    # |pred - target| mean = 0.1 / 4; sigma mean = 0.25
    assert losses['loss_kpt'].item() == pytest.approx(0.025 + 0.25)
    # keypoint 1 is 0.1 off: half the keypoints are correct
    assert losses['acc_pose'].item() == pytest.approx(0.5)


def test_rle_head_predict_scores_from_sigmoid_sigma():
    head = RLEHead(in_channels=4, num_joints=2,
                   loss=dict(type='_TestSpyRLELoss'),
                   decoder=dict(type='RegressionLabel', input_size=(10, 20)))
    _constant_fc(head, [[0.5, 0.5, 0., 0.], [0.2, 0.1, np.log(3),
                                              np.log(3)]])
    (pred, ) = head.predict((torch.rand(1, 4), ), [PoseDataSample()])
    np.testing.assert_allclose(pred.keypoints, [[[5, 10], [2, 2]]],
                               atol=1e-5)
    # sigmoid(0) = 0.5 -> score 0.5; sigmoid(ln 3) = 0.75 -> score 0.25
    np.testing.assert_allclose(pred.keypoint_scores, [[0.5, 0.25]],
                               atol=1e-6)
    s = PoseDataSample(metainfo=dict(flip_indices=[1, 0],
                                     input_size=(10, 20)))
    (pred, ) = head.predict([(torch.rand(1, 4), ), (torch.rand(1, 4), )],
                            [s], dict(flip_test=True))
    # the sigmas swap with the keypoints: both average to 0.625
    np.testing.assert_allclose(pred.keypoint_scores, [[0.375, 0.375]],
                               atol=1e-6)


def test_rle_head_loads_pre_1_0_loss_keys():
    head = RLEHead(in_channels=4, num_joints=2,
                   loss=dict(type='_TestSpyRLELoss'))
    old = OrderedDict([('fc.weight', torch.full((8, 4), 0.5)),
                       ('fc.bias', torch.zeros(8)),
                       ('loss.flow_w', torch.tensor([1., 2., 3.]))])
    head.load_state_dict(old)
    assert head.loss_module.flow_w.tolist() == [1., 2., 3.]


# ---------------------------------------------------------------- integral

def _peaked(b, k, h, w, peaks, value=50.):
    x = torch.zeros(b, k, h, w)
    for i, (px, py) in enumerate(peaks):
        x[:, i, py, px] = value
    return x


def test_integral_head_shapes_and_state_dict():
    head = IntegralRegressionHead(in_channels=8, in_featuremap_size=(3, 4),
                                  num_joints=5, deconv_out_channels=(6, 6),
                                  deconv_kernel_sizes=(4, 4))
    coords, heatmaps = head((torch.rand(2, 8, 4, 3), ))
    assert tuple(coords.shape) == (2, 5, 2)
    assert tuple(heatmaps.shape) == (2, 5, 16, 12)
    torch.testing.assert_close(heatmaps.sum((2, 3)), torch.ones(2, 5))
    keys = set(head.state_dict())
    assert {'simplebaseline_head.deconv_layers.0.weight',
            'simplebaseline_head.final_layer.weight', 'linspace_x',
            'linspace_y'} <= keys
    assert head.linspace_x.flatten()[1].item() == pytest.approx(1 / 12)
    assert not any(n.startswith('linspace') for n, _ in
                   head.named_parameters())


def test_integral_head_soft_argmax_values():
    head = IntegralRegressionHead(in_channels=2, in_featuremap_size=(6, 4),
                                  num_joints=2, deconv_out_channels=None,
                                  final_layer=None)
    feats = _peaked(1, 2, 4, 6, [(3, 2), (0, 1)])
    coords, _ = head((feats, ))
    # a near one-hot softmax: the expectation is the peak cell / size
    torch.testing.assert_close(coords, torch.tensor([[[3 / 6, 2 / 4],
                                                      [0., 1 / 4]]]),
                               atol=1e-6, rtol=0)
    coords, _ = head((torch.zeros(1, 2, 4, 6), ))
    # uniform maps: mean of i / 6 over i < 6 is 5 / 12, of j / 4 is 3 / 8
    torch.testing.assert_close(coords[0, 0], torch.tensor([5 / 12, 3 / 8]))


def test_integral_head_debias_values():
    head = IntegralRegressionHead(in_channels=1, in_featuremap_size=(6, 4),
                                  num_joints=1, debias=True,
                                  deconv_out_channels=None, final_layer=None)
    coords, _ = head((torch.zeros(1, 1, 4, 6), ))
    # C = 24 cells of exp(0): C / (C - 1) * (E - 1 / (2C)) gives
    # (5/12 - 1/48) * 24/23 = 19/46 and (3/8 - 1/48) * 24/23 = 17/46
    torch.testing.assert_close(coords[0, 0], torch.tensor([19 / 46,
                                                           17 / 46]))
    # large logits must not overflow into NaN
    coords, _ = head((_peaked(1, 1, 4, 6, [(5, 3)], value=500.), ))
    torch.testing.assert_close(coords[0, 0], torch.tensor([5 / 6, 3 / 4]))


def test_integral_head_predict_flip_and_heatmaps():
    head = IntegralRegressionHead(
        in_channels=2, in_featuremap_size=(6, 4), num_joints=2,
        deconv_out_channels=None, final_layer=None,
        decoder=dict(type='RegressionLabel', input_size=(24, 16)))
    feats = _peaked(1, 2, 4, 6, [(3, 2), (1, 1)])
    (pred, ), (field, ) = head.predict((feats, ), [PoseDataSample()],
                                       dict(output_heatmaps=True))
    np.testing.assert_allclose(pred.keypoints, [[[12, 8], [4, 4]]],
                               atol=1e-4)
    assert tuple(field.heatmaps.shape) == (2, 4, 6)
    s = PoseDataSample(metainfo=dict(flip_indices=[1, 0],
                                     input_size=(24, 16)))
    (pred, ) = head.predict([(feats, ), (feats.flip(-1), )], [s],
                            dict(flip_test=True))
    # flipped kp1 peak at cell 6 - 1 - 1 = 4 -> x 4/6; back for kp0:
    # 1 - 4/6 - 1/24 = 7/24; mean with 3/6: 19/48 -> 9.5 input pixels
    # y of kp0 from kp1: 1/4; mean with 2/4: 3/8 -> 6
    np.testing.assert_allclose(pred.keypoints[0, 0], [9.5, 6.], atol=1e-4)


def test_integral_head_errors_and_old_keys():
    with pytest.raises(ValueError, match='in_featuremap_size'):
        IntegralRegressionHead(in_channels=2, in_featuremap_size=8,
                               num_joints=2)
    head = IntegralRegressionHead(in_channels=2, in_featuremap_size=(6, 4),
                                  num_joints=2, deconv_out_channels=None)
    with pytest.raises(ValueError, match='in_featuremap_size'):
        head((torch.rand(1, 2, 5, 5), ))
    head = IntegralRegressionHead(in_channels=2, in_featuremap_size=(2, 2),
                                  num_joints=3, deconv_out_channels=(4, ),
                                  deconv_kernel_sizes=(4, ))
    sd = head.state_dict()
    old = OrderedDict()
    for k, v in sd.items():
        k = k.replace('simplebaseline_head.deconv_layers.', 'conv_layers.')
        k = k.replace('simplebaseline_head.final_layer.', 'final_layer.')
        old[k] = torch.full_like(v, 0.5) if k == 'final_layer.bias' else v
    head.load_state_dict(old)
    assert head.simplebaseline_head.final_layer.bias.tolist() == [0.5] * 3


def test_integral_head_loss():
    head = IntegralRegressionHead(in_channels=2, in_featuremap_size=(6, 4),
                                  num_joints=2, deconv_out_channels=None,
                                  final_layer=None,
                                  loss=dict(type='_TestSpyL1Loss'))
    feats = _peaked(1, 2, 4, 6, [(3, 2), (0, 0)])
    losses = head.loss((feats, ), [_sample([[[0.5, 0.5], [0.5, 0.5]]],
                                           [[1., 1.]])])
    # kp1 is (0.5, 0.5) off: |diff| sum 1.0 over 4 values
    assert losses['loss_kpt'].item() == pytest.approx(0.25, abs=1e-5)
    assert losses['acc_pose'].item() == pytest.approx(0.5)
    # weights go to the loss as (B, K)
    assert tuple(head.loss_module.calls[-1][2].shape) == (1, 2)


# ---------------------------------------------------------------- DSNT

def _dsnt_head(**kwargs):
    return DSNTHead(in_channels=2, in_featuremap_size=(6, 4), num_joints=2,
                    deconv_out_channels=None, final_layer=None,
                    loss=dict(type='_TestSpyPairLoss'), **kwargs)


def _dsnt_samples():
    gt = torch.zeros(2, 4, 6)
    gt[0, 2, 3] = gt[1, 0, 0] = 1.
    return [_sample([[[0.5, 0.5], [0.5, 0.5]]], [[1., 1.]], heatmaps=gt)]


def test_dsnt_head_sums_coordinate_and_heatmap_losses():
    head = _dsnt_head()
    feats = _peaked(1, 2, 4, 6, [(3, 2), (0, 0)])
    losses = head.loss((feats, ), _dsnt_samples())
    outputs, targets, weights = head.loss_module.calls[-1]
    assert tuple(outputs[1].shape) == (1, 2, 4, 6)
    assert tuple(targets[1].shape) == (1, 2, 4, 6)
    # coordinates: 0.25 as in the integral test; heatmaps: near one-hot
    # predictions equal to the targets -> ~0
    assert losses['loss_kpt'].item() == pytest.approx(0.25, abs=1e-4)
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    feats = torch.zeros(1, 2, 4, 6)
    losses = head.loss((feats, ), _dsnt_samples())
    coord, hm = head.loss_module(*head.loss_module.calls[-1])
    assert hm.item() > 1
    assert losses['loss_kpt'].item() == pytest.approx(coord.item() +
                                                      hm.item(), rel=1e-6)


def test_dsnt_head_drops_heatmap_loss_from_lambda_t(monkeypatch):
    head = _dsnt_head(lambda_t=3)
    hub = MessageHub('_test_dsnt')
    monkeypatch.setattr(dsnt_head.MessageHub, 'get_current_instance',
                        classmethod(lambda cls: hub))
    feats = torch.zeros(1, 2, 4, 6)
    hub.update_info('epoch', 2)
    before = head.loss((feats, ), _dsnt_samples())['loss_kpt'].item()
    hub.update_info('epoch', 3)
    after = head.loss((feats, ), _dsnt_samples())['loss_kpt'].item()
    coord, hm = head.loss_module(*head.loss_module.calls[-1])
    assert before == pytest.approx(coord.item() + hm.item(), rel=1e-6)
    assert after == pytest.approx(coord.item(), rel=1e-6)


def test_dsnt_head_lambda_t_needs_an_epoch(monkeypatch):
    head = _dsnt_head(lambda_t=3)
    hub = MessageHub('_test_dsnt_no_epoch')
    monkeypatch.setattr(dsnt_head.MessageHub, 'get_current_instance',
                        classmethod(lambda cls: hub))
    with pytest.raises(RuntimeError, match='lambda_t=-1'):
        head.loss((torch.zeros(1, 2, 4, 6), ), _dsnt_samples())


def test_dsnt_head_default_loss_is_a_wrapper_of_two():
    head = DSNTHead(in_channels=2, in_featuremap_size=(6, 4), num_joints=2,
                    deconv_out_channels=None, final_layer=None)
    assert type(head.loss_module).__name__ == 'MultipleLossWrapper'


# ---------------------------------------------------------------- estimator

def _batch(k, n=2, size=64, heatmaps=False):
    rng = np.random.default_rng(0)
    inputs = torch.from_numpy(rng.random((n, 3, size, size),
                                         dtype=np.float32))
    samples = []
    for i in range(n):
        s = PoseDataSample(metainfo=dict(
            input_size=(size, size), input_center=np.array([100., 50.]),
            input_scale=np.array([2. * size, 2. * size]),
            flip_indices=list(range(k))))
        labels = rng.random((1, k, 2)).astype(np.float32)
        s.gt_instance_labels = InstanceData(
            keypoint_labels=torch.from_numpy(labels),
            keypoint_weights=torch.ones(1, k))
        if heatmaps:
            hm = torch.rand(k, size // 8, size // 8)
            s.gt_fields = PixelData(heatmaps=hm / hm.sum((1, 2), True))
        samples.append(s)
    return inputs, samples


HEADS = {
    'RegressionHead': dict(type='RegressionHead', in_channels=64),
    'RLEHead': dict(type='RLEHead', in_channels=64),
    'IntegralRegressionHead': dict(type='IntegralRegressionHead',
                                   in_channels=64, in_featuremap_size=(2, 2),
                                   deconv_out_channels=(8, 8),
                                   deconv_kernel_sizes=(4, 4)),
    'DSNTHead': dict(type='DSNTHead', in_channels=64,
                     in_featuremap_size=(2, 2), deconv_out_channels=(8, 8),
                     deconv_kernel_sizes=(4, 4)),
}


@pytest.mark.parametrize('name', sorted(HEADS))
def test_estimator_end_to_end(name):
    torch.manual_seed(0)
    k = 3
    pooled = name in ('RegressionHead', 'RLEHead')
    model = MODELS.build(dict(
        type='TopdownPoseEstimator',
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8),
        neck=dict(type='GlobalAveragePooling') if pooled else None,
        head=dict(HEADS[name], num_joints=k,
                  decoder=dict(type='RegressionLabel', input_size=(64, 64))),
        test_cfg=dict(flip_test=True)))
    model.init_weights()
    inputs, samples = _batch(k, heatmaps=name == 'DSNTHead')
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    assert torch.isfinite(losses['loss_kpt']) and \
        losses['loss_kpt'].requires_grad
    losses['loss_kpt'].backward()
    model.eval()
    with torch.no_grad():
        head_preds = model.head.predict(
            [model.extract_feat(inputs), model.extract_feat(inputs.flip(-1))],
            samples, model.test_cfg)
        out = model(inputs, samples, mode='predict')
    kpts = out[1].pred_instances.keypoints
    assert kpts.shape == (1, k, 2)
    assert out[1].pred_instances.keypoint_scores.shape == (1, k)
    # input (64 px) -> image: scale 128 doubles, centre 100/50 minus 64
    np.testing.assert_allclose(
        kpts, head_preds[1].keypoints * 2 + np.array([36., -14.]),
        rtol=1e-5, atol=1e-4)
