"""Auxiliary heads of the top-down estimator: the input batch reaches the
heads that ask for it, nothing auxiliary runs or is built for inference,
and SCTNet's guidance head trains without touching its teacher."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.structures import InstanceData, PixelData
from torch import nn

from posekit.models.heads.guidance import MixVisionTransformer
from posekit.models.heads.guidance import vit_guidance_head as vgh
from posekit.models.pose_estimators.auxiliary import drop_auxiliary_weights
from posekit.registry import MODELS
from posekit.structures import PoseDataSample

K = 3


@MODELS.register_module(name='_TestInputsHead', force=True)
class InputsHead(nn.Module):
    """Records the inputs its loss gets; raises outside 'loss' mode."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(()))
        self.seen = []

    def loss(self, feats, data_samples, train_cfg=None, inputs=None):
        self.seen.append(inputs)
        return dict(loss_seen=self.weight * float(inputs is not None))

    def forward(self, *args, **kwargs):
        raise AssertionError('auxiliary head forward() must not run')

    def predict(self, *args, **kwargs):
        raise AssertionError('auxiliary head predict() must not run')


@MODELS.register_module(name='_TestUnbuildableHead', force=True)
class UnbuildableHead(nn.Module):
    def __init__(self):
        raise AssertionError('this auxiliary head must not be built')


@pytest.fixture
def tiny_teacher(monkeypatch):
    """A narrow one-layer-per-stage MiT in place of the real teacher."""
    def build(arch, **kwargs):
        return MixVisionTransformer(embed_dims=8, num_layers=(1, 1, 1, 1),
                                    num_heads=(1, 2, 5, 8))
    monkeypatch.setattr(vgh, 'build_mit', build)


def model_cfg(**kwargs):
    cfg = dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor',
                               mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='SCTNet', base_channels=8, spp_channels=16,
                      out_indices=(1, 2, 3)),
        head=dict(type='HeatmapHead', in_channels=32, out_channels=K,
                  deconv_out_channels=(16, ), deconv_kernel_sizes=(4, ),
                  decoder=dict(type='_TestArgmaxCodec', input_size=(64, 64),
                               heatmap_size=(16, 16))))
    cfg.update(kwargs)
    return cfg


def guidance_cfg(**kwargs):
    cfg = dict(type='VitGuidanceHead', base_channels=8, num_classes=4,
               teacher_arch='mit-b2')
    cfg.update(kwargs)
    return cfg


def batch(n=2):
    rng = np.random.default_rng(0)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.from_numpy(
            rng.integers(0, 256, (3, 64, 64), dtype=np.uint8)))
        s = PoseDataSample(metainfo=dict(
            input_size=(64, 64), input_center=np.array([32., 32.]),
            input_scale=np.array([64., 64.]), flip_indices=list(range(K))))
        s.gt_fields = PixelData(heatmaps=torch.rand(K, 16, 16))
        s.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, K))
        s.gt_instances = InstanceData(bboxes=np.array([[0., 0., 64., 64.]]),
                                      bbox_scores=np.array([1.]))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def test_inputs_reach_heads_that_accept_them_only():
    model = MODELS.build(model_cfg(auxiliary_head=[
        dict(type='_TestInputsHead'), dict(type='_TestRaisingHead')]))
    data = model.data_preprocessor(batch(), training=True)
    losses = model(**data, mode='loss')
    assert losses['aux0_loss_seen'].item() == 1.0
    assert losses['aux1_loss_guide'].item() == 1.0
    (seen, ) = model.auxiliary_head[0].seen
    assert seen is data['inputs']  # the normalised batch, as preprocessed
    assert seen.dtype == torch.float32 and seen.shape == (2, 3, 64, 64)
    model.eval()
    with torch.no_grad():  # the raising heads would fail these
        model(**data, mode='predict')
        model(data['inputs'], mode='tensor')
    assert len(model.auxiliary_head[0].seen) == 1


def test_drop_auxiliary_builds_nothing_and_loads_training_weights():
    trained = MODELS.build(model_cfg(auxiliary_head=dict(
        type='_TestInputsHead')))
    state = trained.state_dict()
    assert 'auxiliary_head.weight' in state
    model = MODELS.build(model_cfg(
        auxiliary_head=dict(type='_TestUnbuildableHead'),
        test_cfg=dict(drop_auxiliary=True)))
    assert not model.with_auxiliary_head
    assert not any('auxiliary' in k for k in model.state_dict())
    # a training checkpoint loads strictly: its auxiliary weights are ignored
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(model.head.final_layer.weight,
                       trained.head.final_layer.weight)
    model.eval()
    with torch.no_grad():
        out = model(**model.data_preprocessor(batch(), training=False),
                    mode='predict')
    assert out[0].pred_instances.keypoints.shape == (1, K, 2)
    # filtered weights really lack the auxiliary head
    full = MODELS.build(model_cfg(auxiliary_head=dict(
        type='_TestInputsHead')))
    with pytest.raises(RuntimeError, match='auxiliary_head.weight'):
        full.load_state_dict(drop_auxiliary_weights(state), strict=True)


def test_drop_auxiliary_weights_filters_only_auxiliary_keys():
    state = OrderedDict([('backbone.w', 1), ('auxiliary_head.t.w', 2),
                         ('module.auxiliary_head.x', 3), ('head.w', 4),
                         ('head.auxiliary_head_like', 5)])
    assert list(drop_auxiliary_weights(state)) == [
        'backbone.w', 'head.w', 'head.auxiliary_head_like']
    assert len(state) == 5  # the input is left alone


def test_sctnet_guidance_trains_student_and_never_the_teacher(tiny_teacher):
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(auxiliary_head=guidance_cfg()))
    model.train()
    aux = model.auxiliary_head
    assert not aux.teacher_backbone.training
    assert not aux.teacher_head.training
    data = model.data_preprocessor(batch(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_kpt', 'acc_pose', 'aux_loss_guidance'}
    assert losses['aux_loss_guidance'].item() > 0
    teacher = OrderedDict(
        (k, v.clone()) for k, v in aux.state_dict().items()
        if k.startswith('teacher_'))
    optim = build_optim_wrapper(model, dict(optimizer=dict(
        type='AdamW', lr=0.1, weight_decay=0.5)))
    backbone_before = model.backbone.conv1[0].weight.clone()
    loss, _ = model.parse_losses(losses)
    optim.update_params(loss)
    assert all(p.grad is None for n, p in aux.named_parameters()
               if n.startswith('teacher_'))
    after = aux.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in teacher.items())
    assert not torch.equal(backbone_before, model.backbone.conv1[0].weight)
    assert not aux.teacher_backbone.training  # still, after the step


def test_sctnet_guidance_absent_from_inference_model(tiny_teacher):
    model = MODELS.build(model_cfg(auxiliary_head=guidance_cfg(),
                                   test_cfg=dict(drop_auxiliary=True)))
    assert not model.with_auxiliary_head
    n = sum(p.numel() for p in model.parameters())
    backbone_head = sum(p.numel() for m in (model.backbone, model.head)
                        for p in m.parameters())
    assert n == backbone_head
