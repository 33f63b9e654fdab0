"""AmpOptimWrapper that also trains on CPU.

mmengine's ``AmpOptimWrapper`` refuses to start without an accelerator.
posekit registers its own ``AmpOptimWrapper`` (same name and arguments, so
``--amp`` and MMPose configs pick it up) that behaves exactly like
mmengine's when CUDA (or another accelerator) is available, and on a CPU-only
machine autocasts with ``torch.autocast('cpu')``: ``dtype='bfloat16'``
(the default there) or ``'float16'``, with ``torch.amp.GradScaler('cpu')``
for the loss scaling.
"""
from contextlib import contextmanager
from typing import Optional, Union

import torch
from mmengine.device import get_device
from mmengine.optim import AmpOptimWrapper as _MMEngineAmpOptimWrapper
from mmengine.optim import OptimWrapper
from torch import nn

from posekit.registry import OPTIM_WRAPPERS

_CPU_DTYPES = ('bfloat16', 'float16')


def _cpu_only() -> bool:
    return get_device() == 'cpu'


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(_MMEngineAmpOptimWrapper):
    """Automatic mixed precision on CUDA (mmengine's behaviour) and CPU.

    Args:
        loss_scale: ``'dynamic'``, a float (static scale) or a dict of
            ``GradScaler`` arguments.
        dtype: autocast dtype; on CPU ``'bfloat16'`` (default) or
            ``'float16'``.
        use_fsdp: use the sharded grad scaler (accelerators only).
        **kwargs: arguments of ``OptimWrapper`` (``optimizer``,
            ``clip_grad``, ``accumulative_counts``).

    Raises:
        ValueError: on CPU, a ``dtype`` other than bfloat16/float16, or
            ``use_fsdp=True``.
        TypeError: ``loss_scale`` is of an unsupported type.
    """

    def __init__(self, loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = None,
                 use_fsdp: bool = False, **kwargs):
        if not _cpu_only():
            super().__init__(loss_scale=loss_scale, dtype=dtype,
                             use_fsdp=use_fsdp, **kwargs)
            return
        OptimWrapper.__init__(self, **kwargs)
        if use_fsdp:
            raise ValueError('optim_wrapper.use_fsdp=True needs an '
                             'accelerator; this machine has only a CPU')
        name = dtype if isinstance(dtype, str) or dtype is None \
            else str(dtype).replace('torch.', '')
        name = name or 'bfloat16'
        if name not in _CPU_DTYPES:
            raise ValueError(f'optim_wrapper.dtype={dtype!r}: CPU autocast '
                             f'supports {_CPU_DTYPES}')
        self.cast_dtype = getattr(torch, name)
        self._scale_update_param: Optional[float] = None
        if loss_scale == 'dynamic':
            self.loss_scaler = torch.amp.GradScaler('cpu')
        elif isinstance(loss_scale, (int, float)) and \
                not isinstance(loss_scale, bool):
            self._scale_update_param = float(loss_scale)
            self.loss_scaler = torch.amp.GradScaler(
                'cpu', init_scale=float(loss_scale))
        elif isinstance(loss_scale, dict):
            self.loss_scaler = torch.amp.GradScaler('cpu', **loss_scale)
        else:
            raise TypeError('optim_wrapper.loss_scale must be "dynamic", a '
                            f'number or a dict, got {loss_scale!r}')

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context plus autocast in ``cast_dtype``."""
        if not _cpu_only():
            with super().optim_context(model):
                yield
            return
        with OptimWrapper.optim_context(self, model), \
                torch.autocast('cpu', dtype=self.cast_dtype):
            yield
