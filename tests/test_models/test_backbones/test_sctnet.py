import numpy as np
import pytest
import torch

from posekit.models.backbones import SCTNet
from posekit.models.backbones.sctnet_cfblock import ConvolutionalAttention
from posekit.registry import MODELS


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_param_counts_published():
    # built on the meta device: no memory, no forward pass
    with torch.device('meta'):
        small = MODELS.build(dict(type='SCTNet', arch='S'))
        base = MODELS.build(dict(type='SCTNet', arch='B'))
        by_channels = SCTNet(base_channels=32, spp_channels=64)
    assert n_params(small) == 4_504_096
    assert n_params(by_channels) == 4_504_096
    assert n_params(base) == 16_841_792
    parts = dict(conv1=38_976, layer1=148_224, layer2=526_208,
                 layer3=2_100_992, layer3_2=1_410_560, convdown4=1_181_184,
                 layer4=5_180_416, layer5=5_180_416, spp=1_074_816)
    assert {k: n_params(getattr(base, k)) for k in parts} == parts


def test_state_dict_names_of_published_model():
    with torch.device('meta'):
        keys = set(SCTNet(arch='S').state_dict())
    expected = {
        'conv1.0.weight', 'conv1.0.bias', 'conv1.1.running_var',
        'conv1.3.weight', 'conv1.4.weight',
        'layer1.0.conv1.bias', 'layer1.1.bn2.weight',
        'layer2.0.downsample.0.weight', 'layer2.0.downsample.1.weight',
        'layer3.1.conv2.weight',
        'layer3_2.attn_l.norm.weight', 'layer3_2.attn_l.kv',
        'layer3_2.attn_l.kv3', 'layer3_2.mlp_l.norm.weight',
        'layer3_2.mlp_l.conv1.weight', 'layer3_2.mlp_l.conv2.bias',
        'layer4.attn_l.kv', 'layer5.mlp_l.conv2.weight',
        'convdown4.0.weight', 'convdown4.1.weight',
        'spp.scale0.0.weight', 'spp.scale0.2.weight', 'spp.scale4.1.weight',
        'spp.scale4.3.bias', 'spp.process1.2.weight',
        'spp.process4.0.weight', 'spp.compression.2.weight',
        'spp.shortcut.2.weight'}
    assert expected <= keys
    assert not any(k.startswith('layer1.0.downsample') for k in keys)
    with torch.device('meta'):
        model = SCTNet(arch='S')
    assert tuple(model.layer3_2.attn_l.kv.shape) == (64, 128, 7, 1)
    assert tuple(model.layer3_2.attn_l.kv3.shape) == (64, 128, 1, 7)


def test_outputs_order_and_shapes():
    model = SCTNet(base_channels=8, spp_channels=16).eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        outs = model(x)
    assert isinstance(outs, tuple)
    # x2 (2c, 1/8), x3 (4c, 1/16), x5 (8c, 1/32), x_out (4c, 1/8)
    assert [tuple(o.shape) for o in outs] == [
        (2, 16, 8, 8), (2, 32, 4, 4), (2, 64, 2, 2), (2, 32, 8, 8)]
    assert model.out_channels == (16, 32, 64, 32)
    # x_out starts with x2; the image is never among the outputs
    assert torch.equal(outs[3][:, :16], outs[0])
    assert all(o.shape[1] != 3 for o in outs)
    with torch.no_grad():
        picked = SCTNet(base_channels=8, spp_channels=16,
                        out_indices=(3, 1)).eval()(x)
    assert [tuple(o.shape) for o in picked] == [(2, 32, 4, 4),
                                                (2, 32, 8, 8)]


def test_attention_kernels_start_at_zero_and_block_is_residual():
    model = SCTNet(base_channels=8, spp_channels=16)
    attn = model.layer3_2.attn_l
    assert torch.count_nonzero(attn.kv) == 0
    assert torch.count_nonzero(attn.kv3) == 0
    x = torch.rand(2, 32, 4, 4)
    assert torch.count_nonzero(attn(x)) == 0


def test_convolutional_attention_matches_reference():
    torch.manual_seed(0)
    attn = ConvolutionalAttention(3, inter_channels=4, num_heads=2).eval()
    with torch.no_grad():
        attn.kv.normal_()
    x = torch.rand(1, 3, 5, 4)
    with torch.no_grad():
        got = attn(x).numpy()
    # reference with explicit shifts; eval BN with fresh stats divides by
    # sqrt(1 + eps); the 1x7 branch has zero kernels and adds nothing
    xn = x.numpy()[0] / np.sqrt(1 + 1e-5)
    w = attn.kv.detach().numpy()[:, :, :, 0]  # (inter, C, 7)
    pad = np.pad(xn, ((0, 0), (3, 3), (0, 0)))
    a = np.zeros((4, 5, 4))
    for dy in range(7):
        a += np.einsum('ic,chw->ihw', w[:, :, dy], pad[:, dy:dy + 5])
    a = a.reshape(2, 2, 20)
    a = np.exp(a - a.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    a /= a.sum(1, keepdims=True) + 1e-6
    a = np.pad(a.reshape(4, 5, 4), ((0, 0), (3, 3), (0, 0)))
    ref = np.zeros((3, 5, 4))
    for dy in range(7):
        ref += np.einsum('ic,ihw->chw', w[:, :, dy], a[:, dy:dy + 5])
    np.testing.assert_allclose(got[0], ref, rtol=1e-4, atol=1e-5)


def test_batch_of_one_in_training_is_a_clear_error():
    model = SCTNet(base_channels=8, spp_channels=16).train()
    with pytest.raises(ValueError) as err:
        model(torch.rand(1, 3, 64, 64))
    msg = str(err.value)
    assert 'batch of 1' in msg and 'spp.scale4' in msg
    assert 'at least 2' in msg and 'norm_eval=True' in msg
    assert 'SyncBN' in msg
    # the same batch works in eval mode and with frozen norms
    with torch.no_grad():
        assert model.eval()(torch.rand(1, 3, 64, 64))[3].shape[0] == 1
        frozen = SCTNet(base_channels=8, spp_channels=16,
                        norm_eval=True).train()
        assert frozen(torch.rand(1, 3, 64, 64))[3].shape == (1, 32, 8, 8)


def test_syncbn_config_builds_sync_batch_norms():
    with torch.device('meta'):
        model = SCTNet(arch='S', norm_cfg=dict(type='SyncBN'))
    assert isinstance(model.spp.scale4[1], torch.nn.SyncBatchNorm)
    assert isinstance(model.layer4.mlp_l.norm, torch.nn.SyncBatchNorm)
    assert model.layer4.mlp_l.norm.eps == 1e-6


@pytest.mark.parametrize('kwargs, match', [
    (dict(arch='M'), "one of \\['B', 'S'\\]"),
    (dict(arch='S', base_channels=64), 'base_channels=32'),
    (dict(out_indices=(4, )), 'subset of 0..3'),
    (dict(layer_nums=(2, 2, 2, 2)), 'three positive'),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        with torch.device('meta'):
            SCTNet(**kwargs)


def test_drop_path_rate_reaches_every_block():
    with torch.device('meta'):
        model = SCTNet(arch='S', drop_path_rate=0.3)
    for name in ('layer3_2', 'layer4', 'layer5'):
        assert getattr(model, name).drop_path.drop_prob == 0.3
