import math

import pytest
import torch

from posekit.registry import MODELS

LOG2 = math.log(2)


def test_bce_with_logits_and_probabilities():
    logits = torch.tensor([[0.0, 0.0]])
    target = torch.tensor([[1.0, 0.0]])
    loss = MODELS.build(dict(type='BCELoss'))
    # sigmoid(0) = 0.5 -> -log 0.5 each
    assert loss(logits, target).item() == pytest.approx(LOG2)
    probs = MODELS.build(dict(type='BCELoss', use_sigmoid=True,
                              use_target_weight=True, reduction='sum',
                              loss_weight=2.))
    value = probs(torch.tensor([[0.5, 0.8]]), target,
                  torch.tensor([[1.0, 0.5]]))
    # -log 0.5 + 0.5 * -log(1 - 0.8), times 2
    assert value.item() == pytest.approx(2 * (LOG2 - 0.5 * math.log(0.2)))
    none = MODELS.build(dict(type='BCELoss', reduction='none',
                             use_target_weight=True))
    # (B,) weights apply per sample
    out = none(torch.zeros(2, 1), torch.ones(2, 1), torch.tensor([1., 0.]))
    assert out.flatten().tolist() == pytest.approx([LOG2, 0.0])


def test_bce_errors():
    loss = MODELS.build(dict(type='BCELoss', use_target_weight=True))
    with pytest.raises(ValueError, match='needs target_weights'):
        loss(torch.zeros(1, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match='differ in shape'):
        loss(torch.zeros(1, 2), torch.zeros(1, 3), torch.ones(1, 2))
    with pytest.raises(ValueError, match='reduction must be one of'):
        MODELS.build(dict(type='BCELoss', reduction='avg'))


def test_js_divergence_of_disjoint_distributions():
    pred = torch.tensor([[[[1.0, 0.0]]]])       # (1, 1, 1, 2)
    gt = torch.tensor([[[[0.0, 1.0]]]])
    loss = MODELS.build(dict(type='JSDiscretLoss'))
    # m = (0.5, 0.5): KL(p||m) = KL(g||m) = log 2, JS = log 2
    assert loss(pred, gt, torch.ones(1, 1)).item() == pytest.approx(
        LOG2, rel=1e-6)
    assert loss(pred, pred.clone(), torch.ones(1, 1)).item() == \
        pytest.approx(0.0, abs=1e-6)
    # a second sample with weight 0 adds nothing; size_average halves
    both_p, both_g = pred.repeat(2, 1, 1, 1), gt.repeat(2, 1, 1, 1)
    assert loss(both_p, both_g, torch.tensor([[1.], [0.]])).item() == \
        pytest.approx(LOG2 / 2, rel=1e-6)
    summed = MODELS.build(dict(type='JSDiscretLoss', use_target_weight=False,
                               size_average=False))
    assert summed(both_p, both_g).item() == pytest.approx(2 * LOG2)


def test_kl_discrete_hand_computed():
    pred = (torch.zeros(1, 1, 2), torch.zeros(1, 1, 4))
    gt = (torch.tensor([[[1.0, 0.0]]]), torch.tensor([[[0., 0., 1., 0.]]]))
    loss = MODELS.build(dict(type='KLDiscretLoss', use_target_weight=False))
    # uniform prediction: x: log 2 over 2 bins; y: log 4 over 4 bins
    expected = LOG2 / 2 + math.log(4) / 4
    assert loss(pred, gt).item() == pytest.approx(expected, rel=1e-6)
    # beta scales the logits: pred (1, 0) * 2 -> p = (e^2, 1) / (e^2 + 1)
    beta = MODELS.build(dict(type='KLDiscretLoss', beta=2.0,
                             use_target_weight=False))
    value = beta((torch.tensor([[[1.0, 0.0]]]), ), (gt[0], ))
    assert value.item() == pytest.approx(
        -math.log(math.e**2 / (math.e**2 + 1)) / 2, rel=1e-6)


def test_kl_discrete_label_softmax():
    loss = MODELS.build(dict(type='KLDiscretLoss', label_softmax=True,
                             label_beta=10.0, use_target_weight=False))
    gt = torch.tensor([[[1.0, 0.0]]])
    value = loss((torch.zeros(1, 1, 2), ), (gt, ))
    g = torch.tensor([math.exp(10), 1.0]) / (math.exp(10) + 1)
    expected = (g * (g.log() - math.log(0.5))).sum().item() / 2
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_kl_discrete_weights_mask_and_division_by_k():
    pred = (torch.zeros(2, 3, 2), )
    gt = (torch.tensor([1.0, 0.0]).expand(2, 3, 2).clone(), )
    weights = torch.tensor([[1.0, 0.5, 0.0], [0.0, 0.0, 2.0]])
    per_row = LOG2 / 2
    loss = MODELS.build(dict(type='KLDiscretLoss'))
    assert loss(pred, gt, weights).item() == pytest.approx(
        per_row * 3.5 / 3, rel=1e-6)
    masked = MODELS.build(dict(type='KLDiscretLoss', mask=[2],
                               mask_weight=0.5))
    # keypoint 2 (weight 2 in sample 1) halved: 1 + 0.5 + 1 = 2.5
    assert masked(pred, gt, weights).item() == pytest.approx(
        per_row * 2.5 / 3, rel=1e-6)


def test_kl_discrete_errors():
    loss = MODELS.build(dict(type='KLDiscretLoss'))
    pred = (torch.zeros(2, 3, 4), torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r'needs target_weight \(B, K\)'):
        loss(pred, pred)
    with pytest.raises(ValueError, match='same length'):
        loss(pred, pred[:1], torch.ones(2, 3))
    with pytest.raises(ValueError, match=r'\(B, K, W\) with the same'):
        loss(pred, (pred[0], torch.zeros(2, 3, 6)), torch.ones(2, 3))
    bad_mask = MODELS.build(dict(type='KLDiscretLoss', mask=[5]))
    with pytest.raises(ValueError, match=r'mask indices \[5\] are out'):
        bad_mask(pred, pred, torch.ones(2, 3))
