import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from posekit.models.backbones import ResNet, ResNetV1d
from posekit.registry import MODELS


def n_params(*modules):
    return sum(p.numel() for m in modules for p in m.parameters())


def test_param_counts_with_heatmap_head():
    # published SimpleBaseline sizes; built on the meta device (no memory,
    # no initialisation) to keep the test cheap
    with torch.device('meta'):
        r50 = MODELS.build(dict(type='ResNet', depth=50))
        h50 = MODELS.build(dict(type='HeatmapHead', in_channels=2048,
                                out_channels=17))
        r18 = MODELS.build(dict(type='ResNet', depth=18))
        h18 = MODELS.build(dict(type='HeatmapHead', in_channels=512,
                                out_channels=17))
    assert n_params(r50, h50) == 33_999_697
    assert n_params(r18, h18) == 15_376_721


def test_resnet18_shapes_all_stages():
    model = ResNet(18, out_indices=(0, 1, 2, 3)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 64))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [
        (1, 64, 16, 16), (1, 128, 8, 8), (1, 256, 4, 4), (1, 512, 2, 2)]


def test_resnet50_out_indices_shapes():
    model = ResNet(50, out_indices=(1, 3)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(1, 512, 4, 4),
                                             (1, 2048, 1, 1)]
    assert model.feat_dim == 2048


def test_base_channels_scale_widths():
    model = ResNet(18, base_channels=32, out_indices=(0, 1, 2, 3)).eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 3, 64, 48))
    assert [o.shape[1] for o in outs] == [32, 64, 128, 256]
    assert tuple(outs[-1].shape) == (2, 256, 2, 2)
    # the stem keeps stem_channels; layer1 adapts with a downsample
    assert model.conv1.out_channels == 64
    assert tuple(model.layer1[0].downsample[0].weight.shape) == (32, 64, 1, 1)
    assert model.feat_dim == 256


def test_state_dict_names_match_torchvision():
    tv = pytest.importorskip('torchvision')
    with torch.device('meta'):
        ref = tv.models.resnet50(weights=None)
        ours = ResNet(50)
    ref_keys = {k for k in ref.state_dict() if not k.startswith('fc.')}
    assert set(ours.state_dict()) == ref_keys


def test_torchvision_weights_give_torchvision_features():
    tv = pytest.importorskip('torchvision')
    torch.manual_seed(0)
    ref = tv.models.resnet18(weights=None).eval()
    for m in ref.modules():  # non-trivial statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    state = {k: v for k, v in ref.state_dict().items()
             if not k.startswith('fc.')}
    model = ResNet(18).eval()
    model.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        r = ref.maxpool(ref.relu(ref.bn1(ref.conv1(x))))
        r = ref.layer4(ref.layer3(ref.layer2(ref.layer1(r))))
        (ours, ) = model(x)
    torch.testing.assert_close(ours, r)


def test_frozen_stages_and_norm_eval():
    model = ResNet(18, frozen_stages=1, norm_eval=True)
    model.train()
    for m in (model.conv1, model.bn1, model.layer1):
        assert all(not p.requires_grad for p in m.parameters())
        assert not m.training
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert model.layer2.training  # the module itself trains...
    # ...but every batch norm keeps its running statistics
    assert all(not m.training for m in model.modules()
               if isinstance(m, _BatchNorm))


def test_frozen_stages_without_norm_eval_keeps_other_bns_training():
    model = ResNet(18, frozen_stages=1)
    model.train()
    assert not model.bn1.training and not model.layer1[0].bn1.training
    assert model.layer2[0].bn1.training


def test_zero_init_residual():
    model = ResNet(18)
    model.init_weights()
    assert torch.count_nonzero(model.layer1[0].bn2.weight) == 0
    assert torch.all(model.layer1[0].bn1.weight == 1)


def test_resnetv1d_deep_stem_and_avg_down():
    model = ResNetV1d(depth=18)
    keys = model.state_dict()
    assert 'stem.0.conv.weight' in keys and 'stem.2.bn.weight' in keys
    assert 'conv1.weight' not in keys
    ds = model.layer2[0].downsample
    assert isinstance(ds[0], torch.nn.AvgPool2d)
    assert ds[1].stride == (1, 1)
    with torch.no_grad():
        (out, ) = model.eval()(torch.rand(1, 3, 64, 64))
    assert tuple(out.shape) == (1, 512, 2, 2)


@pytest.mark.parametrize('kwargs, match', [
    (dict(depth=20), 'depth must be one of'),
    (dict(depth=18, out_indices=(4, )), 'out_indices'),
    (dict(depth=18, num_stages=3), 'strides'),
    (dict(depth=18, frozen_stages=5), 'frozen_stages'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNet(**kwargs)
