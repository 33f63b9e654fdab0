import pytest
import torch

from posekit.models.necks import FPN
from posekit.registry import MODELS


def pyramid(batch=1):
    return [torch.rand(batch, 4, 16, 16), torch.rand(batch, 8, 8, 8),
            torch.rand(batch, 16, 4, 4)]


def test_shapes_with_max_pool_extra_levels():
    neck = MODELS.build(dict(type='FPN', in_channels=[4, 8, 16],
                             out_channels=6, num_outs=5))
    outs = neck(pyramid(2))
    assert isinstance(outs, list)
    assert [tuple(o.shape) for o in outs] == [
        (2, 6, 16, 16), (2, 6, 8, 8), (2, 6, 4, 4), (2, 6, 2, 2),
        (2, 6, 1, 1)]


@pytest.mark.parametrize('source,cin', [('on_input', 16), ('on_lateral', 6),
                                        ('on_output', 6), (True, 16)])
def test_extra_convs_read_from_their_source(source, cin):
    neck = FPN([4, 8, 16], 6, num_outs=4, add_extra_convs=source)
    assert tuple(neck.fpn_convs[3].conv.weight.shape) == (6, cin, 3, 3)
    outs = neck(pyramid())
    assert tuple(outs[3].shape) == (1, 6, 2, 2)


def test_start_and_end_level():
    neck = FPN([4, 8, 16], 6, num_outs=2, start_level=0, end_level=1)
    assert len(neck.lateral_convs) == 2
    outs = neck(pyramid())
    assert [tuple(o.shape) for o in outs] == [(1, 6, 16, 16), (1, 6, 8, 8)]


def test_top_down_adds_upsampled_coarse_level():
    neck = FPN([1, 1], 1, num_outs=2)
    with torch.no_grad():
        for conv in neck.lateral_convs:
            conv.conv.weight.fill_(1.0)
            conv.conv.bias.zero_()
        for conv in neck.fpn_convs:  # 3x3 identity
            conv.conv.weight.zero_()
            conv.conv.weight[0, 0, 1, 1] = 1.0
            conv.conv.bias.zero_()
        fine = torch.arange(16.0).reshape(1, 1, 4, 4)
        coarse = torch.tensor([[[[10.0, 20.0], [30.0, 40.0]]]])
        outs = neck([fine, coarse])
    # nearest upsampling: each coarse value covers a 2x2 block
    assert outs[0][0, 0, 0].tolist() == [10.0, 11.0, 22.0, 23.0]
    assert outs[0][0, 0, 3].tolist() == [42.0, 43.0, 54.0, 55.0]
    assert torch.equal(outs[1], coarse)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match='in_channels must be a list'):
        FPN(256, 6, num_outs=1)
    with pytest.raises(ValueError, match='num_outs=2 is fewer than the 3'):
        FPN([4, 8, 16], 6, num_outs=2)
    with pytest.raises(ValueError, match='add_extra_convs must be'):
        FPN([4, 8, 16], 6, num_outs=4, add_extra_convs='on_top')
    with pytest.raises(ValueError, match='built for 3 inputs'):
        FPN([4, 8, 16], 6, num_outs=3)(pyramid()[:2])
