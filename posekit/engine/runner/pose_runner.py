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
- ``test_after_train=True`` runs the test loop once training ends;
- resume is exact (see ``docs/resume.md``): checkpoints also hold the
  random-number state (:class:`ResumeStateHook`), epoch-based training
  resumes mid-epoch without repeating batches
  (:class:`PoseEpochBasedTrainLoop`), ``CheckpointHook`` becomes
  :class:`SafeCheckpointHook` (write, then delete old ones; atomic
  ``last_checkpoint``), and ``resume=True`` falls back to the newest
  complete checkpoint when the one ``last_checkpoint`` names cannot be
  loaded.
"""
import logging
import uuid
from collections import OrderedDict
from typing import Any, Dict, Optional, Union

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.runner import EpochBasedTrainLoop, Runner
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_with_prefix)

from posekit.engine.unwrap import unwrap_model
from posekit.registry import MODELS, RUNNERS
from posekit.utils.checkpoint import install_safe_loader
from .atomic_backend import BACKEND_NAME
from .resumable_loop import PoseEpochBasedTrainLoop
from .resume_candidates import newest_complete, remove_partial_writes
from .safe_checkpoint_hook import SafeCheckpointHook
from .load_report import (apply_revise_keys, load_report,
                          pretrained_inits)
from .train_summary import TrainSummaryHook, group_lrs, training_summary


def _takes_images(model: Dict) -> bool:
    """Whether the estimator named by ``model.type`` takes images (the
    model check feeds a dummy image; lifters take keypoints)."""
    obj_type = model.get('type')
    cls = MODELS.get(obj_type) if isinstance(obj_type, str) else obj_type
    return getattr(cls, 'takes_images', True)


def _is_type(cfg: Any, names: tuple, cls: type) -> bool:
    """Whether config dict ``cfg`` names ``cls`` by one of ``names`` or
    by the class itself."""
    return isinstance(cfg, dict) and (cfg.get('type') in names
                                      or cfg.get('type') is cls)


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
        # generator states of a resumed checkpoint, for the training loop
        self.pending_rng_state: Optional[dict] = None
        self._preloaded: Optional[tuple] = None
        super().__init__(*args, **kwargs)

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        """mmengine's default and custom hooks (``CheckpointHook`` as
        :class:`SafeCheckpointHook`), then the NaN guard, the training
        summary, the resume state and the skipped-samples report (before
        the runner logs the hook order)."""
        from posekit.engine.hooks import (ResumeStateHook, SkippedSamplesHook,
                                          TrainSpeedHook,
                                          build_train_speed_hook)
        hooks = dict(default_hooks or {})
        # mmengine adds this one when a config leaves 'checkpoint' out
        checkpoint = hooks.get('checkpoint',
                               dict(type='CheckpointHook', interval=1))
        if _is_type(checkpoint, ('CheckpointHook', 'mmengine.CheckpointHook'),
                    CheckpointHook):
            hooks['checkpoint'] = dict(checkpoint, type=SafeCheckpointHook)
        super().register_hooks(hooks, custom_hooks)
        option = self._nan_guard_option
        self._add_nan_guard(self.cfg.get('nan_guard', None)
                            if option is None else option)
        self.register_hook(TrainSummaryHook())
        self.register_hook(ResumeStateHook())
        # reports images a dataset with skip_invalid=True had to skip;
        # silent otherwise
        if not any(isinstance(h, SkippedSamplesHook) for h in self.hooks):
            self.register_hook(SkippedSamplesHook())
        # opt-in GPU speed options (channels_last, compiled network)
        speed = build_train_speed_hook(self.cfg.get('train_speed'))
        if speed is not None and not any(
                isinstance(h, TrainSpeedHook) for h in self.hooks):
            self.register_hook(speed)

    def build_train_loop(self, loop):
        """mmengine's, with :class:`PoseEpochBasedTrainLoop` for
        ``by_epoch=True`` and ``type='EpochBasedTrainLoop'``."""
        if isinstance(loop, dict):
            loop = dict(loop)
            if 'type' not in loop and loop.get('by_epoch', False):
                loop.pop('by_epoch')
                loop['type'] = PoseEpochBasedTrainLoop
            elif _is_type(loop, ('EpochBasedTrainLoop',
                                 'mmengine.EpochBasedTrainLoop'),
                          EpochBasedTrainLoop):
                loop['type'] = PoseEpochBasedTrainLoop
        return super().build_train_loop(loop)

    def load_or_resume(self) -> None:
        """mmengine's, except that ``resume=True`` without ``load_from``
        resumes from the newest checkpoint of the work dir that loads
        completely (a warning names any skipped), and removes left-over
        temporary files of interrupted checkpoint writes."""
        if self._has_loaded or not (self._resume and self._load_from is None):
            return super().load_or_resume()
        if is_main_process():
            for path in remove_partial_writes(self.work_dir):
                print_log(f'removed {path}, left by an interrupted '
                          'checkpoint write', logger='current')
        path, checkpoint = newest_complete(
            self.work_dir, lambda p: _load_checkpoint(p, map_location='cpu'))
        if path is None:
            print_log(f'resume: no checkpoint in {self.work_dir}; training '
                      'starts from the beginning', logger='current')
            return None
        print_log(f'resuming from {path}', logger='current')
        self._preloaded = (path, checkpoint)
        try:
            self.resume(path)
        finally:
            self._preloaded = None
        self._has_loaded = True

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
        before = group_lrs(optim_wrapper)
        super().scale_lr(optim_wrapper, auto_scale_lr)
        if auto_scale_lr and auto_scale_lr.get('enable', False):
            batch = self._train_dataloader
            size = batch.batch_size if hasattr(batch, 'batch_size') \
                else batch['batch_size']
            self._lr_scaling = dict(
                before=before, real=size * self.world_size,
                base=auto_scale_lr['base_batch_size'])

    def training_summary(self) -> str:
        """See :func:`posekit.engine.runner.train_summary.training_summary`."""
        return training_summary(self)

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
        if self._preloaded is not None and self._preloaded[0] == filename:
            checkpoint = self._preloaded[1]  # read once, by load_or_resume
            self._preloaded = None
        else:
            checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = unwrap_model(self.model)
        state_dict = apply_revise_keys(
            checkpoint.get('state_dict', checkpoint), revise_keys)
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
        model = unwrap_model(self.model)
        pretrained = [] if getattr(model, 'is_init', False) \
            else list(pretrained_inits(model))
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
                    loaded = apply_revise_keys(
                        ckpt.get('state_dict', ckpt), [(r'^module\.', '')])
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

    def build_visualizer(self, visualizer=None):
        """mmengine's, but a visualizer config without a ``name`` gets one
        unique to this runner. mmengine names it after the experiment
        (config name + timestamp to the second) and returns an existing
        instance of that name, so two runners started in the same second
        in one process would share one visualizer and write their scalars
        into the first one's log dir."""
        if visualizer is None:
            visualizer = dict(type='Visualizer',
                              vis_backends=[dict(type='LocalVisBackend')])
        if isinstance(visualizer, dict) and visualizer.get('name') is None:
            visualizer = dict(visualizer, name=(
                f'{self._experiment_name}-{uuid.uuid4().hex[:8]}'))
        return super().build_visualizer(visualizer)

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

