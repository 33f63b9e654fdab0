import copy

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from posekit.models.backbones import HRNet
from posekit.models.backbones.resnet import BasicBlock
from posekit.registry import MODELS


@pytest.fixture(autouse=True)
def one_thread():
    """HRNet runs hundreds of small ops; on a busy machine each one waits
    for a second OpenMP thread, so one thread is many times faster."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def hrnet_extra(width):
    """MMPose's stage settings of HRNet-W<width>."""
    def stage(modules, branches, block, blocks, channels):
        return dict(num_modules=modules, num_branches=branches, block=block,
                    num_blocks=blocks, num_channels=channels)
    w = [width * 2**i for i in range(4)]
    return dict(
        stage1=stage(1, 1, 'BOTTLENECK', (4, ), (64, )),
        stage2=stage(1, 2, 'BASIC', (4, 4), tuple(w[:2])),
        stage3=stage(4, 3, 'BASIC', (4, 4, 4), tuple(w[:3])),
        stage4=stage(3, 4, 'BASIC', (4, 4, 4, 4), tuple(w)))


def tiny_extra():
    """A narrow, shallow HRNet (one block per branch) for fast tests."""
    return dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                    num_blocks=(1, ), num_channels=(4, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                    num_blocks=(1, 1), num_channels=(4, 8)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                    num_blocks=(1, 1, 1), num_channels=(4, 8, 16)),
        stage4=dict(num_modules=2, num_branches=4, block='BASIC',
                    num_blocks=(1, 1, 1, 1), num_channels=(4, 8, 16, 32)))


def n_params(*modules):
    return sum(p.numel() for m in modules for p in m.parameters())


def test_w32_with_heatmap_head_param_count():
    # MMPose's td-hm_hrnet-w32 model: backbone + 1x1 head, 28,536,113
    with torch.device('meta'):
        backbone = MODELS.build(dict(type='HRNet', extra=hrnet_extra(32)))
        head = MODELS.build(dict(type='HeatmapHead', in_channels=32,
                                 out_channels=17, deconv_out_channels=None))
    assert n_params(backbone, head) == 28_536_113
    assert n_params(head) == 32 * 17 + 17


def test_w48_param_count_matches_published():
    # the HRNet paper's table: W48 at 256x192 has 63.6M parameters
    with torch.device('meta'):
        backbone = MODELS.build(dict(type='HRNet', extra=hrnet_extra(48)))
        head = MODELS.build(dict(type='HeatmapHead', in_channels=48,
                                 out_channels=17, deconv_out_channels=None))
    assert round(n_params(backbone, head) / 1e6, 1) == 63.6


def test_w32_output_is_highest_resolution_branch():
    model = HRNet(hrnet_extra(32), init_cfg=None).eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 3, 64, 32))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(2, 32, 16, 8)]
    assert model.out_channels == [32]


def test_multiscale_output_returns_four_branches():
    extra = tiny_extra()
    extra['stage4']['multiscale_output'] = True
    model = HRNet(extra).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 32))
    assert [tuple(o.shape) for o in outs] == [
        (1, 4, 16, 8), (1, 8, 8, 4), (1, 16, 4, 2), (1, 32, 2, 1)]
    # with one output the last module fuses into branch 0 only
    single = HRNet(tiny_extra())
    assert len(single.stage4[-1].fuse_layers) == 1
    assert len(single.stage4[0].fuse_layers) == 4


def test_state_dict_names_and_shapes_are_mmposes():
    with torch.device('meta'):
        sd = HRNet(hrnet_extra(32)).state_dict()
    expected = {
        'conv1.weight': (64, 3, 3, 3),
        'bn1.weight': (64, ),
        'conv2.weight': (64, 64, 3, 3),
        'bn2.running_var': (64, ),
        'layer1.0.conv3.weight': (256, 64, 1, 1),
        'layer1.0.downsample.0.weight': (256, 64, 1, 1),
        'layer1.0.downsample.1.weight': (256, ),
        'transition1.0.0.weight': (32, 256, 3, 3),
        'transition1.1.0.0.weight': (64, 256, 3, 3),
        'transition1.1.0.1.weight': (64, ),
        'transition3.3.0.0.weight': (256, 128, 3, 3),
        'stage2.0.branches.1.3.conv2.weight': (64, 64, 3, 3),
        'stage3.3.fuse_layers.0.2.0.weight': (32, 128, 1, 1),
        'stage3.0.fuse_layers.2.0.0.0.weight': (32, 32, 3, 3),
        'stage3.0.fuse_layers.2.0.1.0.weight': (128, 32, 3, 3),
        'stage3.0.fuse_layers.2.0.1.1.weight': (128, ),
        'stage4.2.fuse_layers.0.3.0.weight': (32, 256, 1, 1),
    }
    for key, shape in expected.items():
        assert tuple(sd[key].shape) == shape, key
    # the last module of stage 4 only fuses into the 32-channel branch
    assert not [k for k in sd if k.startswith('stage4.2.fuse_layers.1.')]
    assert [k for k in sd if k.startswith('stage4.1.fuse_layers.3.')]
    # no module named after the missing (None) entries
    assert not [k for k in sd if k.startswith('transition2.0.')]


def test_frozen_stages_freeze_stem_and_first_stages():
    model = HRNet(tiny_extra(), frozen_stages=2)
    model.train()
    frozen = [model.conv1, model.bn1, model.conv2, model.bn2, model.layer1,
              model.transition1, model.stage2, model.transition2]
    for m in frozen:
        assert all(not p.requires_grad for p in m.parameters())
        assert all(not x.training for x in m.modules())
    for m in (model.transition3, model.stage3, model.stage4):
        assert all(p.requires_grad for p in m.parameters())
        assert all(x.training for x in m.modules())
    with pytest.raises(ValueError, match='frozen_stages must be in -1..4'):
        HRNet(tiny_extra(), frozen_stages=5)


def test_norm_eval_keeps_batch_norms_in_eval():
    model = HRNet(tiny_extra(), norm_eval=True).train()
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert norms and not any(m.training for m in norms)
    assert model.stage3.training


def test_zero_init_residual_zeroes_last_norm_of_blocks():
    model = HRNet(tiny_extra(), zero_init_residual=True)
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 2 + 3 + 2 * 4
    assert all(float(b.norm2.weight.detach().abs().sum()) == 0 for b in blocks)
    # the default init draws convs from N(0, 0.001)
    assert float(model.conv1.weight.detach().std()) == pytest.approx(0.001, rel=0.3)


def test_input_not_divisible_by_32_names_the_rule():
    model = HRNet(tiny_extra()).eval()
    with pytest.raises(ValueError, match='divisible by 32'):
        model(torch.rand(1, 3, 64, 48))


def test_bad_extra_names_the_key():
    extra = tiny_extra()
    del extra['stage3']
    with pytest.raises(KeyError, match='extra.stage3 is missing'):
        HRNet(extra)
    extra = tiny_extra()
    extra['stage2']['block'] = 'BASICC'
    with pytest.raises(ValueError, match=r"extra.stage2.block must be one "
                       r"of \['BASIC', 'BOTTLENECK'\]"):
        HRNet(extra)
    extra = copy.deepcopy(tiny_extra())
    extra['stage4']['num_channels'] = (4, 8, 16)
    with pytest.raises(ValueError, match='extra.stage4.num_channels'):
        HRNet(extra)
