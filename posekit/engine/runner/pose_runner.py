"""PoseRunner: mmengine's Runner with posekit's safety guarantees.

- models are built through posekit's MODELS registry, so config errors name
  the key (``model.head.type``);
- checkpoints load with ``weights_only=True`` and posekit's allow-list
  (resume, ``load_from`` and ``Pretrained`` init alike);
- checkpoints are written atomically (temp file + rename);
- before a model config is built, the model check dry-runs its backbone
  and neck, fills ``in_channels='auto'`` and stops on a wrong
  ``in_channels`` with the key and its right value (top-level config key
  ``model_check``: True by default, False to skip, or
  ``dict(input_size=(w, h))`` when no head decoder names the input size);
- a NaN guard (:class:`NaNGuardHook`) is on unless the config says
  ``nan_guard=dict(enable=False)`` (or ``False``); a dict without
  ``enable`` holds the hook's arguments;
- training starts with a summary (parameters, dataset sizes, batch size
  per device and in total, the learning rate after ``auto_scale_lr``,
  work dir);
- ``load_from``, resume and ``init_cfg=dict(type='Pretrained', ...)`` log
  which tensors were loaded, missing, unexpected or of another shape;
- ``test_after_train=True`` runs the test loop once training ends.
"""
import logging
import re
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.runner import IterBasedTrainLoop, Runner
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_with_prefix)

from posekit.registry import MODELS, RUNNERS
from posekit.utils.checkpoint import install_safe_loader
from .atomic_backend import BACKEND_NAME

# keys listed per category in a load report before "... and N more"
_MAX_LISTED = 30


def _takes_images(model: Dict) -> bool:
    """Whether the estimator named by ``model.type`` takes images (the
    model check feeds a dummy image; lifters take keypoints)."""
    obj_type = model.get('type')
    cls = MODELS.get(obj_type) if isinstance(obj_type, str) else obj_type
    return getattr(cls, 'takes_images', True)


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def _listing(title: str, keys: List[str]) -> List[str]:
    if not keys:
        return []
    lines = [f'  {title} ({len(keys)}):']
    lines += [f'    {k}' for k in keys[:_MAX_LISTED]]
    if len(keys) > _MAX_LISTED:
        lines.append(f'    ... and {len(keys) - _MAX_LISTED} more')
    return lines


def _prefixes(keys) -> str:
    return ', '.join(sorted({k.split('.')[0] + '.' for k in keys})[:8])


def load_report(source: str, expected: Mapping[str, Any],
                loaded: Mapping[str, Any],
                missing: Optional[List[str]] = None,
                unexpected: Optional[List[str]] = None) -> Tuple[str, bool]:
    """A readable account of loading ``loaded`` into a module whose state
    dict is ``expected`` (both name -> tensor): the count of tensors
    loaded, then one key per line for each of missing (kept as
    initialised), unexpected (ignored) and shape-mismatched (skipped).
    ``missing``/``unexpected`` override the plain key comparison (torch's
    own result, which knows about key upgrades). Returns the text and
    whether everything matched."""
    shape = [k for k in loaded if k in expected and
             tuple(loaded[k].shape) != tuple(expected[k].shape)]
    if missing is None:
        missing = [k for k in expected if k not in loaded]
    if unexpected is None:
        unexpected = [k for k in loaded if k not in expected]
    skipped = set(shape)  # torch reports them as missing too
    missing = [k for k in missing if k not in skipped]
    n_loaded = len(expected) - len(missing) - len(shape)
    # BN batch counters are not weights: never worth a warning
    missing = sorted(k for k in missing
                     if not k.endswith('num_batches_tracked'))
    unexpected = sorted(unexpected)
    text = f'{source}: {n_loaded} of {len(expected)} tensors loaded'
    if not (missing or unexpected or shape):
        return text + ', all keys matched', True
    lines = [text]
    lines += _listing('missing from the checkpoint, left as initialised',
                      missing)
    lines += _listing('unexpected in the checkpoint, ignored', unexpected)
    lines += _listing('shape mismatch, not loaded', [
        f'{k}: checkpoint {tuple(loaded[k].shape)}, model '
        f'{tuple(expected[k].shape)}' for k in sorted(shape)])
    if n_loaded == 0 and loaded:
        lines.append(f'  no key matched: the checkpoint keys start with '
                     f'{_prefixes(loaded)}, the model keys with '
                     f'{_prefixes(expected)}; to load one part of a '
                     "checkpoint use init_cfg=dict(type='Pretrained', "
                     "checkpoint=..., prefix='backbone.') on that part")
    return '\n'.join(lines), False


