import pytest
from torch import nn

from posekit.models.utils.complexity import count_flops, count_parameters


class TwoPart(nn.Module):
    """backbone: 1x1 conv 3->4 (no bias); head: 3x3 conv 4->2 (bias)."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Conv2d(3, 4, 1, bias=False)
        self.head = nn.Conv2d(4, 2, 3, padding=1)
        self.unused = nn.Identity()

    def forward(self, x):
        return self.head(self.backbone(x))


def test_parameters_per_part():
    assert count_parameters(TwoPart()) == {
        'backbone': 12, 'head': 2 * 4 * 9 + 2, 'total': 12 + 74}


def test_flops_per_part_count_multiply_adds():
    flops = count_flops(TwoPart().eval(), (3, 8, 8))
    # one multiply-add per weight per output pixel (8x8)
    assert flops == {'total': 12 * 64 + 72 * 64, 'backbone': 12 * 64,
                     'head': 72 * 64}
    assert count_flops(TwoPart().eval(), (3, 8, 8),
                       batch_size=2)['total'] == 2 * 84 * 64


def test_bad_input_shape():
    with pytest.raises(ValueError, match=r'input_shape must be \(C, H, W\)'):
        count_flops(TwoPart(), (8, 8))
