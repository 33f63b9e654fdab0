import pytest
import torch

from posekit.registry import MODELS


def test_pools_each_map_keeping_the_container():
    neck = MODELS.build(dict(type='GlobalAveragePooling'))
    a = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)
    b = torch.ones(2, 5, 4, 4)
    out = neck((a, b))
    assert isinstance(out, tuple)
    assert [tuple(o.shape) for o in out] == [(2, 3), (2, 5)]
    # the mean of 4 consecutive integers 4k..4k+3 is 4k + 1.5
    assert out[0][0].tolist() == [1.5, 5.5, 9.5]
    assert isinstance(neck([b]), list)


def test_batch_of_one_keeps_its_batch_axis():
    neck = MODELS.build(dict(type='GlobalAveragePooling'))
    assert tuple(neck(torch.ones(1, 1, 3, 3)).shape) == (1, 1)


def test_rejects_other_inputs():
    neck = MODELS.build(dict(type='GlobalAveragePooling'))
    with pytest.raises(TypeError, match='got dict'):
        neck({'x': torch.ones(1, 1, 2, 2)})
