"""Losses on 3D joint positions for pose lifting: MPJPE and bone length."""
from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from posekit.registry import MODELS


def _check_same_shape(name: str, output: Tensor, target: Tensor) -> None:
    if output.shape != target.shape:
        raise ValueError(f'{name}: output {tuple(output.shape)} and target '
                         f'{tuple(target.shape)} must have the same shape '
                         '(N, K, D)')


@MODELS.register_module()
class MPJPELoss(nn.Module):
    """Mean per-joint position error: the mean Euclidean distance between
    ``output`` and ``target`` ``(N, K, D)`` (any unit; the loss has the
    unit of the inputs).

    With ``use_target_weight`` the difference is multiplied by
    ``target_weight`` (``(N, K, 1)`` or ``(N, K, D)``) before the norm, so
    a joint of weight 0 adds 0 (the mean still counts it, as in MMPose).

    Args:
        use_target_weight: weight joints by ``target_weight``.
        loss_weight: factor on the loss.
    """

    def __init__(self, use_target_weight: bool = False,
                 loss_weight: float = 1.):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor,
                target_weight: Optional[Tensor] = None) -> Tensor:
        """Scalar loss.

        Raises:
            ValueError: shapes differ, or ``use_target_weight`` without a
                ``target_weight``.
        """
        _check_same_shape('MPJPELoss', output, target)
        diff = output - target
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError('MPJPELoss(use_target_weight=True) needs '
                                 'target_weight (N, K, 1)')
            diff = diff * target_weight
        return diff.norm(dim=-1).mean() * self.loss_weight


@MODELS.register_module()
class BoneLoss(nn.Module):
    """Bone-length loss: the mean absolute difference between the
    batch-mean length of each bone in ``output`` and in ``target`` ``(N, K,
    D)``. A bone joins joint ``i`` to ``joint_parents[i]``; the root (its
    own parent) has no bone.

    With ``use_target_weight`` each bone length is multiplied by
    ``target_weight`` ``(N, num_bones)`` before the batch mean.

    Args:
        joint_parents: parent index of each of the K joints.
        use_target_weight: weight bones by ``target_weight``.
        loss_weight: factor on the loss.

    Raises:
        ValueError: a parent index is outside ``[0, K)``.
    """

    def __init__(self, joint_parents: Sequence[int],
                 use_target_weight: bool = False, loss_weight: float = 1.):
        super().__init__()
        parents = torch.as_tensor(list(joint_parents), dtype=torch.long)
        num = len(parents)
        if parents.ndim != 1 or num == 0 or \
                bool(((parents < 0) | (parents >= num)).any()):
            raise ValueError('BoneLoss: joint_parents must list, for each '
                             'of the K joints, a parent index in [0, K), got '
                             f'{list(joint_parents)}')
        self.joint_parents = list(joint_parents)
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight
        self.register_buffer('_parents', parents, persistent=False)
        self.register_buffer(
            '_non_root', torch.nonzero(parents != torch.arange(num))[:, 0],
            persistent=False)

    def _bone_lengths(self, joints: Tensor) -> Tensor:
        bones = joints - joints[:, self._parents]
        return bones.norm(dim=-1)[:, self._non_root]

    def forward(self, output: Tensor, target: Tensor,
                target_weight: Optional[Tensor] = None) -> Tensor:
        """Scalar loss.

        Raises:
            ValueError: shapes differ or K differs from
                ``len(joint_parents)``, or ``use_target_weight`` without a
                ``target_weight``.
        """
        _check_same_shape('BoneLoss', output, target)
        if output.ndim != 3 or output.shape[1] != len(self.joint_parents):
            raise ValueError(
                f'BoneLoss: expects (N, {len(self.joint_parents)}, D) '
                f'joints (K from joint_parents), got {tuple(output.shape)}')
        out_len = self._bone_lengths(output)
        tgt_len = self._bone_lengths(target)
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError('BoneLoss(use_target_weight=True) needs '
                                 'target_weight (N, num_bones)')
            out_len = out_len * target_weight
            tgt_len = tgt_len * target_weight
        diff = out_len.mean(dim=0) - tgt_len.mean(dim=0)
        return diff.abs().mean() * self.loss_weight
