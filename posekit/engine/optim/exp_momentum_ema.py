"""ExpMomentumEMA: an exponential moving average of the weights whose
weight on the newest parameters starts near 1 and decays to ``momentum``.

Used through mmengine's ``EMAHook``::

    custom_hooks = [dict(type='EMAHook', ema_type='ExpMomentumEMA',
                         momentum=0.0002, update_buffers=True, priority=49)]

At update ``steps`` (0-based count of earlier updates) the averaged weights
become ``(1 - m) * averaged + m * current`` with
``m = momentum + (1 - momentum) * exp(-(steps + 1) / gamma)``: early in
training the average follows the fast-moving weights closely, later it
averages over roughly ``1 / momentum`` iterations.
"""
import math
from typing import Optional

import torch
from mmengine.model import ExponentialMovingAverage
from torch import Tensor, nn

from posekit.registry import MODELS


@MODELS.register_module()
class ExpMomentumEMA(ExponentialMovingAverage):
    """EMA with an exponentially annealed momentum (MMPose/RTMPose name).

    Args:
        model: the model to average (a frozen copy is kept).
        momentum: final weight of the current parameters, in (0, 1).
        gamma: decay constant of the extra weight, in updates; > 0.
        interval: update every ``interval`` iterations.
        device: where the averaged copy lives (default: the model's).
        update_buffers: average floating buffers (BN statistics) too;
            otherwise they are copied from the model.

    Raises:
        ValueError: ``gamma`` is not positive or ``momentum`` is outside
            (0, 1).
    """

    def __init__(self, model: nn.Module, momentum: float = 0.0002,
                 gamma: int = 2000, interval: int = 1,
                 device: Optional[torch.device] = None,
                 update_buffers: bool = False) -> None:
        if not 0.0 < momentum < 1.0:
            raise ValueError(f'ExpMomentumEMA momentum must be in (0, 1), '
                             f'got {momentum}')
        if gamma <= 0:
            raise ValueError(f'ExpMomentumEMA gamma must be > 0, got {gamma}')
        super().__init__(model, momentum=momentum, interval=interval,
                         device=device, update_buffers=update_buffers)
        self.gamma = gamma

    def momentum_at(self, steps: int) -> float:
        """The weight of the current parameters at update ``steps``."""
        extra = math.exp(-float(steps + 1) / self.gamma)
        return self.momentum + (1.0 - self.momentum) * extra

    def avg_func(self, averaged_param: Tensor, source_param: Tensor,
                 steps: int) -> None:
        """In place: ``averaged += m * (source - averaged)``."""
        averaged_param.lerp_(source_param, self.momentum_at(int(steps)))
