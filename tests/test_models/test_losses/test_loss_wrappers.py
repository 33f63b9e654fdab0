import pytest
import torch

from posekit.registry import MODELS


def _wrapper():
    return MODELS.build(dict(type='MultipleLossWrapper', losses=[
        dict(type='L1Loss', use_target_weight=True),
        dict(type='MSELoss', use_target_weight=True, loss_weight=2.)]))


def test_one_loss_per_output_in_order():
    wrapper = _wrapper()
    coords = torch.tensor([[[1.0, -2.0]]])        # (1, 1, 2)
    values = torch.tensor([[[3.0, 0.0]]])
    weights = torch.tensor([[0.5]])
    losses = wrapper([coords, values], [torch.zeros(1, 1, 2),
                                        torch.zeros(1, 1, 2)], weights)
    assert isinstance(losses, list) and len(losses) == 2
    # L1 of (0.5, -1): 0.75; MSE of (1.5, 0): 2.25 / 2, times 2
    assert losses[0].item() == pytest.approx(0.75)
    assert losses[1].item() == pytest.approx(2.25)
    assert sum(losses).item() == pytest.approx(3.0)


def test_counts_must_match():
    wrapper = _wrapper()
    x = torch.zeros(1, 1, 2)
    with pytest.raises(ValueError, match='has 2 losses but got 1 outputs'):
        wrapper([x], [x], torch.ones(1, 1))
    with pytest.raises(ValueError, match='must be lists'):
        wrapper(x, [x, x], torch.ones(1, 1))
    with pytest.raises(ValueError, match='non-empty list of loss configs'):
        MODELS.build(dict(type='MultipleLossWrapper', losses=[]))
