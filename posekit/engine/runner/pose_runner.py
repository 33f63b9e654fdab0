"""PoseRunner: mmengine's Runner with posekit's safety guarantees.

- models are built through posekit's MODELS registry, so config errors name
  the key (``model.head.type``);
- checkpoints load with ``weights_only=True`` and posekit's allow-list
  (resume, ``load_from`` and ``Pretrained`` init alike);
- checkpoints are written atomically (temp file + rename).
"""
from typing import Dict, Optional, Union

import torch.nn as nn
from mmengine.runner import Runner

from posekit.registry import MODELS, RUNNERS
from posekit.utils.checkpoint import install_safe_loader
from .atomic_backend import BACKEND_NAME


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
            return MODELS.build(model)
        raise TypeError('model should be an nn.Module or a config dict, '
                        f'got {type(model).__name__}')

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
