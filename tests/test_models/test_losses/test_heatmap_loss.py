import pytest
import torch

from posekit.registry import MODELS


def _mse_case():
    output = torch.zeros(1, 2, 2, 2)
    output[0, 0] = torch.tensor([[1., 2.], [3., 4.]])
    target = torch.zeros(1, 2, 2, 2)
    target[0, 1] = 1.
    return output, target


def test_mse_with_target_weights_and_loss_weight():
    output, target = _mse_case()
    loss = MODELS.build(dict(type='KeypointMSELoss', use_target_weight=True,
                             loss_weight=2.))
    # channel 0: 1+4+9+16 = 30 (weight 1); channel 1: 4 * 1 (weight 0.5)
    # -> (30 + 2) / 8 elements = 4, times loss_weight 2
    value = loss(output, target, torch.tensor([[1., 0.5]]))
    assert value.item() == pytest.approx(8.0)


def test_mse_without_target_weight_ignores_weights():
    output, target = _mse_case()
    loss = MODELS.build(dict(type='KeypointMSELoss'))
    assert loss(output, target, torch.tensor([[1., 0.]])).item() == \
        pytest.approx(34 / 8)


def test_mse_skip_empty_channel_and_mask():
    output, target = _mse_case()
    loss = MODELS.build(dict(type='KeypointMSELoss', skip_empty_channel=True))
    # channel 0 has an all-zero target and is dropped: 4 / 8
    assert loss(output, target).item() == pytest.approx(0.5)
    mask = torch.zeros(1, 1, 2, 2)
    mask[..., 1, 1] = 1  # keep only the bottom-right pixel of each map
    plain = MODELS.build(dict(type='KeypointMSELoss'))
    assert plain(output, target, mask=mask).item() == pytest.approx(17 / 8)


def test_mse_shape_errors():
    output, target = _mse_case()
    loss = MODELS.build(dict(type='KeypointMSELoss', use_target_weight=True))
    with pytest.raises(ValueError, match=r'target_weights must be \(B, K\)'):
        loss(output, target, torch.ones(1, 3))
    with pytest.raises(ValueError, match='needs target_weights'):
        loss(output, target)
    with pytest.raises(ValueError, match='differ in shape'):
        loss(output[:, :1], target, torch.ones(1, 2))


def test_ohkm_keeps_topk_per_sample():
    output = torch.tensor([[1., 2., 3.], [3., 0., 1.]]).view(2, 3, 1, 1)
    target = torch.zeros(2, 3, 1, 1)
    loss = MODELS.build(dict(type='KeypointOHKMMSELoss', topk=2))
    # sample 0: [1, 4, 9] -> (9 + 4) / 2; sample 1: [9, 0, 1] -> (9 + 1) / 2
    assert loss(output, target).item() == pytest.approx((6.5 + 5.0) / 2)
    weighted = MODELS.build(dict(type='KeypointOHKMMSELoss', topk=2,
                                 use_target_weight=True, loss_weight=3.))
    w = torch.tensor([[1., 1., 0.], [0.5, 1., 1.]])
    # sample 0: [1, 4, 0] -> 2.5; sample 1: [2.25, 0, 1] -> 1.625
    assert weighted(output, target, w).item() == \
        pytest.approx(3 * (2.5 + 1.625) / 2)


def test_ohkm_topk_errors():
    with pytest.raises(ValueError, match='topk must be a positive int'):
        MODELS.build(dict(type='KeypointOHKMMSELoss', topk=0))
    loss = MODELS.build(dict(type='KeypointOHKMMSELoss', topk=8))
    with pytest.raises(ValueError, match=r'topk \(8\) is larger than the '
                       r'number of keypoints \(3\)'):
        loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2))


def test_mse_mask_combines_with_target_weights():
    output, target = _mse_case()
    loss = MODELS.build(dict(type='KeypointMSELoss', use_target_weight=True))
    mask = torch.ones(1, 1, 2, 2)
    mask[..., 0, :] = 0  # drop the top row of every map
    # channel 0 bottom row: 9 + 16 (weight 1); channel 1: 2 * 1 (weight 0.5)
    value = loss(output, target, torch.tensor([[1., 0.5]]), mask)
    assert value.item() == pytest.approx((25 + 1) / 8)
    with pytest.raises(ValueError, match='does not broadcast'):
        loss(output, target, torch.ones(1, 2), torch.ones(1, 3, 2, 2))