def _pretrained_inits(model: nn.Module) -> Iterator[Tuple[str, nn.Module,
                                                          dict]]:
    """(module path, module, cfg) of every ``Pretrained`` init_cfg."""
    for name, module in model.named_modules():
        cfgs = getattr(module, 'init_cfg', None)
        for cfg in cfgs if isinstance(cfgs, (list, tuple)) else [cfgs]:
            if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained' \
                    and cfg.get('checkpoint'):
                yield name, module, cfg


def _revise(state_dict: Mapping, revise_keys) -> 'OrderedDict':
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    for pattern, repl in revise_keys:
        state_dict = OrderedDict(
            (re.sub(pattern, repl, k), v) for k, v in state_dict.items())
    state_dict = OrderedDict(state_dict)
    state_dict._metadata = metadata
    return state_dict


class _TrainSummaryHook(Hook):
    """Logs :meth:`PoseRunner.training_summary` when training starts
    (after the optimizer, schedulers and loops are built and any
    checkpoint is loaded)."""

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        if hasattr(runner, 'training_summary'):
            print_log(runner.training_summary(), logger='current')


@RUNNERS.register_module()
class PoseRunner(Runner):
    """Drop-in replacement for :class:`mmengine.runner.Runner`.

    Args:
        nan_guard: ``None`` (read ``cfg.nan_guard``; on by default),
            ``True``/``False``, or a dict: ``enable`` plus the arguments
            of :class:`NaNGuardHook`.
        *args, **kwargs: those of :class:`mmengine.runner.Runner`.

    Raises:
        TypeError: ``nan_guard`` is not a bool, dict or None.
    """

    def __init__(self, *args, nan_guard: Union[bool, dict, None] = None,
                 **kwargs):
        install_safe_loader()
        self._nan_guard_option = nan_guard
        self._lr_scaling: Optional[dict] = None
        self.test_metrics: Optional[dict] = None
        super().__init__(*args, **kwargs)

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        """mmengine's default and custom hooks, then the NaN guard and the
        training summary (before the runner logs the hook order)."""
        super().register_hooks(default_hooks, custom_hooks)
        option = self._nan_guard_option
        self._add_nan_guard(self.cfg.get('nan_guard', None)
                            if option is None else option)
        self.register_hook(_TrainSummaryHook())

    def _add_nan_guard(self, option: Union[bool, dict, None]) -> None:
        from posekit.engine.hooks.nan_guard_hook import NaNGuardHook
        if option is None or option is True:
            option = {}
        if option is False:
            return
        if not isinstance(option, dict):
            raise TypeError('nan_guard must be True, False or a dict such as '
                            f'dict(enable=False), got {option!r}')
        option = dict(option)
        if not option.pop('enable', True):
            return
        if any(isinstance(h, NaNGuardHook) for h in self._hooks):
            return  # the config already registers one (custom_hooks)
        self.register_hook(NaNGuardHook(**option))

    def train(self) -> nn.Module:
        """mmengine's training, then the test loop when the config says
        ``test_after_train=True`` (metrics in :attr:`test_metrics`)."""
        model = super().train()
        if self.cfg.get('test_after_train', False):
            self.test_metrics = self.test()
        return model

    def scale_lr(self, optim_wrapper, auto_scale_lr: Optional[Dict] = None
                 ) -> None:
        """mmengine's linear scaling rule; remembers the rates before and
        after for the training summary."""
        before = _group_lrs(optim_wrapper)
        super().scale_lr(optim_wrapper, auto_scale_lr)
        if auto_scale_lr and auto_scale_lr.get('enable', False):
            batch = self._train_dataloader
            size = batch.batch_size if hasattr(batch, 'batch_size') \
                else batch['batch_size']
            self._lr_scaling = dict(
                before=before, real=size * self.world_size,
                base=auto_scale_lr['base_batch_size'])

    def training_summary(self) -> str:
        """Parameters, data sizes, batch sizes, learning rate, schedule and
        work dir of this run, as logged when training starts."""
        model = _unwrap(self.model)
        count = lambda m, train=False: sum(  # noqa: E731
            p.numel() for p in m.parameters() if p.requires_grad or not train)
        parts = ', '.join(f'{name} {type(m).__name__} {count(m):,}'
                          for name, m in model.named_children() if count(m))
        lines = ['Training summary:',
                 f'  model: {type(model).__name__}, {count(model):,} '
                 f'parameters ({count(model, True):,} trainable): {parts}']
        loader = self.train_dataloader
        data = (f'  data: train {_plural(len(loader.dataset), "sample")} '
                f'({type(loader.dataset).__name__}, '
                f'{_plural(len(loader), "iteration")} per epoch)')
        if self._val_loop is not None and hasattr(self.val_loop, 'dataloader'):
            data += ', val ' + _plural(len(self.val_loop.dataloader.dataset),
                                       'sample')
        lines.append(data)
        size, world = loader.batch_size, self.world_size
        batch = (f'  batch size: {size} per device x '
                 f'{_plural(world, "device")} = {size * world} in total')
        wrappers = self.optim_wrapper.values() if isinstance(
            self.optim_wrapper, OptimWrapperDict) else [self.optim_wrapper]
        accumulate = getattr(list(wrappers)[0], '_accumulative_counts', 1)
        if accumulate > 1:
            batch += (f', x{accumulate} gradient accumulation = '
                      f'{size * world * accumulate} per update')
        lines.append(batch)
        lines.append('  ' + self._lr_summary())
        loop = self.train_loop
        iters = _plural(loop.max_iters, 'iteration')
        lines.append(f'  schedule: {iters}' if isinstance(
            loop, IterBasedTrainLoop) else
            f'  schedule: {_plural(loop.max_epochs, "epoch")}, {iters}')
        lines.append(f'  optimizer wrapper: {type(list(wrappers)[0]).__name__}'
                     + ('; test after training'
                        if self.cfg.get('test_after_train') else ''))
        lines.append(f'  work dir: {self.work_dir}')
        return '\n'.join(lines)

    def _lr_summary(self) -> str:
        lrs = _group_lrs(self.optim_wrapper, initial=True)
        text = f'learning rate: {max(lrs):.6g}'
        if min(lrs) != max(lrs):
            text += f' (param groups from {min(lrs):.6g} to {max(lrs):.6g})'
        scaling = self._lr_scaling
        auto = self.auto_scale_lr or {}
        if scaling is not None:
            ratio = scaling['real'] / scaling['base']
            text += (f' = {max(scaling["before"]):.6g} x {ratio:.6g} by '
                     f'auto_scale_lr (batch {scaling["real"]} / '
                     f'base_batch_size {scaling["base"]})')
        elif 'base_batch_size' in auto:
            text += (f' (not scaled; --auto-scale-lr would scale it for '
                     f'base_batch_size {auto["base_batch_size"]})')
        return text

    def load_checkpoint(self, filename: str,
                        map_location: Union[str, Any] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module\.', '')]) -> dict:
        """Load ``filename`` into the model (``load_from`` and resume) and
        log which tensors were loaded, missing, unexpected or of another
        shape.

        Raises:
            RuntimeError: ``strict`` and the keys or shapes differ (the
                message holds the listing).
        """
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = _unwrap(self.model)
        state_dict = _revise(checkpoint.get('state_dict', checkpoint),
                             revise_keys)
        expected = model.state_dict()
        keep = OrderedDict(
            (k, v) for k, v in state_dict.items()
            if k not in expected or tuple(v.shape) == tuple(
                expected[k].shape))
        keep._metadata = state_dict._metadata
        result = model.load_state_dict(keep, strict=False)
        text, exact = load_report(
            f'checkpoint {filename}', expected, state_dict,
            missing=list(result.missing_keys),
            unexpected=list(result.unexpected_keys))
        if strict and not exact:
            raise RuntimeError(text)
        print_log(text, logger='current',
                  level=logging.INFO if exact else logging.WARNING)
        self._has_loaded = True
        return checkpoint

    def _init_model_weights(self) -> None:
        """mmengine's weight initialisation, then a load report for every
        ``init_cfg=dict(type='Pretrained', ...)``."""
        model = _unwrap(self.model)
        pretrained = [] if getattr(model, 'is_init', False) \
            else list(_pretrained_inits(model))
        super()._init_model_weights()
        for name, module, cfg in pretrained:
            prefix = cfg.get('prefix')
            try:
                if prefix:
                    loaded = _load_checkpoint_with_prefix(
                        prefix, cfg['checkpoint'], map_location='cpu')
                else:
                    ckpt = _load_checkpoint(cfg['checkpoint'],
                                            map_location='cpu')
                    loaded = _revise(ckpt.get('state_dict', ckpt),
                                     [(r'^module\.', '')])
            except Exception:  # the init itself has reported the problem
                continue
            where = f'model.{name}' if name else 'model'
            # keys as in the whole model's state dict
            full = (lambda d: {f'{name}.{k}': v for k, v in d.items()}) \
                if name else dict
            text, exact = load_report(
                f"{where}.init_cfg Pretrained {cfg['checkpoint']}"
                + (f' (prefix {prefix!r})' if prefix else ''),
                full(module.state_dict()), full(loaded))
            print_log(text, logger='current',
                      level=logging.INFO if exact else logging.WARNING)

    def build_model(self, model: Union[nn.Module, Dict]) -> nn.Module:
        if isinstance(model, nn.Module):
            return model
        if isinstance(model, dict):
            return MODELS.build(self._checked_model_cfg(model))
        raise TypeError('model should be an nn.Module or a config dict, '
                        f'got {type(model).__name__}')

    def _checked_model_cfg(self, model: Dict) -> Dict:
        """The model config after the model check (see the module doc).

        Raises:
            TypeError: ``model_check`` is not a bool or dict.
            ValueError: the check is off but ``in_channels='auto'`` is used.
        """
        # imported here so that importing the engine stays cheap
        from posekit.models.utils.model_check import (check_model,
                                                      find_auto_keys)
        option = self.cfg.get('model_check', True)
        if not isinstance(option, (bool, dict)) or (
                isinstance(option, dict) and set(option) - {'input_size'}):
            raise TypeError('model_check must be True, False or dict('
                            f'input_size=(w, h)), got {option!r}')
        if not isinstance(model.get('backbone'), dict):
            return model  # nothing to dry-run
        if option is False or not _takes_images(model):
            auto = find_auto_keys(model)
            if auto:
                raise ValueError(
                    f"{', '.join(auto)} is 'auto', which only the model "
                    'check can resolve; remove model_check=False or give '
                    'the number')
            return model
        input_size = option.get('input_size') \
            if isinstance(option, dict) else None
        result = check_model(model, input_size)
        print_log(f'model check at input size {result.input_size} (w, h): '
                  f'backbone outputs {result.backbone_shapes}'
                  + (f', neck outputs {result.neck_shapes}'
                     if result.neck_shapes is not None else '')
                  + (f'; resolved {result.resolved}'
                     if result.resolved else ''), logger='current')
        return result.model_cfg

    def save_checkpoint(self, out_dir: str, filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True,
                        save_param_scheduler: bool = True,
                        meta: Optional[dict] = None,
                        by_epoch: bool = True,
                        backend_args: Optional[dict] = None) -> None:
        if backend_args is None and file_client_args is None:
            backend_args = dict(backend=BACKEND_NAME)
        super().save_checkpoint(
            out_dir, filename, file_client_args=file_client_args,
            save_optimizer=save_optimizer,
            save_param_scheduler=save_param_scheduler, meta=meta,
            by_epoch=by_epoch, backend_args=backend_args)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _group_lrs(optim_wrapper, initial: bool = False) -> List[float]:
    """The learning rate of every param group (``initial_lr``, the rate
    schedulers start from, when ``initial`` and present)."""
    wrappers = optim_wrapper.values() if isinstance(
        optim_wrapper, OptimWrapperDict) else [optim_wrapper]
    return [float(g.get('initial_lr', g['lr']) if initial else g['lr'])
            for w in wrappers for g in w.optimizer.param_groups]
