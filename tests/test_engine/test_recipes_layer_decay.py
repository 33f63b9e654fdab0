"""Layer ids of LayerDecayOptimWrapperConstructor (the constructor-layer-
decay recipe of docs/customize_runtime.md) on backbones beyond the
recipe's ResNet: HRNet, a ViT-like block list, extra modules between
stages, a backbone's own get_layer_id; and its errors."""
import pytest
import torch
from torch import nn

from posekit.engine.optim import (LayerDecayOptimWrapperConstructor,
                                  backbone_layer_ids)
from posekit.models.backbones import HRNet


def tiny_hrnet() -> HRNet:
    def stage(branches, block='BASIC'):
        return dict(num_modules=1, num_branches=branches, block=block,
                    num_blocks=(1, ) * branches,
                    num_channels=tuple(4 * 2**i for i in range(branches)))
    return HRNet(extra=dict(stage1=stage(1, 'BOTTLENECK'), stage2=stage(2),
                            stage3=stage(3), stage4=stage(4)))


def test_hrnet_stages_and_their_transitions():
    ids = backbone_layer_ids(tiny_hrnet())
    want = {'conv1.weight': 0, 'bn1.weight': 0, 'conv2.weight': 0,
            'bn2.bias': 0, 'layer1.0.conv1.weight': 1,
            'transition1.1.0.0.weight': 2,
            'stage2.0.branches.0.0.conv1.weight': 2,
            'transition2.2.0.0.weight': 3, 'transition3.3.0.0.weight': 4,
            'stage4.0.branches.3.0.conv2.weight': 4}
    assert {k: ids[k] for k in want} == want
    assert set(ids.values()) == {0, 1, 2, 3, 4}


class ViTLike(nn.Module):
    """patch_embed, tokens, a block list, a final norm."""

    def __init__(self, depth=3):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 4))
        self.pos_embed = nn.Parameter(torch.zeros(1, 5, 4))
        self.patch_embed = nn.Conv2d(3, 4, 2, 2)
        self.layers = nn.ModuleList(nn.Linear(4, 4) for _ in range(depth))
        self.ln1 = nn.LayerNorm(4)


def test_vit_like_blocks_and_the_norm_after_them():
    ids = backbone_layer_ids(ViTLike())
    assert ids == {'cls_token': 0, 'pos_embed': 0, 'patch_embed.weight': 0,
                   'patch_embed.bias': 0, 'layers.0.weight': 1,
                   'layers.0.bias': 1, 'layers.1.weight': 2,
                   'layers.1.bias': 2, 'layers.2.weight': 3,
                   'layers.2.bias': 3, 'ln1.weight': -1, 'ln1.bias': -1}


class Estimator(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.neck = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)


def build_optimizer(model, **paramwise):
    constructor = LayerDecayOptimWrapperConstructor(
        dict(optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.1)),
        paramwise_cfg=paramwise)
    wrapper = constructor(model)
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(g['params'][0])]: g
            for g in wrapper.optimizer.param_groups}


def test_vit_like_rates_and_decay():
    groups = build_optimizer(Estimator(ViTLike()), layer_decay_rate=0.5)
    # num_layers defaults to the 3 blocks: the head's id is 4
    rates = {name: g['lr'] for name, g in groups.items()}
    assert rates['backbone.pos_embed'] == 0.5**4
    assert rates['backbone.layers.0.weight'] == 0.5**3
    assert rates['backbone.layers.2.weight'] == 0.5
    assert rates['backbone.ln1.weight'] == 1.0
    assert rates['neck.weight'] == rates['head.bias'] == 1.0
    decay = {name: g['weight_decay'] for name, g in groups.items()}
    assert decay['backbone.pos_embed'] == 0.0  # position embedding
    assert decay['backbone.ln1.weight'] == 0.0  # 1-D
    assert decay['head.bias'] == 0.0
    assert decay['backbone.layers.1.weight'] == 0.1


def test_lr_mult_of_custom_keys_combines_with_the_layer_scale():
    groups = build_optimizer(Estimator(ViTLike()), layer_decay_rate=0.5,
                             custom_keys={'head': dict(lr_mult=0.1)})
    assert groups['head.weight']['lr'] == pytest.approx(0.1)
    assert groups['backbone.layers.2.weight']['lr'] == 0.5


class Staged(nn.Module):
    """Modules between stages join the stage before them."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 1)
        self.layer1 = nn.Conv2d(4, 4, 1)
        self.layer1_extra = nn.Conv2d(4, 4, 1)
        self.layer2 = nn.Conv2d(4, 4, 1)
        self.spp = nn.Conv2d(4, 4, 1)


def test_modules_between_and_after_stages():
    ids = backbone_layer_ids(Staged())
    assert ids['conv1.weight'] == 0 and ids['layer1_extra.weight'] == 1
    assert ids['layer2.weight'] == 2 and ids['spp.weight'] == -1


def test_a_backbones_own_get_layer_id_wins():
    backbone = Staged()
    backbone.get_layer_id = lambda name: 7 if name.startswith('spp') else 1
    groups = build_optimizer(Estimator(backbone), layer_decay_rate=0.5,
                             num_layers=7)
    assert groups['backbone.spp.weight']['lr'] == 0.5
    assert groups['backbone.conv1.weight']['lr'] == 0.5**7


def test_errors_name_the_key():
    with pytest.raises(ValueError, match=r'optim_wrapper\.paramwise_cfg\.'
                       r'layer_decay_rate must be in \(0, 1\], got None'):
        build_optimizer(Estimator(Staged()), num_layers=2)
    with pytest.raises(ValueError, match=r'optim_wrapper\.paramwise_cfg\.'
                       r'num_layers=2 but HRNet has layer ids up to 4; set '
                       r'num_layers=4'):
        build_optimizer(Estimator(tiny_hrnet()), num_layers=2,
                        layer_decay_rate=0.9)
    with pytest.raises(ValueError, match='found no stages in Sequential'):
        build_optimizer(Estimator(nn.Sequential(nn.Linear(4, 4))),
                        layer_decay_rate=0.9)
    with pytest.raises(ValueError, match='needs a model with a backbone'):
        build_optimizer(nn.Linear(2, 2), layer_decay_rate=0.9)
