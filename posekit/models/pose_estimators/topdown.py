"""Top-down pose estimator: one person crop in, its keypoints out."""
from itertools import zip_longest
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike
from torch import Tensor

from posekit.registry import MODELS
from posekit.utils.typing import (ConfigType, InstanceList, MultiConfig,
                                  OptConfigType, OptMultiConfig,
                                  PixelDataList, SampleList)
from .base import BasePoseEstimator

def input_to_image_coords(keypoints: np.ndarray, input_size: ArrayLike,
                          input_center: ArrayLike,
                          input_scale: ArrayLike) -> np.ndarray:
    """Map ``keypoints (..., 2)`` from input-crop pixels to original-image
    pixels: ``x_img = x_in / input_size * input_scale + input_center -
    input_scale / 2`` (sizes and scales are (w, h))."""
    size = np.asarray(input_size, dtype=np.float64)
    scale = np.asarray(input_scale, dtype=np.float64)
    center = np.asarray(input_center, dtype=np.float64)
    out = keypoints / size * scale + center - 0.5 * scale
    return out.astype(np.asarray(keypoints).dtype, copy=False)


@MODELS.register_module()
class TopdownPoseEstimator(BasePoseEstimator):
    """Top-down estimator: each input is a crop around one person.

    Args (beyond :class:`BasePoseEstimator`'s):
        auxiliary_head: config, or list of configs, of heads used only in
            training; their losses are added with keys prefixed ``aux_``
            (one head) or ``aux{i}_`` (a list). They never run in
            'predict' or 'tensor' mode. A head whose ``loss`` accepts an
            ``inputs`` keyword also gets the preprocessed input batch
            ``(B, C, H, W)`` (e.g. for a teacher network that sees the
            images); other heads are called as ``loss(feats, data_samples,
            train_cfg=...)``.

    ``test_cfg.drop_auxiliary=True`` builds the model for inference only:
    the auxiliary heads are not built at all, and ``auxiliary_head.*``
    entries of a loaded checkpoint are ignored, so a training checkpoint
    loads strictly. Use it at test time, e.g. ``tools/test.py CONFIG CKPT
    --cfg-options model.test_cfg.drop_auxiliary=True``; with it set in a
    training config, the auxiliary losses are simply absent.
    """

    def __init__(self, backbone: ConfigType, neck: OptConfigType = None,
                 head: OptConfigType = None, train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 metainfo: Optional[dict] = None,
                 auxiliary_head: Optional[MultiConfig] = None,
                 use_syncbn: bool = False):
        super().__init__(backbone=backbone, neck=neck, head=head,
                         train_cfg=train_cfg, test_cfg=test_cfg,
                         data_preprocessor=data_preprocessor,
                         use_syncbn=use_syncbn, init_cfg=init_cfg,
                         metainfo=metainfo)
        self._init_auxiliary_heads(auxiliary_head)

    def predict(self, inputs: Tensor, data_samples: SampleList) -> SampleList:
        """Predict keypoints and store them, in original-image pixels, in
        ``data_samples[i].pred_instances``.

        With ``test_cfg.flip_test`` the head also gets the features of the
        horizontally flipped inputs.

        Raises:
            ValueError: the model has no head.
        """
        if not self.with_head:
            raise ValueError('TopdownPoseEstimator.predict needs a head; set '
                             'model.head in the config')
        preds = self.head.predict(self._test_features(inputs), data_samples,
                                  test_cfg=self.test_cfg)
        instances, fields = self._split_predictions(preds)
        return self.add_pred_to_datasample(instances, fields, data_samples)

    def add_pred_to_datasample(self, batch_pred_instances: InstanceList,
                               batch_pred_fields: Optional[PixelDataList],
                               batch_data_samples: SampleList) -> SampleList:
        """Write predictions into the data samples, mapping keypoints from
        input pixels to original-image pixels with each sample's
        ``input_size``, ``input_center`` and ``input_scale`` metainfo.

        Sets ``pred_instances.keypoints`` ``(N, K, 2)``,
        ``keypoint_scores`` ``(N, K)``, ``keypoints_visible`` (the scores
        unless decoded), ``bboxes``/``bbox_scores`` (from
        ``gt_instances``) and, when given, ``pred_fields``. With
        ``test_cfg.output_keypoint_indices`` only those keypoints are kept.

        Raises:
            ValueError: the numbers of predictions and samples differ.
            KeyError: a sample lacks one of the metainfo keys.
        """
        if len(batch_pred_instances) != len(batch_data_samples):
            raise ValueError(f'{len(batch_pred_instances)} predictions for '
                             f'{len(batch_data_samples)} data samples')
        keep = self.test_cfg.get('output_keypoint_indices', None)
        for i, (pred, fields, sample) in enumerate(zip_longest(
                batch_pred_instances, batch_pred_fields or [],
                batch_data_samples)):
            meta = sample.metainfo
            missing = [k for k in ('input_size', 'input_center',
                                   'input_scale') if k not in meta]
            if missing:
                raise KeyError(f'data sample {i} lacks metainfo {missing}; '
                               'TopdownAffine sets them and PackPoseInputs '
                               'must keep them in meta_keys')
            kpts = np.array(pred.keypoints, copy=True)
            kpts[..., :2] = input_to_image_coords(
                kpts[..., :2], meta['input_size'], meta['input_center'],
                meta['input_scale'])
            pred.keypoints = kpts
            if 'keypoints_visible' not in pred:
                pred.keypoints_visible = pred.keypoint_scores
            if keep is not None:
                for key in ('keypoints', 'keypoint_scores',
                            'keypoints_visible'):
                    pred.set_field(pred.get(key)[:, keep], key)
            gt = sample.get('gt_instances')
            if gt is not None:
                for key in ('bboxes', 'bbox_scores'):
                    if key in gt:
                        pred.set_field(gt.get(key), key)
            sample.pred_instances = pred
            if fields is not None:
                if keep is not None:
                    fields = fields.clone()
                    for key in fields.keys():
                        fields.set_field(fields.get(key)[keep], key)
                sample.pred_fields = fields
        return batch_data_samples
