import pytest
import torch

from posekit.models.utils import flip_heatmaps


def test_flip_swaps_channels_and_mirrors():
    hm = torch.zeros(1, 2, 2, 4)
    hm[0, 0, 1, 0] = 1.  # keypoint 0 at x=0
    hm[0, 1, 0, 3] = 2.  # keypoint 1 at x=3
    out = flip_heatmaps(hm, flip_indices=[1, 0], shift_heatmap=False)
    # channel 0 now holds old channel 1 mirrored: x=3 -> x=0
    assert out[0, 0, 0, 0] == 2. and out[0, 0].sum() == 2.
    assert out[0, 1, 1, 3] == 1. and out[0, 1].sum() == 1.
    assert hm[0, 0, 1, 0] == 1.  # input untouched


def test_shift_moves_one_column_right_keeping_first():
    hm = torch.arange(4.).view(1, 1, 1, 4)
    out = flip_heatmaps(hm, shift_heatmap=True)
    # mirrored [3, 2, 1, 0] then shifted right with column 0 repeated
    assert out.flatten().tolist() == [3., 3., 2., 1.]


def test_udp_combined_negates_x_offsets():
    hm = torch.zeros(1, 3, 1, 2)
    hm[0, :, 0, 0] = torch.tensor([1., 0.5, 0.25])
    out = flip_heatmaps(hm, flip_indices=[0], flip_mode='udp_combined',
                        shift_heatmap=False)
    assert out[0, :, 0, 1].tolist() == [1., -0.5, 0.25]


def test_errors():
    with pytest.raises(ValueError, match='flip_mode'):
        flip_heatmaps(torch.zeros(1, 1, 2, 2), flip_mode='vertical')
    with pytest.raises(ValueError, match='flip_indices has 3 entries'):
        flip_heatmaps(torch.zeros(1, 2, 2, 2), flip_indices=[0, 1, 2])
