import math

import pytest
import torch

from posekit.models.losses.alignment_loss import channel_wise_divergence
from posekit.registry import MODELS


def two_position_maps():
    # teacher: softmax([0, 4 ln 3] / 4) = [1/4, 3/4]; student: uniform
    t = torch.tensor([0., 4 * math.log(3.)]).reshape(1, 1, 1, 2)
    s = torch.zeros(1, 1, 1, 2)
    kl = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    return t, s, kl * 16  # times tau**2


def test_divergence_of_known_distributions():
    t, s, expected = two_position_maps()
    assert channel_wise_divergence(t, s).item() == pytest.approx(expected,
                                                                 rel=1e-5)
    assert channel_wise_divergence(t, t).item() == pytest.approx(0, abs=1e-6)


def test_divergence_averages_over_batch_and_channels():
    t, s, expected = two_position_maps()
    # 2 samples x 3 channels: one channel differs, five are equal
    tt = torch.zeros(2, 3, 1, 2)
    ss = torch.zeros(2, 3, 1, 2)
    tt[1, 2] = t[0, 0]
    ss[1, 2] = s[0, 0]
    assert channel_wise_divergence(tt, ss).item() == pytest.approx(
        expected / 6, rel=1e-5)


def test_weighted_sum_over_pairs_and_student_resize():
    t, s, expected = two_position_maps()
    loss = MODELS.build(dict(type='AlignmentLoss', loss_weight=[3, 15]))
    assert loss.loss_name == 'loss_guidance'
    # pair 2: a constant 4x4 student upsampled to the teacher's 1x2 grid
    # stays uniform, so its divergence equals pair 1's
    value = loss([t, t], [s, torch.full((1, 1, 4, 4), 2.0)])
    assert value.item() == pytest.approx(18 * expected, rel=1e-5)
    assert value.dtype == torch.float32


def test_half_precision_inputs_are_computed_in_float32():
    t, s, expected = two_position_maps()
    loss = MODELS.build(dict(type='AlignmentLoss', loss_weight=1.0))
    value = loss([t.half()], [s.half()])
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(expected, rel=1e-3)


def test_mismatches_are_named():
    loss = MODELS.build(dict(type='AlignmentLoss',
                             loss_weight=[3, 15, 15, 15]))
    t = torch.zeros(1, 2, 2, 2)
    with pytest.raises(ValueError, match='4 loss_weight values for 1'):
        loss([t], [t])
    with pytest.raises(ValueError, match='2 teacher and 1 student'):
        loss([t, t], [t])
    one = MODELS.build(dict(type='AlignmentLoss'))
    with pytest.raises(ValueError, match='pair 0: teacher has 2 channels, '
                       'student 3'):
        one([t], [torch.zeros(1, 3, 2, 2)])
