import pytest
import torch

from posekit.models.losses import BoneLoss, MPJPELoss


def test_mpjpe_of_known_offset():
    target = torch.randn(4, 5, 3)
    # every joint moved by the 3-4-5 offset: distance 5 everywhere
    output = target + torch.tensor([3., 4., 0.])
    assert MPJPELoss()(output, target).item() == pytest.approx(5.0)
    assert MPJPELoss(loss_weight=0.5)(output, target).item() == \
        pytest.approx(2.5)


def test_mpjpe_target_weight_zeroes_joints():
    target = torch.zeros(2, 4, 3)
    output = target + torch.tensor([0., 0., 2.])
    weight = torch.tensor([[1., 1., 0., 0.], [1., 0., 0., 0.]])[..., None]
    loss = MPJPELoss(use_target_weight=True)(output, target, weight)
    # three weighted joints of distance 2 over eight joints
    assert loss.item() == pytest.approx(3 * 2 / 8)


def test_mpjpe_errors():
    with pytest.raises(ValueError, match='target_weight'):
        MPJPELoss(use_target_weight=True)(torch.zeros(1, 2, 3),
                                          torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match='same shape'):
        MPJPELoss()(torch.zeros(1, 2, 3), torch.zeros(1, 3, 3))


def test_bone_loss_zero_for_equal_bone_lengths():
    # chain 0 -> 1 -> 2; the output is a rotated/translated copy of the
    # target, so every bone keeps its length
    target = torch.tensor([[[0., 0., 0.], [1., 0., 0.], [1., 2., 0.]]])
    rot = torch.tensor([[0., -1., 0.], [1., 0., 0.], [0., 0., 1.]])
    output = target @ rot.T + 5.
    loss = BoneLoss(joint_parents=[0, 0, 1])(output, target)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)


def test_bone_loss_value():
    target = torch.tensor([[[0., 0., 0.], [1., 0., 0.], [1., 2., 0.]]])
    output = target.clone()
    output[0, 2] = torch.tensor([1., 5., 0.])  # bone 1->2: 5 instead of 2
    loss = BoneLoss(joint_parents=[0, 0, 1], loss_weight=2.)(output, target)
    # mean over the two bones of |1-1| and |5-2|, times 2
    assert loss.item() == pytest.approx(3.0)
    w = torch.tensor([[1., 0.]])
    loss = BoneLoss([0, 0, 1], use_target_weight=True)(output, target, w)
    assert loss.item() == pytest.approx(0.0)


def test_bone_loss_bad_parents():
    with pytest.raises(ValueError, match='joint_parents'):
        BoneLoss(joint_parents=[0, 3])
    with pytest.raises(ValueError, match=r'\(N, 3, D\)'):
        BoneLoss([0, 0, 1])(torch.zeros(1, 4, 3), torch.zeros(1, 4, 3))
