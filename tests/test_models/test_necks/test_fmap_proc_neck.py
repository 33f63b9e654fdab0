import pytest
import torch

from posekit.models.necks import FeatureMapProcessor
from posekit.registry import MODELS


def feats():
    return (torch.full((2, 4, 16, 12), -1.0), torch.full((2, 8, 8, 6), 2.0),
            torch.full((2, 16, 4, 3), 3.0))


def test_select_and_concat_resizes_to_first_selected():
    neck = MODELS.build(dict(type='FeatureMapProcessor', select_index=(1, 2),
                             concat=True))
    out = neck(feats())
    assert isinstance(out, list) and len(out) == 1
    assert tuple(out[0].shape) == (2, 24, 8, 6)
    # constant maps stay constant under bilinear resizing
    assert torch.all(out[0][:, :8] == 2.0)
    assert torch.allclose(out[0][:, 8:], torch.tensor(3.0))


def test_single_index_keeps_a_list():
    out = FeatureMapProcessor(select_index=-1)(feats())
    assert [tuple(o.shape) for o in out] == [(2, 16, 4, 3)]


def test_relu_and_rescale():
    neck = FeatureMapProcessor(apply_relu=True, scale_factor=2.0)
    out = neck(feats())
    assert [tuple(o.shape) for o in out] == [
        (2, 4, 32, 24), (2, 8, 16, 12), (2, 16, 8, 6)]
    assert torch.all(out[0] == 0) and torch.allclose(out[2],
                                                     torch.tensor(3.0))


def test_tensor_in_tensor_out():
    out = FeatureMapProcessor(scale_factor=0.5)(torch.ones(1, 3, 8, 8))
    assert isinstance(out, torch.Tensor)
    assert tuple(out.shape) == (1, 3, 4, 4)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='scale_factor must be positive'):
        FeatureMapProcessor(scale_factor=0)
    with pytest.raises(IndexError, match=r'names maps \[3\], but only 3 '
                       r'came in \(valid: -3..2\)'):
        FeatureMapProcessor(select_index=(0, 3))(feats())
