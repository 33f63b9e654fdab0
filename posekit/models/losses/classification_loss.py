"""Classification-style losses: binary cross entropy (e.g. visibility),
the discrete JS divergence of DSNT heatmaps and the discrete KL divergence
of SimCC vectors."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from posekit.registry import MODELS
from .regression_loss import expand_target_weights

_REDUCTIONS = ('mean', 'sum', 'none')
# Keeps log(q) finite where the mixture or prediction is exactly 0.
_LOG_EPS = 1e-24


@MODELS.register_module()
class BCELoss(nn.Module):
    """Binary cross entropy per element, optionally weighted, reduced.

    Args:
        use_target_weight: multiply each element's loss by its weight.
        loss_weight: factor on the loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        use_sigmoid: the outputs already are probabilities (a sigmoid was
            applied in the model); otherwise they are logits.

    Raises:
        ValueError: an unknown ``reduction``.
    """

    def __init__(self, use_target_weight: bool = False,
                 loss_weight: float = 1., reduction: str = 'mean',
                 use_sigmoid: bool = False) -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'BCELoss: reduction must be one of '
                             f'{_REDUCTIONS}, got {reduction!r}')
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.use_sigmoid = use_sigmoid

    def forward(self, output: Tensor, target: Tensor,
                target_weight: Optional[Tensor] = None) -> Tensor:
        """Loss of ``output`` against ``target`` in [0, 1] (both ``(B,
        K)``), with ``target_weight`` ``(B, K)`` or ``(B,)``.

        Raises:
            ValueError: mismatched shapes, or ``use_target_weight`` without
                usable weights.
        """
        if output.shape != target.shape:
            raise ValueError(f'BCELoss: output {tuple(output.shape)} and '
                             f'target {tuple(target.shape)} differ in shape')
        if self.use_sigmoid:
            loss = F.binary_cross_entropy(output, target, reduction='none')
        else:
            loss = F.binary_cross_entropy_with_logits(output, target,
                                                      reduction='none')
        if self.use_target_weight:
            loss = loss * expand_target_weights(loss, target_weight,
                                                'BCELoss')
        if self.reduction == 'sum':
            loss = loss.sum()
        elif self.reduction == 'mean':
            loss = loss.mean()
        return loss * self.loss_weight


def _kl_terms(p: Tensor, q: Tensor) -> Tensor:
    """Elementwise ``p log(p / (q + 1e-24))`` (0 where ``p`` is 0)."""
    return torch.xlogy(p, p) - p * (q + _LOG_EPS).log()


@MODELS.register_module()
class JSDiscretLoss(nn.Module):
    """Jensen-Shannon divergence between predicted and target heatmaps
    taken as discrete distributions (DSNT, Nibali et al. 2018).

    Per element ``JS = (KL(p || m) + KL(g || m)) / 2`` with ``m = (p + g) /
    2`` (``p``, ``g`` scaled by the target weight when
    ``use_target_weight``); the loss is the sum over all elements, divided
    by B when ``size_average``.

    Args:
        use_target_weight: scale both heatmaps by the keypoint weights.
        size_average: divide by the batch size.
    """

    def __init__(self, use_target_weight: bool = True,
                 size_average: bool = True) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight
        self.size_average = size_average

    def js(self, pred_hm: Tensor, gt_hm: Tensor) -> Tensor:
        """Elementwise JS divergence terms of two heatmaps."""
        mean = 0.5 * (pred_hm + gt_hm)
        return 0.5 * (_kl_terms(pred_hm, mean) + _kl_terms(gt_hm, mean))

    def forward(self, pred_hm: Tensor, gt_hm: Tensor,
                target_weight: Optional[Tensor] = None) -> Tensor:
        """Loss of ``pred_hm`` against ``gt_hm`` (both ``(B, K, H, W)``,
        each channel summing to 1), with ``target_weight`` ``(B, K)``.

        Raises:
            ValueError: mismatched shapes, or ``use_target_weight`` without
                usable weights.
        """
        if pred_hm.shape != gt_hm.shape:
            raise ValueError(f'JSDiscretLoss: pred_hm {tuple(pred_hm.shape)}'
                             f' and gt_hm {tuple(gt_hm.shape)} differ in '
                             'shape')
        if self.use_target_weight:
            weights = expand_target_weights(gt_hm, target_weight,
                                            'JSDiscretLoss')
            pred_hm, gt_hm = pred_hm * weights, gt_hm * weights
        loss = self.js(pred_hm, gt_hm)
        if self.size_average:
            loss = loss / len(gt_hm)
        return loss.sum()


@MODELS.register_module()
class KLDiscretLoss(nn.Module):
    """KL divergence between SimCC labels and the softmax of the predicted
    vectors (SimCC, Li et al. 2022).

    For each axis, keypoint and instance: ``mean over bins of g (log g -
    log_softmax(beta * pred))``, where ``g`` is the label (or
    ``softmax(label_beta * label)`` with ``label_softmax``). These are
    multiplied by the keypoint weights (``use_target_weight``) and by
    ``mask_weight`` for the keypoints in ``mask``, summed over instances,
    keypoints and both axes, and divided by K.

    Args:
        beta: temperature factor on the predictions. Defaults to 1.0.
        label_softmax: apply a softmax to the labels. Defaults to False.
        label_beta: temperature factor of that softmax. Defaults to 10.0.
        use_target_weight: weight by the keypoint weights. Defaults to True.
        mask: indices of keypoints whose loss is scaled by ``mask_weight``.
        mask_weight: that factor. Defaults to 1.0.
    """

    def __init__(self, beta: float = 1.0, label_softmax: bool = False,
                 label_beta: float = 10.0, use_target_weight: bool = True,
                 mask: Optional[Sequence[int]] = None,
                 mask_weight: float = 1.0) -> None:
        super().__init__()
        self.beta = beta
        self.label_softmax = label_softmax
        self.label_beta = label_beta
        self.use_target_weight = use_target_weight
        self.mask = None if mask is None else list(mask)
        self.mask_weight = mask_weight

    def criterion(self, dec_outs: Tensor, labels: Tensor) -> Tensor:
        """Per-row KL ``(M,)`` of predicted rows ``(M, W)`` against label
        rows ``(M, W)``, averaged over the bins."""
        log_pt = F.log_softmax(dec_outs * self.beta, dim=1)
        if self.label_softmax:
            labels = F.softmax(labels * self.label_beta, dim=1)
        return F.kl_div(log_pt, labels, reduction='none').mean(dim=1)

    def _keypoint_factors(self, num_keypoints: int, like: Tensor) -> Tensor:
        """``(K,)`` ones, ``mask_weight`` at the masked keypoints."""
        factors = like.new_ones(num_keypoints)
        if self.mask is not None:
            bad = [i for i in self.mask
                   if not -num_keypoints <= i < num_keypoints]
            if bad:
                raise ValueError(f'KLDiscretLoss: mask indices {bad} are out'
                                 f' of range for {num_keypoints} keypoints')
            factors[self.mask] = self.mask_weight
        return factors

    def forward(self, pred_simcc: Sequence[Tensor],
                gt_simcc: Sequence[Tensor],
                target_weight: Optional[Tensor] = None) -> Tensor:
        """Loss of predicted vectors ``(pred_x (B, K, Wx), pred_y (B, K,
        Wy))`` against the labels ``(gt_x, gt_y)`` of the same shapes, with
        ``target_weight`` ``(B, K)``.

        Raises:
            ValueError: differing numbers of axes or shapes, or
                ``use_target_weight`` without ``(B, K)`` weights.
        """
        if len(pred_simcc) != len(gt_simcc) or not len(pred_simcc):
            raise ValueError('KLDiscretLoss: pred_simcc and gt_simcc must '
                             'be sequences of the same length (x, y); got '
                             f'{len(pred_simcc)} and {len(gt_simcc)}')
        for pred, gt in zip(pred_simcc, gt_simcc):
            if pred.ndim != 3 or pred.shape != gt.shape or \
                    pred.shape[:2] != pred_simcc[0].shape[:2]:
                raise ValueError(
                    'KLDiscretLoss: each prediction and its label must be '
                    '(B, K, W) with the same (B, K); got '
                    f'{tuple(pred.shape)} and {tuple(gt.shape)}')
        num, num_keypoints = pred_simcc[0].shape[:2]
        weight = self._keypoint_factors(num_keypoints, pred_simcc[0])
        if self.use_target_weight:
            if target_weight is None or target_weight.numel() != \
                    num * num_keypoints:
                got = None if target_weight is None else tuple(
                    target_weight.shape)
                raise ValueError('KLDiscretLoss(use_target_weight=True) '
                                 f'needs target_weight (B, K) = '
                                 f'{(num, num_keypoints)}, got {got}')
            weight = target_weight.reshape(num, num_keypoints) * weight
        loss = pred_simcc[0].new_zeros(())
        for pred, gt in zip(pred_simcc, gt_simcc):
            rows = self.criterion(pred.reshape(-1, pred.shape[-1]),
                                  gt.reshape(-1, gt.shape[-1]))
            loss = loss + (rows.reshape(num, num_keypoints) * weight).sum()
        return loss / num_keypoints


__all__ = ['BCELoss', 'JSDiscretLoss', 'KLDiscretLoss']
