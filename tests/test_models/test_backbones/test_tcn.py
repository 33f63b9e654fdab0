import pytest
import torch

from posekit.models.backbones import TCN
from posekit.models.backbones.tcn import BasicTemporalBlock


def _shapes(model, frames, batch=2, channels=6):
    model.eval()
    with torch.no_grad():
        return [tuple(o.shape) for o in model(torch.rand(batch, channels,
                                                         frames))]


def test_dilated_shapes_and_receptive_field():
    model = TCN(in_channels=6, stem_channels=16)
    assert model.receptive_field == 27
    # each block eats 2 * dilation frames: 243 - 2 -> 241 - 6 -> 235 - 18
    assert _shapes(model, 243) == [(2, 16, 235), (2, 16, 217)]
    assert _shapes(model, 27) == [(2, 16, 19), (2, 16, 1)]


def test_causal_shapes():
    model = TCN(in_channels=6, stem_channels=16, causal=True)
    assert _shapes(model, 30) == [(2, 16, 22), (2, 16, 4)]


@pytest.mark.parametrize('causal,first', [(False, 3), (True, 6)])
def test_block_residual_alignment(causal, first):
    # with the conv path zeroed the block returns its residual: the centre
    # frame of each 7-frame window (dilation 3), or its last frame (causal)
    block = BasicTemporalBlock(2, 2, mid_channels=2, kernel_size=3,
                               dilation=3, causal=causal).eval()
    for p in block.parameters():
        if p.ndim == 3:
            p.data.zero_()
    x = torch.arange(10.).expand(1, 2, 10)
    with torch.no_grad():
        out = block(x)
    assert out[0, 0].tolist() == [float(first + i) for i in range(4)]


def test_stride_conv_shapes():
    model = TCN(in_channels=6, stem_channels=16, num_blocks=4,
                kernel_sizes=(3, 3, 3, 3, 3), use_stride_conv=True)
    assert model.receptive_field == 243
    assert _shapes(model, 243) == [(2, 16, 27), (2, 16, 9), (2, 16, 3),
                                   (2, 16, 1)]


def test_stride_and_dilated_share_weights_and_output():
    dilated = TCN(in_channels=6, stem_channels=8).eval()
    strided = TCN(in_channels=6, stem_channels=8,
                  use_stride_conv=True).eval()
    strided.load_state_dict(dilated.state_dict())
    x = torch.rand(3, 6, 27)
    with torch.no_grad():
        assert torch.allclose(dilated(x)[-1], strided(x)[-1], atol=1e-5)


def test_state_dict_names():
    keys = set(TCN(in_channels=6, stem_channels=8).state_dict())
    for key in ('expand_conv.conv.weight', 'expand_conv.bn.running_mean',
                'tcn_blocks.0.conv1.0.conv.weight',
                'tcn_blocks.1.conv2.0.bn.weight'):
        assert key in keys


def test_errors():
    with pytest.raises(ValueError, match='num_blocks'):
        TCN(in_channels=6, num_blocks=3, kernel_sizes=(3, 3, 3))
    with pytest.raises(ValueError, match='odd'):
        TCN(in_channels=6, kernel_sizes=(3, 2, 3))
    with pytest.raises(ValueError, match=r'\(B, 6, T\)'):
        TCN(in_channels=6, stem_channels=8)(torch.rand(1, 5, 27))
    with pytest.raises(ValueError, match='receptive field'):
        TCN(in_channels=6, stem_channels=8).eval()(torch.rand(1, 6, 9))
