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
  ``dict(input_size=(w, h))`` when no head decoder names the input size).
"""
from typing import Dict, Optional, Union

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner import Runner

from posekit.registry import MODELS, RUNNERS
from posekit.utils.checkpoint import install_safe_loader
from .atomic_backend import BACKEND_NAME


def _takes_images(model: Dict) -> bool:
    """Whether the estimator named by ``model.type`` takes images (the
    model check feeds a dummy image; lifters take keypoints)."""
    obj_type = model.get('type')
    cls = MODELS.get(obj_type) if isinstance(obj_type, str) else obj_type
    return getattr(cls, 'takes_images', True)


@RUNNERS.register_module()
class PoseRunner(Runner):
    """Drop-in replacement for :class:`mmengine.runner.Runner`."""

    def __init__(self, *args, **kwargs):
        install_safe_loader()
        super().__init__(*args, **kwargs)

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
