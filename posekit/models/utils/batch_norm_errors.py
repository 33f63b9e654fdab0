"""Explain torch's "Expected more than 1 value per channel when training":
a batch-norm layer in training mode got one value per channel (a batch of
one sample at a 1x1 feature map, or a (1, C) vector), so it cannot compute
batch statistics. The explanation names the layer and the config keys that
fix it."""
from typing import Optional, Tuple

from torch import Tensor, nn
from torch.nn.modules.batchnorm import _NormBase

__all__ = ['BatchTooSmallError', 'explain_batch_norm_error']

TORCH_MESSAGE = 'Expected more than 1 value per channel'


class BatchTooSmallError(ValueError):
    """A normalisation layer needs more values per channel than the batch
    gives. ``layer`` is its module path inside the model (``''`` when it
    could not be found)."""

    def __init__(self, message: str, layer: str = ''):
        super().__init__(message)
        self.layer = layer


def _failing_norm(err: BaseException) -> Tuple[Optional[nn.Module],
                                               Optional[Tensor]]:
    """The innermost norm module on ``err``'s traceback and its input."""
    module, value = None, None
    tb = err.__traceback__
    while tb is not None:
        local = tb.tb_frame.f_locals
        if isinstance(local.get('self'), _NormBase):
            module, value = local['self'], local.get('input')
        tb = tb.tb_next
    return module, value


def explain_batch_norm_error(err: BaseException, model: nn.Module,
                             prefix: str = 'model'
                             ) -> Optional[BatchTooSmallError]:
    """A :class:`BatchTooSmallError` for torch's one-value-per-channel
    error raised inside ``model`` (None for any other error). The message
    names the layer (``backbone.layer4.0.bn1``), its input shape and the
    settings that fix it: ``train_dataloader.batch_size`` >= 2,
    ``train_dataloader.drop_last=True``, or frozen statistics."""
    if not isinstance(err, ValueError) or TORCH_MESSAGE not in str(err):
        return None
    module, value = _failing_norm(err)
    name = ''
    if module is not None:
        name = next((n for n, m in model.named_modules() if m is module), '')
    layer = (f'{prefix}.{name}' if name else prefix) + \
        (f' ({type(module).__name__})' if module is not None else '')
    shape = tuple(value.shape) if isinstance(value, Tensor) else None
    batch = shape[0] if shape else 1
    got = f'an input of shape {shape}' if shape else 'its input'
    return BatchTooSmallError(
        f'batch-norm layer {layer} got {got} in training: one value per '
        f'channel (a batch of {batch} sample(s)), from which it cannot '
        'compute batch statistics. Set train_dataloader.batch_size to 2 or '
        'more (it counts samples per GPU); if only the last, partial batch '
        'of an epoch has one sample, set train_dataloader.drop_last=True; '
        'or freeze the statistics of this layer (norm_eval=True in its '
        f'module config). torch: {err}', layer=name)
