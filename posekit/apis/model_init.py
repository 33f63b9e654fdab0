"""Building a pose model for inference: config -> model in eval mode with
its weights, its config (``model.cfg``) and its dataset meta information
(``model.dataset_meta``)."""
import copy
import os
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Union

import torch
from mmengine.config import Config
from torch import nn

from .training import load_config, parse_cfg_options

__all__ = ['init_model', 'dataset_meta_from_config', 'load_model_weights',
           'CheckpointMismatchError']

# The dataloaders whose dataset names the keypoint definition, in the order
# they are tried (the test set is what inference resembles most).
_LOADERS = ('test_dataloader', 'val_dataloader', 'train_dataloader')
# How many key names a mismatch message lists before "... and N more".
_MAX_LISTED = 20


class CheckpointMismatchError(ValueError):
    """A checkpoint's weights do not fit the model built from the config."""


def _as_config(config: Union[str, Path, Config],
               cfg_options: Union[List[str], Dict, None]) -> Config:
    """A private copy of ``config`` with ``cfg_options`` applied."""
    if isinstance(config, (str, Path)):
        return load_config(str(config), cfg_options)
    if not isinstance(config, Config):
        raise TypeError('config must be a config file path or an '
                        f'mmengine.Config, got {type(config).__name__}')
    cfg = copy.deepcopy(config)
    options = parse_cfg_options(cfg_options)
    if options:
        cfg.merge_from_dict(options)
    return cfg


def _dataset_cfg(cfg: Config) -> Optional[dict]:
    """The first ``<loader>.dataset`` config found (wrappers such as
    RepeatDataset are unwrapped through their ``dataset`` key)."""
    for loader in _LOADERS:
        dataset = (cfg.get(loader) or {}).get('dataset')
        while isinstance(dataset, dict) and 'metainfo' not in dataset and \
                isinstance(dataset.get('dataset'), dict):
            dataset = dataset['dataset']
        if isinstance(dataset, dict):
            return dataset
    return None


def dataset_meta_from_config(cfg: Config) -> Optional[dict]:
    """Parsed dataset meta information named by the config: the
    ``metainfo`` of ``test_dataloader.dataset`` (else val, else train), or
    that dataset class's ``METAINFO``. None when the config names neither.

    Raises:
        FileNotFoundError, KeyError, ValueError: the metainfo is broken
            (see :func:`posekit.datasets.datasets.utils.parse_pose_metainfo`).
    """
    from posekit.datasets.datasets.utils import parse_pose_metainfo
    from posekit.registry import DATASETS
    dataset = _dataset_cfg(cfg)
    if dataset is None:
        return None
    metainfo = dataset.get('metainfo')
    if not metainfo:
        dtype = dataset.get('type')
        cls = dtype if isinstance(dtype, type) else (
            DATASETS.get(dtype) if isinstance(dtype, str) else None)
        metainfo = getattr(cls, 'METAINFO', None)
    if not metainfo:
        return None
    if isinstance(metainfo, Config) or hasattr(metainfo, 'to_dict'):
        metainfo = metainfo.to_dict()
    return parse_pose_metainfo(copy.deepcopy(dict(metainfo)))


def _inference_model_cfg(cfg: Config) -> dict:
    """The model config prepared for inference: auxiliary heads dropped
    where the estimator supports it, ``in_channels='auto'`` filled.

    Raises:
        KeyError: the config has no ``model``.
    """
    from posekit.models.pose_estimators.base import BasePoseEstimator
    from posekit.models.utils.model_check import (find_auto_keys,
                                                  resolve_auto_in_channels)
    from posekit.registry import MODELS
    model_cfg = cfg.get('model')
    if not isinstance(model_cfg, dict):
        raise KeyError('the config has no `model` dict; init_model needs '
                       'a model config (e.g. model=dict(type='
                       "'TopdownPoseEstimator', ...))")
    model_cfg = copy.deepcopy(model_cfg)
    mtype = model_cfg.get('type')
    cls = mtype if isinstance(mtype, type) else (
        MODELS.get(mtype) if isinstance(mtype, str) else None)
    if isinstance(cls, type) and issubclass(cls, BasePoseEstimator):
        # auxiliary heads only add training losses: not building them
        # lets a training checkpoint load strictly (their keys ignored)
        test_cfg = dict(model_cfg.get('test_cfg') or {})
        test_cfg.setdefault('drop_auxiliary', True)
        model_cfg['test_cfg'] = test_cfg
    auto = find_auto_keys(model_cfg) \
        if isinstance(model_cfg.get('backbone'), dict) else []
    if auto and not getattr(cls, 'takes_images', True):
        raise ValueError(
            f"{', '.join(auto)} is 'auto', but the model check that fills "
            f'it feeds an image, which {mtype} does not take; give the '
            'number')
    if auto:
        check = cfg.get('model_check')
        size = check.get('input_size') if isinstance(check, dict) else None
        model_cfg = resolve_auto_in_channels(model_cfg, size)
    return model_cfg


