import copy

import pytest
import torch
from torch import nn

from posekit.models.heads import HeatmapHead
from posekit.models.utils.model_check import (ModelCheckError, check_model,
                                              find_auto_keys,
                                              resolve_auto_in_channels)
from posekit.registry import MODELS, ConfigBuildError


@MODELS.register_module(name='_TestItemBackbone', force=True)
class ItemBackbone(nn.Module):
    """Reads a tensor value in forward, which the meta device cannot."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 1)

    def forward(self, x):
        scale = float(x.mean().item()) * 0 + 1
        return (self.conv(x) * scale, )


@MODELS.register_module(name='_TestNestedBackbone', force=True)
class NestedBackbone(nn.Module):
    """Returns a nested list, as SCTNet's published forward does."""

    def forward(self, x):
        return [x, [x, x]]


@MODELS.register_module(name='_TestAllLevelsHead', force=True)
class AllLevelsHead(HeatmapHead):
    """A head that declares it reads every feature map (summed widths)."""

    @staticmethod
    def infer_in_channels(channels):
        return sum(channels)


def model_cfg(**overrides):
    """ResNet-18 at 1/8 width (64 channels at 1/32) + 1x1 heatmap head,
    64x64 input."""
    codec = dict(type='MSRAHeatmap', input_size=(64, 64),
                 heatmap_size=(16, 16), sigma=2)
    cfg = dict(type='TopdownPoseEstimator',
               backbone=dict(type='ResNet', depth=18, base_channels=8),
               head=dict(type='HeatmapHead', in_channels=64,
                         out_channels=17, deconv_out_channels=None,
                         decoder=codec))
    cfg.update(overrides)
    return cfg


def test_matching_config_passes_with_shapes():
    result = check_model(model_cfg())
    assert result.input_size == (64, 64)
    assert result.backbone_shapes == [(1, 64, 2, 2)]
    assert result.neck_shapes is None
    assert result.device == 'meta'
    assert result.resolved == {}


def test_wrong_head_in_channels_names_key_and_right_value():
    cfg = model_cfg()
    cfg['head']['in_channels'] = 32
    with pytest.raises(ModelCheckError) as info:
        check_model(cfg)
    assert str(info.value) == (
        'model.head.in_channels is 32 but model.backbone outputs 64 channels '
        'at the selected index (the last of its 1 feature maps, shape '
        "(1, 64, 2, 2)); set model.head.in_channels=64 (or "
        "in_channels='auto')")
    assert info.value.key == 'model.head.in_channels'
    assert info.value.expected == 64


def test_auto_resolves_head_and_auxiliary_heads_without_touching_input():
    aux = dict(type='HeatmapHead', in_channels='auto', out_channels=3,
               deconv_out_channels=None)
    cfg = model_cfg(auxiliary_head=[aux, copy.deepcopy(aux)])
    cfg['head']['in_channels'] = 'auto'
    cfg['backbone']['out_indices'] = (2, 3)
    before = copy.deepcopy(cfg)
    assert find_auto_keys(cfg) == [
        'model.head.in_channels', 'model.auxiliary_head[0].in_channels',
        'model.auxiliary_head[1].in_channels']
    resolved = resolve_auto_in_channels(cfg)
    assert resolved.head.in_channels == 64
    assert [h.in_channels for h in resolved.auxiliary_head] == [64, 64]
    assert cfg == before
    model = MODELS.build(resolved)
    assert model.head.final_layer.in_channels == 64


def test_wrong_auxiliary_head_is_named_by_index():
    aux = dict(type='HeatmapHead', in_channels=32, out_channels=3,
               deconv_out_channels=None)
    with pytest.raises(ModelCheckError,
                       match=r'set model.auxiliary_head\[1\].in_channels=64'):
        check_model(model_cfg(auxiliary_head=[dict(aux, in_channels=64),
                                              aux]))


def test_neck_auto_gets_every_level_and_head_reads_the_neck():
    cfg = model_cfg(neck=dict(type='FPN', in_channels='auto', out_channels=16,
                              num_outs=4))
    cfg['backbone']['out_indices'] = (0, 1, 2, 3)
    cfg['head']['in_channels'] = 'auto'
    result = check_model(cfg)
    assert result.resolved == {'model.neck.in_channels': [8, 16, 32, 64],
                               'model.head.in_channels': 16}
    assert result.neck_shapes == [(1, 16, 16, 16), (1, 16, 8, 8),
                                  (1, 16, 4, 4), (1, 16, 2, 2)]


