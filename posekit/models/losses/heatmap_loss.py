"""Heatmap regression losses: plain MSE and MSE with online hard keypoint
mining (OHKM)."""
from typing import Optional

from torch import Tensor, nn

from posekit.registry import MODELS


def _check_weights(target: Tensor, target_weights: Tensor) -> Tensor:
    """``target_weights`` ``(B, K)`` or ``(B, K, H, W)`` reshaped to
    broadcast against ``target (B, K, H, W)``."""
    nd = target_weights.ndim
    if nd not in (2, target.ndim) or \
            tuple(target_weights.shape) != tuple(target.shape[:nd]):
        raise ValueError('target_weights must be (B, K) or the shape of the '
                         f'target {tuple(target.shape)}; got '
                         f'{tuple(target_weights.shape)}')
    return target_weights.reshape(
        tuple(target_weights.shape) + (1, ) * (target.ndim - nd))


@MODELS.register_module()
class KeypointMSELoss(nn.Module):
    """Mean squared error between predicted and target heatmaps.

    The loss is ``mean over B*K*H*W of (output - target)^2 * mask`` times
    ``loss_weight``, where the mask multiplies the keypoint weights (when
    ``use_target_weight``), a given pixel mask, and (with
    ``skip_empty_channel``) 0 for target channels that are all zero. The
    mean runs over all elements, masked ones included (MMPose 1.x).

    Args:
        use_target_weight: weight each keypoint's squared error by its
            target weight.
        skip_empty_channel: ignore channels whose target is all zero.
        loss_weight: factor on the loss.
    """

    def __init__(self, use_target_weight: bool = False,
                 skip_empty_channel: bool = False, loss_weight: float = 1.):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.skip_empty_channel = skip_empty_channel
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor,
                target_weights: Optional[Tensor] = None,
                mask: Optional[Tensor] = None) -> Tensor:
        """Loss of ``output`` against ``target`` (both ``(B, K, H, W)``).

        ``target_weights`` is ``(B, K)`` (or ``(B, K, H, W)``); ``mask``
        broadcasts to the target (``(B, K|1, H, W)``).

        Raises:
            ValueError: mismatched shapes, or ``use_target_weight`` without
                ``target_weights``.
        """
        if output.shape != target.shape:
            raise ValueError(f'output {tuple(output.shape)} and target '
                             f'{tuple(target.shape)} differ in shape')
        weight = None
        if mask is not None:
            if mask.ndim != target.ndim or any(
                    m not in (1, t) for m, t in zip(mask.shape, target.shape)):
                raise ValueError(f'mask of shape {tuple(mask.shape)} does not'
                                 f' broadcast to the target '
                                 f'{tuple(target.shape)}')
            weight = mask
        if self.use_target_weight:
            if target_weights is None:
                raise ValueError('KeypointMSELoss(use_target_weight=True) '
                                 'needs target_weights')
            w = _check_weights(target, target_weights)
            weight = w if weight is None else weight * w
        if self.skip_empty_channel:
            nonempty = (target != 0).flatten(2).any(dim=2)
            w = nonempty.reshape(nonempty.shape + (1, ) *
                                 (target.ndim - 2)).to(target.dtype)
            weight = w if weight is None else weight * w
        sq = (output - target).pow(2)
        if weight is not None:
            sq = sq * weight
        return sq.mean() * self.loss_weight


@MODELS.register_module()
class KeypointOHKMMSELoss(nn.Module):
    """Heatmap MSE that keeps only the ``topk`` hardest keypoints of each
    sample (online hard keypoint mining).

    Per sample and keypoint the loss is the mean over H*W of
    ``(w*output - w*target)^2`` (w the target weight when
    ``use_target_weight``, else 1); the result is the mean of the
    ``topk`` largest per-keypoint losses, averaged over the batch, times
    ``loss_weight``.

    Raises:
        ValueError: ``topk`` < 1 (at construction) or more than the number
            of keypoints (at call).
    """

    def __init__(self, use_target_weight: bool = False, topk: int = 8,
                 loss_weight: float = 1.):
        super().__init__()
        if not isinstance(topk, int) or topk < 1:
            raise ValueError(f'topk must be a positive int, got {topk!r}')
        self.use_target_weight = use_target_weight
        self.topk = topk
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor,
                target_weights: Optional[Tensor] = None) -> Tensor:
        """Loss of ``output``/``target`` ``(B, K, H, W)`` with
        ``target_weights (B, K)``."""
        if output.shape != target.shape or output.ndim != 4:
            raise ValueError('output and target must both be (B, K, H, W); '
                             f'got {tuple(output.shape)} and '
                             f'{tuple(target.shape)}')
        num_keypoints = output.shape[1]
        if self.topk > num_keypoints:
            raise ValueError(f'topk ({self.topk}) is larger than the number '
                             f'of keypoints ({num_keypoints})')
        if self.use_target_weight:
            if target_weights is None:
                raise ValueError('KeypointOHKMMSELoss(use_target_weight=True)'
                                 ' needs target_weights')
            w = _check_weights(target, target_weights)
            output, target = output * w, target * w
        per_kpt = (output - target).pow(2).flatten(2).mean(dim=2)
        hardest = per_kpt.topk(self.topk, dim=1).values
        return hardest.mean(dim=1).mean() * self.loss_weight
