"""GlobalAveragePooling neck: each feature map becomes a vector."""
from typing import List, Tuple, Union

import torch.nn as nn
from torch import Tensor

from posekit.registry import MODELS

Feats = Union[Tensor, Tuple[Tensor, ...], List[Tensor]]


@MODELS.register_module()
class GlobalAveragePooling(nn.Module):
    """Average every ``(B, C, H, W)`` map over space into ``(B, C)``.

    A tensor gives a tensor, a tuple a tuple and a list a list (the
    container type is kept so heads see what they expect).

    Raises:
        TypeError: the input is not a tensor, tuple or list.
    """

    def __init__(self):
        super().__init__()
        self.gap = nn.AdaptiveAvgPool2d((1, 1))

    def init_weights(self) -> None:
        """Nothing to initialise (no parameters)."""

    def _pool(self, x: Tensor) -> Tensor:
        # flatten, not squeeze: a batch of one must keep its batch axis
        return self.gap(x).flatten(1)

    def forward(self, inputs: Feats) -> Feats:
        """Pooled ``(B, C)`` vectors in the input's container type."""
        if isinstance(inputs, Tensor):
            return self._pool(inputs)
        if isinstance(inputs, tuple):
            return tuple(self._pool(x) for x in inputs)
        if isinstance(inputs, list):
            return [self._pool(x) for x in inputs]
        raise TypeError('GlobalAveragePooling takes a tensor, tuple or list '
                        f'of (B, C, H, W) tensors, got '
                        f'{type(inputs).__name__}')
