"""Bottom-up pose estimator: a whole image in, every person's keypoints
out (detected, then grouped by the head)."""
from itertools import zip_longest
from typing import List, Optional, Union

import numpy as np
from torch import Tensor

from posekit.registry import MODELS
from posekit.utils.typing import (ConfigType, ForwardResults, InstanceList,
                                  MultiConfig, OptConfigType, OptMultiConfig,
                                  OptSampleList, PixelDataList, SampleList)
from .base import BasePoseEstimator
from .topdown import input_to_image_coords

_META_KEYS = ('input_size', 'input_center', 'input_scale')


def keypoint_bboxes(keypoints: np.ndarray) -> np.ndarray:
    """``(N, 4)`` xyxy extents of ``keypoints (N, K, 2)`` (zeros for
    K = 0)."""
    if keypoints.shape[1] == 0:
        return np.zeros((keypoints.shape[0], 4), dtype=np.float32)
    return np.concatenate([keypoints.min(axis=1), keypoints.max(axis=1)],
                          axis=1).astype(np.float32)


def _is_pyramid(inputs: object) -> bool:
    """Whether ``inputs`` is a list of ``(B, C, H, W)`` batches, one per
    test scale."""
    return isinstance(inputs, (list, tuple)) and len(inputs) > 0 and all(
        isinstance(x, Tensor) and x.ndim == 4 for x in inputs)


@MODELS.register_module()
class BottomupPoseEstimator(BasePoseEstimator):
    """Bottom-up estimator: the head detects keypoints of all persons in
    the image and groups them (e.g. by associative embedding).

    Args (beyond :class:`BasePoseEstimator`'s): ``auxiliary_head``, a
    config or list of configs of training-only heads, as in
    :class:`TopdownPoseEstimator`.

    test_cfg keys read here: ``flip_test`` (the head also gets the
    features of the mirrored input), ``multiscale_test`` (``inputs`` is
    a list of batches, base scale first, one per scale of
    ``BottomupResize(aug_scales=...)``); the head reads the rest
    (``shift_heatmap``, ``restore_heatmap_size``, ``align_corners``,
    ``multiscale_tags``, ``output_heatmaps``).

    ``pred_instances`` hold, in original-image pixels: ``keypoints (N, K,
    2)``, ``keypoint_scores (N, K)``, ``keypoints_visible`` (the scores),
    ``bboxes (N, 4)`` (the keypoints' extents) and ``bbox_scores (N,)``
    (the instance scores of the grouping).
    """

    def __init__(self, backbone: ConfigType, neck: OptConfigType = None,
                 head: OptConfigType = None, train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 use_syncbn: bool = False,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 metainfo: Optional[dict] = None,
                 auxiliary_head: Optional[MultiConfig] = None):
        super().__init__(backbone=backbone, neck=neck, head=head,
                         train_cfg=train_cfg, test_cfg=test_cfg,
                         data_preprocessor=data_preprocessor,
                         use_syncbn=use_syncbn, init_cfg=init_cfg,
                         metainfo=metainfo)
        self._init_auxiliary_heads(auxiliary_head)

    def forward(self, inputs: Union[Tensor, List[Tensor]],
                data_samples: OptSampleList = None,
                mode: str = 'tensor') -> ForwardResults:
        """As :meth:`BasePoseEstimator.forward`; ``inputs`` may also be a
        list of ``(B, C, H, W)`` batches (multi-scale test), which
        'predict' uses whole and 'loss'/'tensor' at the base scale."""
        if _is_pyramid(inputs):
            if mode != 'predict':
                return super().forward(inputs[0], data_samples, mode)
            if data_samples is None:
                raise ValueError("forward(mode='predict') needs "
                                 'data_samples')
            if self.metainfo is not None:
                for sample in data_samples:
                    sample.set_metainfo(self.metainfo)
            return self.predict(list(inputs), data_samples)
        return super().forward(inputs, data_samples, mode)

    def predict(self, inputs: Union[Tensor, List[Tensor]],
                data_samples: SampleList) -> SampleList:
        """Predict all persons and store them, in original-image pixels, in
        ``data_samples[i].pred_instances``.

        Raises:
            ValueError: no head, or ``inputs`` does not match
                ``test_cfg.multiscale_test`` (a list of batches exactly
                when it is set).
        """
        if not self.with_head:
            raise ValueError('BottomupPoseEstimator.predict needs a head; '
                             'set model.head in the config')
        multiscale = self.test_cfg.get('multiscale_test', False)
        if multiscale != _is_pyramid(inputs):
            raise ValueError(
                'test_cfg.multiscale_test is set but inputs is one batch; '
                'the test pipeline needs BottomupResize(aug_scales=[...])'
                if multiscale else 'inputs is a list of scales but '
                'test_cfg.multiscale_test is not set; set it, or drop '
                'aug_scales from BottomupResize')
        pyramid = list(inputs) if multiscale else [inputs]
        feats = [self._test_features(batch) for batch in pyramid]
        preds = self.head.predict(feats if multiscale else feats[0],
                                  data_samples, test_cfg=self.test_cfg)
        instances, fields = self._split_predictions(preds)
        return self.add_pred_to_datasample(instances, fields, data_samples)

    def add_pred_to_datasample(self, batch_pred_instances: InstanceList,
                               batch_pred_fields: Optional[PixelDataList],
                               batch_data_samples: SampleList) -> SampleList:
        """Write predictions into the data samples with keypoints mapped
        from input pixels to original-image pixels (``x_img = x_in /
        input_size * input_scale + input_center - input_scale / 2``), boxes
        from the mapped keypoints' extents; ``bbox_scores`` are the head's
        instance scores.

        Raises:
            ValueError: the numbers of predictions and samples differ.
            KeyError: a sample lacks one of the metainfo keys.
        """
        if len(batch_pred_instances) != len(batch_data_samples):
            raise ValueError(f'{len(batch_pred_instances)} predictions for '
                             f'{len(batch_data_samples)} data samples')
        for i, (pred, fields, sample) in enumerate(zip_longest(
                batch_pred_instances, batch_pred_fields or [],
                batch_data_samples)):
            meta = sample.metainfo
            missing = [k for k in _META_KEYS if k not in meta]
            if missing:
                raise KeyError(f'data sample {i} lacks metainfo {missing}; '
                               'BottomupResize / BottomupRandomAffine set '
                               'them and PackPoseInputs must keep them in '
                               'meta_keys')
            kpts = np.array(pred.keypoints, dtype=np.float32, copy=True)
            kpts[..., :2] = input_to_image_coords(
                kpts[..., :2], meta['input_size'], meta['input_center'],
                meta['input_scale'])
            pred.keypoints = kpts
            if 'keypoints_visible' not in pred:
                pred.keypoints_visible = pred.keypoint_scores
            pred.bboxes = keypoint_bboxes(kpts[..., :2])
            sample.pred_instances = pred
            if fields is not None:
                sample.pred_fields = fields
        return batch_data_samples