def test_wrong_neck_in_channels_names_the_neck_key():
    cfg = model_cfg(neck=dict(type='FPN', in_channels=[8, 16], out_channels=16,
                              num_outs=4))
    cfg['backbone']['out_indices'] = (0, 1, 2, 3)
    with pytest.raises(ModelCheckError, match=r'model.neck.in_channels is '
                       r'\[8, 16\] but model.backbone outputs \[8, 16, 32, '
                       r'64\] channels .*set model.neck.in_channels='
                       r'\[8, 16, 32, 64\]'):
        check_model(cfg)


def test_head_behind_feature_map_processor():
    cfg = model_cfg(neck=dict(type='FeatureMapProcessor', select_index=(1, 2),
                              concat=True))
    cfg['backbone']['out_indices'] = (0, 1, 2, 3)
    with pytest.raises(ModelCheckError, match='model.neck outputs 48 '
                       'channels'):
        check_model(cfg)
    cfg['head']['in_channels'] = 'auto'
    result = check_model(cfg)
    assert result.model_cfg.head.in_channels == 16 + 32
    assert result.neck_shapes == [(1, 48, 8, 8)]


def test_head_class_can_declare_what_it_reads():
    cfg = model_cfg()
    cfg['backbone']['out_indices'] = (2, 3)
    cfg['head'].update(type='_TestAllLevelsHead', in_channels=64)
    with pytest.raises(ModelCheckError, match='in_channels=96'):
        check_model(cfg)


def test_input_size_comes_from_decoder_or_argument():
    cfg = model_cfg()
    assert check_model(cfg, input_size=(96, 128)).backbone_shapes == [
        (1, 64, 4, 3)]
    del cfg['head']['decoder']
    with pytest.raises(ValueError, match=r'model.head.decoder has no '
                       r'input_size. Pass it explicitly: model_check='
                       r'dict\(input_size=\(w, h\)\)'):
        check_model(cfg)
    with pytest.raises(ValueError, match=r'input_size must be \(w, h\)'):
        check_model(cfg, input_size=(64, 0))


def test_global_rng_is_untouched():
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    check_model(model_cfg(backbone=dict(type='_TestItemBackbone'),
                          head=dict(model_cfg()['head'], in_channels=5)))
    assert torch.equal(torch.rand(4), expected)


def test_module_without_meta_support_runs_on_cpu():
    cfg = model_cfg(backbone=dict(type='_TestItemBackbone'))
    cfg['head']['in_channels'] = 'auto'
    result = check_model(cfg)
    assert result.device == 'cpu'
    assert result.backbone_shapes == [(1, 5, 64, 64)]
    assert result.model_cfg.head.in_channels == 5


def test_failing_backbone_is_reported_with_the_input():
    hrnet_extra = dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                    num_blocks=(1, ), num_channels=(4, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                    num_blocks=(1, 1), num_channels=(4, 8)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                    num_blocks=(1, 1, 1), num_channels=(4, 8, 16)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC',
                    num_blocks=(1, 1, 1, 1), num_channels=(4, 8, 16, 32)))
    cfg = model_cfg(backbone=dict(type='HRNet', extra=hrnet_extra))
    with pytest.raises(ModelCheckError, match=r'model.backbone \(HRNet\) '
                       r'failed on a dummy \(1, 3, 64, 48\) input .*'
                       'divisible by 32'):
        check_model(cfg, input_size=(48, 64))


def test_nested_backbone_output_is_refused_with_the_opt_out():
    cfg = model_cfg(backbone=dict(type='_TestNestedBackbone'))
    with pytest.raises(ModelCheckError, match=r'got list\[Tensor\(1, 3, 64, '
                       r'64\), list.*set model_check=False'):
        check_model(cfg)


def test_unknown_backbone_type_keeps_its_key_path():
    cfg = model_cfg(backbone=dict(type='HRNett'))
    with pytest.raises(ConfigBuildError, match=r"model.backbone.type: "
                       r"unknown type 'HRNett'.*Did you mean 'HRNet'"):
        check_model(cfg)


def test_missing_backbone_is_named():
    with pytest.raises(KeyError, match='model.backbone is missing'):
        check_model(dict(type='TopdownPoseEstimator'))
