import math

import pytest
import torch
from torch import nn

from posekit.models.losses import RealNVP, RLELoss
from posekit.registry import MODELS


def _case():
    output = torch.tensor([[[0.5, 2.0], [1.0, -3.0]]])     # (1, 2, 2)
    target = torch.zeros(1, 2, 2)
    return output, target


def test_smooth_l1_values():
    output, target = _case()
    loss = MODELS.build(dict(type='SmoothL1Loss'))
    # 0.5 * 0.5^2 = 0.125; 2 - 0.5 = 1.5; 1 - 0.5 = 0.5; 3 - 0.5 = 2.5
    assert loss(output, target).item() == pytest.approx(4.625 / 4)
    weighted = MODELS.build(dict(type='SmoothL1Loss', use_target_weight=True,
                                 loss_weight=2.))
    # keypoint 1 weighted 0: (0.125 + 1.5) / 4 elements, times 2
    value = weighted(output, target, torch.tensor([[1., 0.]]))
    assert value.item() == pytest.approx(1.625 / 4 * 2)


def test_l1_reductions():
    output, target = _case()
    assert MODELS.build(dict(type='L1Loss'))(output, target).item() == \
        pytest.approx(6.5 / 4)
    assert MODELS.build(dict(type='L1Loss', reduction='sum'))(
        output, target).item() == pytest.approx(6.5)
    none = MODELS.build(dict(type='L1Loss', reduction='none',
                             use_target_weight=True))
    value = none(output, target, torch.tensor([[0.5, 1.]]))
    assert value.tolist() == [[[0.25, 1.0], [1.0, 3.0]]]


def test_mse_values():
    output, target = _case()
    loss = MODELS.build(dict(type='MSELoss', use_target_weight=True,
                             loss_weight=0.5))
    # weights (1, 0.5): 0.25 + 4 + 0.25 * (1 + 9) = 6.75 over 4, times 0.5
    value = loss(output, target, torch.tensor([[1., 0.5]]))
    assert value.item() == pytest.approx(6.75 / 4 * 0.5)
    # (B, K, 1) weights act the same
    assert loss(output, target, torch.tensor([[[1.], [0.5]]])).item() == \
        pytest.approx(6.75 / 8)


def test_coordinate_loss_errors():
    output, target = _case()
    loss = MODELS.build(dict(type='MSELoss', use_target_weight=True))
    with pytest.raises(ValueError, match='needs target_weights'):
        loss(output, target)
    with pytest.raises(ValueError, match=r'do not broadcast to the target'):
        loss(output, target, torch.ones(1, 3))
    with pytest.raises(ValueError, match='differ in shape'):
        loss(output[:, :1], target, torch.ones(1, 2))
    with pytest.raises(ValueError, match="reduction must be one of"):
        MODELS.build(dict(type='L1Loss', reduction='max'))


def _identity_flow(loss):
    # all-zero coupling nets: s = t = 0, so the flow is the identity and
    # log phi(e) = -|e|^2 / 2 - log(2 pi)
    for p in loss.flow_model.parameters():
        nn.init.zeros_(p)
    return loss


def test_rle_hand_computed_values():
    target = torch.zeros(1, 1, 2)
    sigma = torch.zeros(1, 1, 2)                 # sigmoid -> 0.5
    laplace = _identity_flow(RLELoss())
    # e = 0: per coordinate log 0.5 + log(2 pi) + log(2 * 0.5) = log(pi)
    assert laplace(target, sigma, target).item() == pytest.approx(
        2 * math.log(math.pi), rel=1e-5)
    pred = torch.tensor([[[0.5, 0.0]]])          # e = (1, 0)
    # flow: 2 (log 0.5 + 0.5 + log 2 pi); laplace q: log 1 + |e| = 1
    assert laplace(pred, sigma, target).item() == pytest.approx(
        2 * math.log(math.pi) + 2, rel=1e-5)
    gaussian = _identity_flow(RLELoss(q_distribution='gaussian'))
    q = 2 * math.log(0.5 * math.sqrt(2 * math.pi)) + 0.5
    assert gaussian(pred, sigma, target).item() == pytest.approx(
        2 * math.log(math.pi) + 1 + q, rel=1e-5)
    no_residual = _identity_flow(RLELoss(residual=False))
    assert no_residual(pred, sigma, target).item() == pytest.approx(
        2 * (math.log(0.5) + 0.5 + math.log(2 * math.pi)), rel=1e-5)


def test_rle_weights_and_size_average():
    loss = _identity_flow(RLELoss(use_target_weight=True))
    target = torch.zeros(2, 2, 2)
    sigma = torch.zeros(2, 2, 2)
    weights = torch.tensor([[1., 0.], [0., 0.]])
    # one weighted keypoint of log(pi) per coordinate, divided by B = 2
    assert loss(target, sigma, target, weights).item() == pytest.approx(
        math.log(math.pi), rel=1e-5)
    summed = _identity_flow(RLELoss(use_target_weight=True,
                                    size_average=False))
    assert summed(target, sigma, target, weights[..., None]).item() == \
        pytest.approx(2 * math.log(math.pi), rel=1e-5)
    with pytest.raises(ValueError, match='needs target_weights'):
        loss(target, sigma, target)


def test_rle_is_finite_and_training_moves_to_target():
    torch.manual_seed(0)
    loss = RLELoss(use_target_weight=True)
    target = torch.rand(2, 3, 2)
    pred = nn.Parameter(torch.rand(2, 3, 2))
    sigma = nn.Parameter(torch.zeros(2, 3, 2))
    weights = torch.ones(2, 3)
    opt = torch.optim.SGD([pred, sigma], lr=0.01)
    first = loss(pred, sigma, target, weights)
    start_error = (pred - target).abs().mean().item()
    for _ in range(100):
        opt.zero_grad()
        value = loss(pred, sigma, target, weights)
        assert torch.isfinite(value)
        value.backward()
        opt.step()
    assert value.item() < first.item() - 1
    assert (pred - target).abs().mean().item() < start_error / 4


def test_rle_state_dict_names_match_mmpose():
    keys = list(RLELoss().state_dict())
    assert keys[:3] == ['flow_model.loc', 'flow_model.cov',
                        'flow_model.mask']
    # 6 coupling layers, 3 linear layers each for s and t
    assert len(keys) == 3 + 2 * 6 * 3 * 2
    assert 'flow_model.s.5.4.weight' in keys
    assert 'flow_model.t.5.4.bias' in keys
    assert 'flow_model.t.0.5.weight' not in keys
    flow = RealNVP()
    assert flow.mask.tolist() == [[0, 1], [1, 0]] * 3
    assert flow.s[0][4].weight.shape == (2, 64)
    assert isinstance(flow.s[0][5], nn.Tanh) and len(flow.t[0]) == 5


def test_realnvp_log_prob_of_identity_flow():
    flow = RealNVP()
    for p in flow.parameters():
        nn.init.zeros_(p)
    points = torch.tensor([[0., 0.], [1., 2.]])
    expected = [-math.log(2 * math.pi), -2.5 - math.log(2 * math.pi)]
    assert flow.log_prob(points).tolist() == pytest.approx(expected)
    with pytest.raises(ValueError, match=r'\(M, 2\)'):
        flow.log_prob(torch.zeros(3))


def test_rle_errors():
    with pytest.raises(ValueError, match='q_distribution must be one of'):
        RLELoss(q_distribution='cauchy')
    loss = RLELoss()
    with pytest.raises(ValueError, match=r'must all be \(B, K, 2\)'):
        loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), torch.zeros(1, 2, 3))
