"""SCTNet's alignment loss: channel-wise distillation (Shu et al., 2021)
between teacher and student feature maps."""
from typing import Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from posekit.registry import MODELS


def channel_wise_divergence(feat_t: Tensor, feat_s: Tensor,
                            tau: float = 4.0) -> Tensor:
    """KL(teacher || student) of per-channel spatial distributions.

    Each channel of ``(N, C, H, W)`` maps becomes a distribution over the
    H*W positions by a softmax at temperature ``tau``; the KL divergences
    are summed, multiplied by ``tau**2`` and divided by N*C. Computed in
    float32. Returns a scalar tensor.

    Raises:
        ValueError: the two maps differ in shape.
    """
    if feat_t.shape != feat_s.shape:
        raise ValueError(f'teacher {tuple(feat_t.shape)} and student '
                         f'{tuple(feat_s.shape)} maps differ in shape')
    n, c = feat_t.shape[:2]
    log_t = F.log_softmax(feat_t.float().reshape(n * c, -1) / tau, dim=1)
    log_s = F.log_softmax(feat_s.float().reshape(n * c, -1) / tau, dim=1)
    kl = (log_t.exp() * (log_t - log_s)).sum()
    return kl * tau**2 / (n * c)


@MODELS.register_module()
class AlignmentLoss(nn.Module):
    """Weighted sum of :func:`channel_wise_divergence` over pairs of
    teacher/student maps; a student map of another size is resized
    (bilinear) to its teacher's.

    Args:
        loss_weight: one weight per pair (SCTNet: ``[3, 15, 15, 15]`` for
            logits, fused decoder feature, stage-4 and stage-3 features),
            or one float for every pair.
        loss_name: key of the loss in the head's loss dict.
        tau: softmax temperature.

    Raises (forward):
        ValueError: teacher and student lists of different lengths, a
            number of pairs other than the number of weights, or a pair
            whose channels differ.
    """

    def __init__(self, loss_weight: Union[float, Sequence[float]] = 1.0,
                 loss_name: str = 'loss_guidance', tau: float = 4.0):
        super().__init__()
        if not isinstance(loss_weight, (int, float)):
            loss_weight = [float(w) for w in loss_weight]
        self.loss_weight = loss_weight
        self._loss_name = loss_name
        self.tau = tau

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, feats_t: Sequence[Tensor],
                feats_s: Sequence[Tensor]) -> Tensor:
        """Scalar loss for teacher maps ``feats_t`` and student maps
        ``feats_s`` (lists of ``(N, C_i, H_i, W_i)``)."""
        if len(feats_t) != len(feats_s):
            raise ValueError(f'AlignmentLoss got {len(feats_t)} teacher and '
                             f'{len(feats_s)} student maps')
        weights = self.loss_weight
        if isinstance(weights, (int, float)):
            weights = [float(weights)] * len(feats_t)
        elif len(weights) != len(feats_t):
            raise ValueError(f'AlignmentLoss has {len(weights)} loss_weight '
                             f'values for {len(feats_t)} feature pairs')
        total = feats_s[0].new_zeros((), dtype=torch.float32)
        for i, (t, s, w) in enumerate(zip(feats_t, feats_s, weights)):
            if t.shape[1] != s.shape[1]:
                raise ValueError(f'AlignmentLoss pair {i}: teacher has '
                                 f'{t.shape[1]} channels, student '
                                 f'{s.shape[1]}')
            if t.shape[2:] != s.shape[2:]:
                s = F.interpolate(s.float(), size=t.shape[2:],
                                  mode='bilinear', align_corners=False)
            total = total + w * channel_wise_divergence(t, s, self.tau)
        return total
