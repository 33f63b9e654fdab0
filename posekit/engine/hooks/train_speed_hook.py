"""Opt-in training-step speed options for GPUs: ``channels_last`` and
``compile``.

``channels_last`` stores 4-D tensors as NHWC. On recent NVIDIA GPUs (tensor
cores, cuDNN) convolutions in that layout skip the transposes NCHW needs,
which often speeds up the training step of a convolutional model,
especially under AMP. On CPUs it changes the layout and usually not much
else, which is why it is off unless a config asks for it::

    train_speed = dict(channels_last=True, compile=True)   # config key, or
    custom_hooks = [dict(type='TrainSpeedHook', channels_last=True)]

``compile`` compiles the network modules (``backbone``, ``neck``,
``head``) in place with ``nn.Module.compile``. mmengine's own top-level
``compile=True`` wraps the whole ``train_step``, data preprocessor
included; torch's tracer then fails on the deep copies of the data
samples' metainfo (numpy arrays), so posekit compiles the tensor part only.

The other speed options need no hook:
``env_cfg=dict(cudnn_benchmark=True)`` and
``optim_wrapper=dict(type='AmpOptimWrapper', dtype='bfloat16')``
(see ``docs/benchmarks.md``).
"""
from typing import Any, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.hooks import Hook

from posekit.engine.unwrap import unwrap_model
from posekit.registry import HOOKS

TRAIN_SPEED_KEYS = ('channels_last', 'compile')
COMPILED_PARTS = ('backbone', 'neck', 'head')


def _to_channels_last(value: Any) -> Any:
    """4-D tensors of ``value`` (a tensor, or a list/tuple/dict holding
    them) in ``torch.channels_last``; everything else unchanged."""
    if isinstance(value, torch.Tensor):
        return value.contiguous(memory_format=torch.channels_last) \
            if value.dim() == 4 else value
    if isinstance(value, (list, tuple)):
        return type(value)(_to_channels_last(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_channels_last(v) for k, v in value.items()}
    return value


def _inputs_to_channels_last(module: nn.Module, args: tuple,
                             output: Any) -> Any:
    """Forward hook for a data preprocessor: its ``inputs`` (a ``(B, C, H,
    W)`` batch, or a list of them) come out as channels_last."""
    if isinstance(output, dict) and 'inputs' in output:
        output = dict(output)
        output['inputs'] = _to_channels_last(output['inputs'])
    return output


def apply_channels_last(model: nn.Module):
    """Convert ``model`` (a model wrapper's inner model) to
    ``torch.channels_last`` in place and make its ``data_preprocessor``
    (if it has one) return channels_last input batches.

    Parameters keep their identity, so an optimizer built before stays
    valid. Returns the forward-hook handle of the preprocessor (``None``
    without a preprocessor); ``handle.remove()`` undoes the input part.
    """
    inner = unwrap_model(model)
    inner.to(memory_format=torch.channels_last)
    preprocessor = getattr(inner, 'data_preprocessor', None)
    if isinstance(preprocessor, nn.Module):
        return preprocessor.register_forward_hook(_inputs_to_channels_last)
    return None


def compile_network(model: nn.Module, options: Optional[dict] = None
                    ) -> List[str]:
    """Compile ``model``'s ``backbone``, ``neck`` and ``head`` (those it
    has) in place with ``nn.Module.compile(**options)``; returns the names
    compiled. Compilation itself happens at the first call."""
    inner = unwrap_model(model)
    done = []
    for name in COMPILED_PARTS:
        part = getattr(inner, name, None)
        if isinstance(part, nn.Module):
            part.compile(**(options or {}))
            done.append(name)
    return done


@HOOKS.register_module()
class TrainSpeedHook(Hook):
    """Applies the ``train_speed`` options before the first training
    iteration (after weights are initialised or loaded, after
    ``compile`` has wrapped ``train_step``; compilation traces at the
    first call, so it sees the converted model).

    Args:
        channels_last: convert the model's 4-D parameters and buffers and
            every input batch (the data preprocessor's ``inputs``) to
            ``torch.channels_last``.
        compile: ``True`` or a dict of ``torch.compile`` arguments (e.g.
            ``dict(mode='max-autotune')``): compile the backbone, neck
            and head (see the module doc); ``False``/``None``: do not.

    Raises:
        TypeError: ``channels_last`` is not a bool, or ``compile`` not a
            bool, dict or None.
    """

    priority = 'VERY_HIGH'

    def __init__(self, channels_last: bool = False,
                 compile: Union[bool, dict, None] = None) -> None:
        if not isinstance(channels_last, bool):
            raise TypeError('train_speed.channels_last must be True or False,'
                            f' got {channels_last!r}')
        if compile is not None and not isinstance(compile, (bool, dict)):
            raise TypeError('train_speed.compile must be True, False or a '
                            'dict of torch.compile arguments, got '
                            f'{compile!r}')
        self.channels_last = channels_last
        self.compile_options = (dict(compile) if isinstance(compile, dict)
                                else {} if compile else None)
        self._applied = False

    @property
    def active(self) -> bool:
        """Whether any option is on."""
        return self.channels_last or self.compile_options is not None

    def apply(self, model: nn.Module) -> List[str]:
        """Apply the options to ``model`` once (channels_last first, so
        compilation traces the converted model); returns what was done."""
        if self._applied:
            return []
        self._applied = True
        done = []
        if self.channels_last:
            apply_channels_last(model)
            done.append('model and input batches in torch.channels_last')
        if self.compile_options is not None:
            names = compile_network(model, self.compile_options)
            done.append(f"compiled {', '.join(names)} "
                        f'{self.compile_options or ""}'.rstrip())
        return done

    def before_train(self, runner) -> None:
        for line in self.apply(runner.model):
            runner.logger.info(f'train_speed: {line}')


def build_train_speed_hook(option: Any,
                           key: str = 'train_speed'
                           ) -> Optional[TrainSpeedHook]:
    """The hook for config value ``option`` (``None``/``{}`` or all
    options off: no hook).

    Raises:
        TypeError: ``option`` is not a dict or None.
        ValueError: ``option`` holds a key other than those of
            :data:`TRAIN_SPEED_KEYS` (the message names ``key.<name>``).
    """
    if option is None:
        return None
    if not isinstance(option, dict):
        raise TypeError(f'{key} must be a dict such as dict(channels_last='
                        f'True), got {option!r}')
    unknown = sorted(set(option) - set(TRAIN_SPEED_KEYS))
    if unknown:
        raise ValueError(
            f"{', '.join(f'{key}.{name}' for name in unknown)} is not a "
            f'training speed option; valid: {list(TRAIN_SPEED_KEYS)} '
            '(compile, env_cfg.cudnn_benchmark and AmpOptimWrapper are '
            'config keys of their own)')
    hook = TrainSpeedHook(**option)
    return hook if hook.active else None
