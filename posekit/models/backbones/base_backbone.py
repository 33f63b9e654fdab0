"""Base class of posekit backbones."""
from abc import ABCMeta, abstractmethod
from typing import Iterable, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


class BaseBackbone(BaseModule, metaclass=ABCMeta):
    """A backbone maps an image batch ``(B, C, H, W)`` to a tuple of feature
    maps. Subclasses implement :meth:`forward`.

    A subclass that sets ``self.norm_eval = True`` keeps every batch-norm
    layer in eval mode (frozen running statistics) even in training.
    """

    @abstractmethod
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Features of ``x`` as a tuple of ``(B, C_i, H_i, W_i)`` tensors."""

    @staticmethod
    def freeze(modules: Iterable[nn.Module]) -> None:
        """Put ``modules`` in eval mode and stop their gradients (for
        ``frozen_stages``)."""
        for m in modules:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> 'BaseBackbone':
        """Set training mode; batch norms stay in eval with ``norm_eval``."""
        super().train(mode)
        if mode and getattr(self, 'norm_eval', False):
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
