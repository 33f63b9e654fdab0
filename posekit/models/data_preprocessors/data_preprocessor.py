"""Batching and normalisation of images for pose models."""
import math
from typing import Optional, Sequence, Union

import torch
from mmengine.model import ImgDataPreprocessor
from torch import nn

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType


@MODELS.register_module()
class PoseDataPreprocessor(ImgDataPreprocessor):
    """Stack ``inputs`` (a list of ``(3, H, W)`` uint8 tensors, or one
    ``(B, 3, H, W)`` tensor) into a float ``(B, 3, H', W')`` batch on the
    model's device: optional BGR<->RGB swap, ``(x - mean) / std``, padding
    to a multiple of ``pad_size_divisor`` with ``pad_value``.

    Every data sample gets ``batch_input_shape`` (the batch's ``(H', W')``)
    and ``pad_shape`` (its own size padded to the divisor) in its
    metainfo. In training, ``batch_augments``
    (configs of modules called as ``aug(inputs, data_samples)``) run after
    normalisation. Multi-scale test inputs become a list of batches, one
    per scale (see :meth:`forward`).

    Args mirror mmengine's :class:`ImgDataPreprocessor` plus
    ``batch_augments``.
    """

    def __init__(self, mean: Optional[Sequence[Union[float, int]]] = None,
                 std: Optional[Sequence[Union[float, int]]] = None,
                 pad_size_divisor: int = 1,
                 pad_value: Union[float, int] = 0,
                 bgr_to_rgb: bool = False, rgb_to_bgr: bool = False,
                 non_blocking: Optional[bool] = False,
                 batch_augments: Optional[Sequence[ConfigType]] = None):
        super().__init__(mean=mean, std=std,
                         pad_size_divisor=pad_size_divisor,
                         pad_value=pad_value, bgr_to_rgb=bgr_to_rgb,
                         rgb_to_bgr=rgb_to_bgr, non_blocking=non_blocking)
        if batch_augments is None:
            self.batch_augments = None
        else:
            self.batch_augments = nn.ModuleList(
                [MODELS.build(aug) for aug in batch_augments])

    def forward(self, data: dict, training: bool = False) -> dict:
        """Turn a collated ``{'inputs', 'data_samples'}`` dict into model
        inputs.

        Multi-scale test inputs (each sample's ``inputs`` a list of
        ``(3, H_s, W_s)`` tensors, base scale first) arrive from mmengine's
        collate as a list over scales of per-sample tensors (or a list of
        ``(B, 3, H_s, W_s)`` batches); each scale is batched on its own
        and ``inputs`` becomes a list of ``(B, 3, H_s', W_s')`` tensors.
        ``batch_input_shape``/``pad_shape`` then describe the base scale.

        Raises:
            KeyError: ``data`` has no ``'inputs'``.
            ValueError: multi-scale inputs in training, or scales with
                different batch sizes.
        """
        if 'inputs' not in data:
            raise KeyError("PoseDataPreprocessor needs data['inputs'], got "
                           f'keys {sorted(data)}')
        inputs = data['inputs']
        if not _is_multiscale(inputs):
            return self._batch(data, training)
        if training:
            raise ValueError('PoseDataPreprocessor: multi-scale inputs (a '
                             'list of images per sample) are for testing '
                             'only; BottomupResize(aug_scales=...) belongs '
                             'in the test pipeline')
        sizes = {len(scale) for scale in inputs}
        if len(sizes) != 1:
            raise ValueError('PoseDataPreprocessor: the scales of a '
                             f'multi-scale batch hold {sorted(sizes)} images;'
                             ' every sample needs the same number of scales')
        batches, data_samples = [], data.get('data_samples')
        for s, scale in enumerate(inputs):
            scale = scale if isinstance(scale, torch.Tensor) else list(scale)
            # only the base scale's shapes go into the metainfo
            out = self._batch(dict(inputs=scale, data_samples=(
                data_samples if s == 0 else None)), training)
            batches.append(out['inputs'])
            if s == 0:
                data_samples = out['data_samples']
        return dict(inputs=batches, data_samples=data_samples)

    def _batch(self, data: dict, training: bool) -> dict:
        """Batch, normalise and pad one list of images (or one batch)."""
        inputs = data['inputs']
        div = self.pad_size_divisor
        if isinstance(inputs, (list, tuple)):
            shapes = [tuple(x.shape[-2:]) for x in inputs]
        else:
            shapes = [tuple(inputs.shape[-2:])] * inputs.shape[0]
        pad_shapes = [(math.ceil(h / div) * div, math.ceil(w / div) * div)
                      for h, w in shapes]
        data = super().forward(data=data, training=training)
        inputs, data_samples = data['inputs'], data['data_samples']
        if data_samples is not None:
            batch_input_shape = tuple(inputs.shape[-2:])
            for sample, shape in zip(data_samples, pad_shapes):
                sample.set_metainfo(dict(batch_input_shape=batch_input_shape,
                                         pad_shape=shape))
            if training and self.batch_augments is not None:
                for aug in self.batch_augments:
                    inputs, data_samples = aug(inputs, data_samples)
        return dict(inputs=inputs, data_samples=data_samples)


def _is_multiscale(inputs: object) -> bool:
    """Whether collated ``inputs`` hold several scales: a list whose items
    are lists of images or ``(B, C, H, W)`` batches (a plain batch is a
    list of ``(C, H, W)`` images or one 4-D tensor)."""
    if not isinstance(inputs, (list, tuple)) or not inputs:
        return False
    return all(isinstance(x, (list, tuple)) or (
        isinstance(x, torch.Tensor) and x.ndim == 4) for x in inputs)
