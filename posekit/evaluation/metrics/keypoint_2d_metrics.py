"""Coordinate-based 2D keypoint metrics (PCK), MMPose 1.x compatible."""
import warnings
from typing import Dict, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from posekit.registry import METRICS
from ..functional import keypoint_pck_accuracy

# norm_item -> name of the reported metric
_NORM_ITEMS = {'bbox': 'PCK', 'head': 'PCKh', 'torso': 'tPCK'}


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
class PCKAccuracy(BaseMetric):
    """Percentage of correct keypoints: the share of visible keypoints whose
    distance to the ground truth, divided by a per-instance size, is below
    ``thr``.

    Args:
        thr: threshold on the normalised distance.
        norm_item: size(s) to normalise by: ``'bbox'`` (longer side of the
            ground-truth box, reported as ``PCK``), ``'head'``
            (``gt_instances.head_size``, ``PCKh``) or ``'torso'``
            (distance between keypoints 4 and 5, ``tPCK``); a list for
            several.
        collect_device, prefix: see mmengine's ``BaseMetric``.

    Raises:
        KeyError: an unknown ``norm_item``.
    """

    def __init__(self,
                 thr: float = 0.05,
                 norm_item: Union[str, Sequence[str]] = 'bbox',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thr = thr
        items = [norm_item] if isinstance(norm_item, str) else list(norm_item)
        for item in items:
            if item not in _NORM_ITEMS:
                raise KeyError(f'{type(self).__name__}: norm_item {item!r} '
                               f'is not one of {list(_NORM_ITEMS)}')
        self.norm_item = items

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Keep predicted and true keypoints (N, K, D), the visibility mask
        (N, K) and the normalisation sizes (N,) of each sample.

        Raises:
            KeyError: a needed field (``gt_instances.bboxes`` for 'bbox',
                ``head_size`` for 'head', ...) is missing.
            ValueError: prediction and ground-truth shapes disagree.
        """
        for sample in data_samples:
            pred = _to_numpy(sample['pred_instances']['keypoints'])
            gt = sample['gt_instances']
            gt_kpts = _to_numpy(gt['keypoints'])
            if pred.shape != gt_kpts.shape:
                raise ValueError(
                    f'{type(self).__name__}: predicted keypoints {pred.shape}'
                    f' and ground truth {gt_kpts.shape} differ (img_id '
                    f"{sample.get('img_id')})")
            num = len(gt_kpts)
            mask = _to_numpy(gt['keypoints_visible']).reshape(
                num, gt_kpts.shape[1], -1)[..., 0] > 0
            result = dict(pred=pred, gt=gt_kpts, mask=mask)
            for item in self.norm_item:
                result[item] = self._norm_size(item, sample, pred, gt_kpts)
            self.results.append(result)

    def _norm_size(self, item: str, sample: dict, pred: np.ndarray,
                   gt_kpts: np.ndarray) -> np.ndarray:
        gt = sample['gt_instances']
        num = len(gt_kpts)
        if item == 'bbox':
            if 'bboxes' not in gt:
                raise KeyError(f"{type(self).__name__}(norm_item='bbox') "
                               "needs gt_instances.bboxes (N, 4) xyxy")
            boxes = _to_numpy(gt['bboxes']).reshape(num, 4)
            return (boxes[:, 2:] - boxes[:, :2]).max(1)
        if item == 'head':
            if 'head_size' not in gt:
                raise KeyError(f"{type(self).__name__}(norm_item='head') "
                               'needs gt_instances.head_size')
            return _to_numpy(gt['head_size']).reshape(num)
        if gt_kpts.shape[1] < 6:
            raise ValueError(f"{type(self).__name__}(norm_item='torso') "
                             'uses keypoints 4 and 5, but there are only '
                             f'{gt_kpts.shape[1]}')
        torso = np.linalg.norm(gt_kpts[:, 4] - gt_kpts[:, 5], axis=-1)
        small = torso < 1
        if small.any():
            # a degenerate ground-truth torso: fall back to the prediction's
            warnings.warn('Ground-truth torso size < 1; using the torso size '
                          'of the predicted keypoints instead.')
            torso = np.where(
                small, np.linalg.norm(pred[:, 4] - pred[:, 5], axis=-1),
                torso)
        return torso

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Returns ``PCK``/``PCKh``/``tPCK`` for the configured norm items.

        Raises:
            ValueError: no results.
        """
        if not results:
            raise ValueError(f'{type(self).__name__}: no results to '
                             'evaluate')
        logger: MMLogger = MMLogger.get_current_instance()
        pred = np.concatenate([r['pred'] for r in results])
        gt = np.concatenate([r['gt'] for r in results])
        mask = np.concatenate([r['mask'] for r in results])
        metrics = dict()
        for item in self.norm_item:
            size = np.concatenate([r[item] for r in results])
            logger.info(f'Evaluating {type(self).__name__} (normalized by '
                        f'"{item}_size")...')
            norm = np.repeat(size[:, None], pred.shape[2], axis=1)
            _, acc, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr, norm)
            metrics[_NORM_ITEMS[item]] = acc
        return metrics