def load_model_weights(model: nn.Module, checkpoint: str) -> dict:
    """Load the weights of ``checkpoint`` into ``model`` through posekit's
    safe loader (``torch.load(weights_only=True)`` with an allow-list) and
    return the whole checkpoint dict.

    The weights are the checkpoint's ``state_dict`` (or the file itself when
    it is a bare state dict); a ``module.`` prefix (DataParallel) is
    removed. Missing or unexpected keys give a warning listing them.

    Raises:
        FileNotFoundError: ``checkpoint`` does not exist.
        UnsafeCheckpointError: the file would run code when unpickled.
        CheckpointMismatchError: the file holds no state dict, a weight's
            shape differs from the model's, or none of its keys is one of
            the model's (the message names the file and the keys).
        CorruptCheckpointError: the file is corrupt, truncated or not a
            PyTorch checkpoint (an ``IOError``).
    """
    from posekit.utils.checkpoint import (CorruptCheckpointError,
                                          UnsafeCheckpointError, safe_load)
    path = os.path.expanduser(str(checkpoint))
    try:
        ckpt = safe_load(path, map_location='cpu')
    except (FileNotFoundError, UnsafeCheckpointError,
            CorruptCheckpointError):
        raise
    except Exception as err:  # anything else torch raises for a bad file
        raise IOError(f'checkpoint {path} could not be read as a PyTorch '
                      f'checkpoint ({type(err).__name__}: {err})') from err
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointMismatchError(
            f'checkpoint {path} holds no state dict: expected a dict of '
            'tensors, or a dict with a `state_dict` entry of tensors')
    metadata = getattr(state, '_metadata', None)
    state = type(state)(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in state.items())
    if metadata is not None:
        # keeps the per-module versions that key-upgrade hooks read
        state._metadata = type(metadata)(
            (k[len('module.'):] if k.startswith('module.') else k, v)
            for k, v in metadata.items())
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches, listed by torch
        raise CheckpointMismatchError(
            f'checkpoint {path} does not fit the model built from the '
            f'config: {err}') from None
    # one report for every load: resume, load_from, Pretrained, here
    from posekit.engine.runner.load_report import load_report
    model_state = model.state_dict()
    text, matched = load_report(f'checkpoint {path}', model_state, state,
                                missing=list(result.missing_keys),
                                unexpected=list(result.unexpected_keys))
    # BatchNorm does not report a missing num_batches_tracked
    weights = [k for k in model_state
               if not k.endswith('num_batches_tracked')]
    if weights and set(weights) <= set(result.missing_keys):
        raise CheckpointMismatchError(
            f'checkpoint {path} has none of the model\'s weights: it is '
            f'probably for another model or config.\n{text}')
    if not matched:
        warnings.warn(f'checkpoint {path} does not match the model '
                      f'exactly:\n{text}', stacklevel=3)
    return ckpt


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Union[List[str], Dict, None] = None
               ) -> nn.Module:
    """Build a pose model for inference.

    Args:
        config: config file path or ``mmengine.Config`` (not modified).
        checkpoint: weights to load (a posekit/MMPose checkpoint or a bare
            state dict), loaded with ``weights_only=True``; None keeps the
            random initial weights.
        device: where the model is put, e.g. ``'cpu'`` or ``'cuda:0'``.
        cfg_options: overrides, ``{'model.backbone.depth': 18}`` or
            ``['model.backbone.depth=18']``.

    The model is built through posekit's ``MODELS`` with
    ``model.test_cfg.drop_auxiliary=True`` (unless the config sets it) and
    every ``in_channels='auto'`` filled by the model check, in eval mode.
    ``model.cfg`` is the config with those changes; ``model.dataset_meta``
    comes from the checkpoint's ``meta.dataset_meta``, else from the
    config's dataset (see :func:`dataset_meta_from_config`).

    Raises:
        FileNotFoundError: the config or checkpoint file does not exist.
        UnsafeCheckpointError: the checkpoint would run code when loaded.
        CorruptCheckpointError: the checkpoint is corrupt, truncated or not
            a PyTorch checkpoint (an ``IOError``).
        CheckpointMismatchError: the checkpoint does not fit the model.
        ConfigBuildError, ModelCheckError: the model config is broken.
        ValueError: ``in_channels='auto'`` in a model that does not take
            images (a lifter), which the model check cannot fill.
    """
    from mmengine.model.utils import revert_sync_batchnorm

    import posekit
    from posekit.registry import MODELS
    from posekit.utils.checkpoint import install_safe_loader
    posekit.register_all_modules(init_default_scope=False)
    # a later model.init_weights() with a Pretrained init_cfg loads safely
    install_safe_loader()
    cfg = _as_config(config, cfg_options)
    cfg.model = _inference_model_cfg(cfg)
    model = MODELS.build(cfg.model)
    # SyncBN needs a process group; inference runs in one process
    model = revert_sync_batchnorm(model)
    dataset_meta = None
    if checkpoint is not None:
        ckpt = load_model_weights(model, checkpoint)
        meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
        if isinstance(meta, dict) and meta.get('dataset_meta'):
            dataset_meta = copy.deepcopy(meta['dataset_meta'])
    if dataset_meta is None:
        dataset_meta = dataset_meta_from_config(cfg)
    if dataset_meta is None and getattr(model, 'metainfo', None):
        dataset_meta = copy.deepcopy(model.metainfo)
    if dataset_meta is None:
        warnings.warn('init_model: neither the checkpoint (meta.dataset_'
                      'meta) nor the config (test_dataloader.dataset) names '
                      'the dataset meta information; model.dataset_meta is '
                      'None, so no flip test and no skeleton to draw')
    model.cfg = cfg
    model.dataset_meta = dataset_meta
    model.to(device)
    model.eval()
    return model
