"""Coordinate regression losses: RLE, smooth L1, L1 and MSE on keypoint
coordinates ``(B, K, D)``."""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from posekit.registry import MODELS
from .realnvp import RealNVP

_REDUCTIONS = ('mean', 'sum', 'none')
_Q_DISTRIBUTIONS = ('laplace', 'gaussian')
# Keeps the division by sigma finite when sigmoid(sigma) underflows to 0.
_SIGMA_EPS = 1e-9


def expand_target_weights(target: Tensor, target_weights: Optional[Tensor],
                          loss: str) -> Tensor:
    """``target_weights`` (e.g. ``(B, K)``) with trailing axes of size 1
    added so it broadcasts against ``target`` (e.g. ``(B, K, D)``).

    Raises:
        ValueError: no weights, or weights that do not broadcast (each
            axis must equal the target's or be 1).
    """
    if target_weights is None:
        raise ValueError(f'{loss}(use_target_weight=True) needs '
                         'target_weights (e.g. the keypoint_weights (B, K))')
    extra = target.ndim - target_weights.ndim
    shape = tuple(target_weights.shape) + (1, ) * max(extra, 0)
    if extra < 0 or any(w not in (1, t)
                        for w, t in zip(shape, target.shape)):
        raise ValueError(f'{loss}: target_weights of shape '
                         f'{tuple(target_weights.shape)} do not broadcast to '
                         f'the target {tuple(target.shape)}; use (B, K) or '
                         'a shape whose leading axes match the target')
    return target_weights.reshape(shape)


def _check_same_shape(output: Tensor, target: Tensor, loss: str) -> None:
    if output.shape != target.shape:
        raise ValueError(f'{loss}: output {tuple(output.shape)} and target '
                         f'{tuple(target.shape)} differ in shape')


class _WeightedCoordinateLoss(nn.Module):
    """``criterion(output * w, target * w) * loss_weight``; ``w`` is the
    target weight (when ``use_target_weight``) broadcast to the target."""

    def __init__(self, use_target_weight: bool = False,
                 loss_weight: float = 1.) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def criterion(self, output: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, output: Tensor, target: Tensor,
                target_weights: Optional[Tensor] = None) -> Tensor:
        """Loss of ``output`` against ``target`` (both ``(B, K, D)``), with
        ``target_weights`` ``(B, K)`` (or any shape broadcasting to the
        target after adding trailing axes).

        Raises:
            ValueError: mismatched shapes, or ``use_target_weight`` without
                usable ``target_weights``.
        """
        name = type(self).__name__
        _check_same_shape(output, target, name)
        if self.use_target_weight:
            weights = expand_target_weights(target, target_weights, name)
            output, target = output * weights, target * weights
        return self.criterion(output, target) * self.loss_weight


@MODELS.register_module()
class SmoothL1Loss(_WeightedCoordinateLoss):
    """Smooth L1 (Huber with beta 1) over all coordinates, averaged:
    ``0.5 d^2`` for ``|d| < 1``, else ``|d| - 0.5``.

    Args:
        use_target_weight: multiply output and target by the weights.
        loss_weight: factor on the loss.
    """

    def criterion(self, output: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(output, target)


@MODELS.register_module()
class MSELoss(_WeightedCoordinateLoss):
    """Mean squared error over all coordinates.

    Args:
        use_target_weight: multiply output and target by the weights.
        loss_weight: factor on the loss.
    """

    def criterion(self, output: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(output, target)


@MODELS.register_module()
class L1Loss(_WeightedCoordinateLoss):
    """Absolute error over all coordinates.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (elementwise).
        use_target_weight: multiply output and target by the weights.
        loss_weight: factor on the loss.

    Raises:
        ValueError: an unknown ``reduction``.
    """

    def __init__(self, reduction: str = 'mean',
                 use_target_weight: bool = False,
                 loss_weight: float = 1.) -> None:
        super().__init__(use_target_weight, loss_weight)
        if reduction not in _REDUCTIONS:
            raise ValueError(f'L1Loss: reduction must be one of '
                             f'{_REDUCTIONS}, got {reduction!r}')
        self.reduction = reduction

    def criterion(self, output: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(output, target, reduction=self.reduction)


@MODELS.register_module()
class RLELoss(nn.Module):
    """Residual log-likelihood estimation loss (Li et al., "Human Pose
    Regression with Residual Log-likelihood Estimation", ICCV 2021).

    With ``s = sigmoid(sigma)`` and the normalised error ``e = (pred -
    target) / (s + 1e-9)`` (per coordinate), the negative log-likelihood
    per coordinate is ``log s - log phi(e)``, where ``phi`` is the density
    of the learned :class:`RealNVP` flow at the 2-D point ``e`` (the same
    value for x and y). With ``residual`` the flow models the deviation
    from a fixed density ``q`` and its negative log is added: Laplace
    ``log(2 s) + |e|``, Gaussian ``log(s sqrt(2 pi)) + e^2 / 2``. The loss
    is the sum over all entries (times the target weights), divided by B
    when ``size_average``.

    Args:
        use_target_weight: multiply each entry by its target weight.
        size_average: divide the sum by the batch size.
        residual: add the ``q`` term (residual log-likelihood).
        q_distribution: ``'laplace'`` or ``'gaussian'``.

    Raises:
        ValueError: an unknown ``q_distribution``.
    """

    def __init__(self, use_target_weight: bool = False,
                 size_average: bool = True, residual: bool = True,
                 q_distribution: str = 'laplace') -> None:
        super().__init__()
        if q_distribution not in _Q_DISTRIBUTIONS:
            raise ValueError(f'RLELoss: q_distribution must be one of '
                             f'{_Q_DISTRIBUTIONS}, got {q_distribution!r}')
        self.use_target_weight = use_target_weight
        self.size_average = size_average
        self.residual = residual
        self.q_distribution = q_distribution
        self.flow_model = RealNVP()

    def forward(self, pred: Tensor, sigma: Tensor, target: Tensor,
                target_weight: Optional[Tensor] = None) -> Tensor:
        """Loss of predicted coordinates ``pred`` and raw sigmas ``sigma``
        (before the sigmoid) against ``target``, all ``(B, K, 2)`` (in the
        normalised space of :class:`RegressionLabel`); ``target_weight``
        ``(B, K)``, ``(B, K, 1)`` or ``(B, K, 2)``.

        Raises:
            ValueError: shapes that are not ``(B, K, 2)`` alike, or
                ``use_target_weight`` without usable weights.
        """
        if pred.ndim != 3 or pred.shape[-1] != 2 or any(
                t.shape != pred.shape for t in (sigma, target)):
            raise ValueError('RLELoss: pred, sigma and target must all be '
                             f'(B, K, 2); got {tuple(pred.shape)}, '
                             f'{tuple(sigma.shape)}, {tuple(target.shape)}')
        scale = sigma.sigmoid()
        error = (pred - target) / (scale + _SIGMA_EPS)
        log_phi = self.flow_model.log_prob(error.reshape(-1, 2)).reshape(
            pred.shape[:2] + (1, ))
        loss = torch.log(scale) - log_phi
        if self.residual:
            if self.q_distribution == 'laplace':
                loss = loss + torch.log(scale * 2) + error.abs()
            else:
                loss = loss + torch.log(scale * math.sqrt(2 * math.pi)) + \
                    0.5 * error.pow(2)
        if self.use_target_weight:
            loss = loss * expand_target_weights(loss, target_weight,
                                                'RLELoss')
        if self.size_average:
            loss = loss / len(loss)
        return loss.sum()


__all__ = ['RLELoss', 'SmoothL1Loss', 'MSELoss', 'L1Loss',
           'expand_target_weights']
