"""Coordinate-based 2D keypoint metrics (PCK, AUC, EPE, NME), MMPose 1.x
compatible.

Each metric reads, per sample, ``pred_instances.keypoints`` and
``gt_instances.keypoints`` (N, K, D) in the same space (original-image
pixels in a normal test loop) and ``gt_instances.keypoints_visible``; a
keypoint counts when its visibility is > 0.
"""
import warnings
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from posekit.registry import METRICS
from ..functional import (keypoint_auc, keypoint_epe, keypoint_nme,
                          keypoint_pck_accuracy)

__all__ = ['PCKAccuracy', 'AUC', 'EPE', 'NME']

# norm_item -> name of the reported metric
_NORM_ITEMS = {'bbox': 'PCK', 'head': 'PCKh', 'torso': 'tPCK'}


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _gather_keypoints(metric: BaseMetric,
                      sample: dict) -> Tuple[np.ndarray, np.ndarray,
                                             np.ndarray]:
    """Predicted and true keypoints (N, K, D) and the (N, K) bool mask of
    labelled keypoints of one sample.

    Raises:
        KeyError: ``pred_instances`` or ``gt_instances`` lacks a field.
        ValueError: prediction and ground-truth shapes differ.
    """
    name = type(metric).__name__
    for group, key in (('pred_instances', 'keypoints'),
                       ('gt_instances', 'keypoints'),
                       ('gt_instances', 'keypoints_visible')):
        if group not in sample or key not in sample[group]:
            raise KeyError(f'{name} needs {group}.{key} in each data sample '
                           f"(img_id {sample.get('img_id')})")
    pred = _to_numpy(sample['pred_instances']['keypoints'])
    gt_kpts = _to_numpy(sample['gt_instances']['keypoints'])
    if pred.shape != gt_kpts.shape:
        raise ValueError(
            f'{name}: predicted keypoints {pred.shape} and ground truth '
            f"{gt_kpts.shape} differ (img_id {sample.get('img_id')})")
    # visibility may come as (N, K) or (N, K, 1)
    mask = _to_numpy(sample['gt_instances']['keypoints_visible']).reshape(
        gt_kpts.shape[0], gt_kpts.shape[1], -1)[..., 0] > 0
    return pred, gt_kpts, mask


def _stack(metric: BaseMetric, results: list,
           key: str = '') -> Tuple[np.ndarray, ...]:
    """Concatenated (pred, gt, mask) of all results (and ``key`` if given).

    Raises:
        ValueError: no results (nothing was processed).
    """
    if not results:
        raise ValueError(f'{type(metric).__name__}: no results to evaluate '
                         '(process() was never given a sample)')
    keys = ('pred', 'gt', 'mask') + ((key, ) if key else ())
    return tuple(np.concatenate([r[k] for r in results]) for k in keys)


def _bbox_sizes(metric: BaseMetric, gt: dict, num: int,
                option: str) -> np.ndarray:
    """(N,) longer side of each ``gt_instances.bboxes`` (N, 4) xyxy box."""
    if 'bboxes' not in gt:
        raise KeyError(f'{type(metric).__name__}({option}) needs '
                       'gt_instances.bboxes (N, 4) xyxy')
    boxes = _to_numpy(gt['bboxes']).reshape(num, 4)
    return (boxes[:, 2:] - boxes[:, :2]).max(1)


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
            pred, gt_kpts, mask = _gather_keypoints(self, sample)
            result = dict(pred=pred, gt=gt_kpts, mask=mask)
            for item in self.norm_item:
                result[item] = self._norm_size(item, sample, pred, gt_kpts)
            self.results.append(result)

    def _norm_size(self, item: str, sample: dict, pred: np.ndarray,
                   gt_kpts: np.ndarray) -> np.ndarray:
        gt = sample['gt_instances']
        num = len(gt_kpts)
        if item == 'bbox':
            return _bbox_sizes(self, gt, num, "norm_item='bbox'")
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
        pred, gt, mask = _stack(self, results)
        logger: MMLogger = MMLogger.get_current_instance()
        metrics = dict()
        for item in self.norm_item:
            size = np.concatenate([r[item] for r in results])
            logger.info(f'Evaluating {type(self).__name__} (normalized by '
                        f'"{item}_size")...')
            norm = np.repeat(size[:, None], pred.shape[2], axis=1)
            _, acc, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr, norm)
            metrics[_NORM_ITEMS[item]] = acc
        return metrics


class _CoordinateMetric(BaseMetric):
    """Keeps (pred, gt, mask) of every sample; subclasses compute."""

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Keep predicted and true keypoints (N, K, D) and the (N, K) mask.

        Raises:
            KeyError: a keypoint field is missing.
            ValueError: prediction and ground-truth shapes differ.
        """
        for sample in data_samples:
            pred, gt, mask = _gather_keypoints(self, sample)
            self.results.append(dict(pred=pred, gt=gt, mask=mask))


@METRICS.register_module()
class AUC(_CoordinateMetric):
    """Area under the PCK curve, reported as ``AUC``: the mean PCK over the
    thresholds 0, 1/n, ..., (n-1)/n of the distance divided by the fixed
    ``norm_factor`` (pixels).

    Args:
        norm_factor: the distance (pixels) a threshold of 1 stands for.
        num_thrs: number n of thresholds.
        collect_device, prefix: see mmengine's ``BaseMetric``.

    Raises:
        ValueError: ``norm_factor`` <= 0 or ``num_thrs`` < 1.
    """

    def __init__(self,
                 norm_factor: float = 30,
                 num_thrs: int = 20,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not norm_factor > 0:
            raise ValueError(f'AUC: norm_factor must be > 0 pixels, got '
                             f'{norm_factor!r}')
        if not isinstance(num_thrs, int) or num_thrs < 1:
            raise ValueError(f'AUC: num_thrs must be an int >= 1, got '
                             f'{num_thrs!r}')
        self.norm_factor = norm_factor
        self.num_thrs = num_thrs

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """``{'AUC': value in [0, 1]}``. Raises ValueError for no results."""
        pred, gt, mask = _stack(self, results)
        MMLogger.get_current_instance().info('Evaluating AUC...')
        return dict(AUC=keypoint_auc(pred, gt, mask, self.norm_factor,
                                     self.num_thrs))


@METRICS.register_module()
class EPE(_CoordinateMetric):
    """End-point error, reported as ``EPE``: the mean Euclidean distance
    (pixels) between predicted and labelled keypoints.

    Args:
        collect_device, prefix: see mmengine's ``BaseMetric``.
    """

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """``{'EPE': mean distance}``. Raises ValueError for no results."""
        pred, gt, mask = _stack(self, results)
        MMLogger.get_current_instance().info('Evaluating EPE...')
        return dict(EPE=keypoint_epe(pred, gt, mask))


@METRICS.register_module()
class NME(BaseMetric):
    """Normalised mean error, reported as ``NME``: the mean distance between
    predicted and labelled keypoints divided by a per-instance size.

    Args:
        norm_mode: ``'use_norm_item'`` (the size is the ground-truth field
            ``gt_instances.<norm_item>``, or the longer box side for
            ``norm_item='bbox_size'``) or
            ``'keypoint_distance'`` (the size is the ground-truth distance
            between the two keypoints ``keypoint_indices``).
        norm_item: the ground-truth field to normalise by; needed with
            ``'use_norm_item'``.
        keypoint_indices: two keypoint indices; with ``'keypoint_distance'``
            and None, the dataset's default pair from
            ``DEFAULT_KEYPOINT_INDICES`` (by ``dataset_meta['dataset_name']``).
        collect_device, prefix: see mmengine's ``BaseMetric``.

    Raises:
        KeyError: an unknown ``norm_mode``, or ``'use_norm_item'`` without a
            ``norm_item``.
        ValueError: ``keypoint_indices`` is not a pair of ints.
    """

    # the outer eye corners of face datasets, nose and eye for horse-10
    DEFAULT_KEYPOINT_INDICES = {
        'horse10': [0, 1],
        '300w': [36, 45],
        'coco_wholebody_face': [36, 45],
        'cofw': [8, 9],
        'wflw': [60, 72],
        'lapa': [66, 79],
    }
    _NORM_MODES = ('use_norm_item', 'keypoint_distance')

    def __init__(self,
                 norm_mode: str,
                 norm_item: Optional[str] = None,
                 keypoint_indices: Optional[Sequence[int]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if norm_mode not in self._NORM_MODES:
            raise KeyError(f'NME: norm_mode {norm_mode!r} is not one of '
                           f'{list(self._NORM_MODES)}')
        if norm_mode == 'use_norm_item' and not norm_item:
            raise KeyError("NME(norm_mode='use_norm_item') needs norm_item: "
                           "the gt_instances field to normalise by, e.g. "
                           "'bbox_size'")
        if keypoint_indices is not None:
            indices = list(keypoint_indices)
            if len(indices) != 2 or not all(
                    isinstance(i, (int, np.integer)) and i >= 0
                    for i in indices):
                raise ValueError('NME: keypoint_indices must be a pair of '
                                 'keypoint indices (two ints >= 0), got '
                                 f'{keypoint_indices!r}')
            keypoint_indices = [int(i) for i in indices]
        self.norm_mode = norm_mode
        self.norm_item = norm_item
        self.keypoint_indices = keypoint_indices

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Keep keypoints, the mask and, with ``'use_norm_item'``, the (N,)
        normalisation size of each sample.

        Raises:
            KeyError: a keypoint field or the ``norm_item`` is missing.
            ValueError: prediction and ground-truth shapes differ.
        """
        for sample in data_samples:
            pred, gt_kpts, mask = _gather_keypoints(self, sample)
            result = dict(pred=pred, gt=gt_kpts, mask=mask)
            if self.norm_mode == 'use_norm_item':
                result['size'] = self._item_size(sample, len(gt_kpts))
            self.results.append(result)

    def _item_size(self, sample: dict, num: int) -> np.ndarray:
        gt = sample['gt_instances']
        if self.norm_item == 'bbox_size':
            return _bbox_sizes(self, gt, num, "norm_item='bbox_size'")
        if self.norm_item not in gt:
            raise KeyError(f'NME(norm_item={self.norm_item!r}) needs '
                           f'gt_instances.{self.norm_item}; the sample has '
                           f'{sorted(gt.keys())}')
        return _to_numpy(gt[self.norm_item]).reshape(num)

    def _pair(self, num_keypoints: int) -> Sequence[int]:
        """The two keypoints whose distance normalises."""
        meta = self.dataset_meta or {}
        pair = self.keypoint_indices
        if pair is None:
            name = meta.get('dataset_name')
            if name not in self.DEFAULT_KEYPOINT_INDICES:
                raise KeyError(
                    "NME(norm_mode='keypoint_distance') has no "
                    f'keypoint_indices and dataset {name!r} has no default '
                    'pair; set keypoint_indices or use one of '
                    f'{sorted(self.DEFAULT_KEYPOINT_INDICES)}')
            pair = self.DEFAULT_KEYPOINT_INDICES[name]
        if max(pair) >= num_keypoints:
            raise ValueError(f'NME: keypoint_indices {list(pair)} do not '
                             f'fit the {num_keypoints} keypoints of '
                             f"dataset {meta.get('dataset_name')!r}")
        return pair

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """``{'NME': mean normalised distance}``.

        Raises:
            ValueError: no results, or ``keypoint_indices`` out of range.
            KeyError: no keypoint pair for ``'keypoint_distance'``.
        """
        MMLogger.get_current_instance().info('Evaluating NME...')
        if self.norm_mode == 'use_norm_item':
            pred, gt, mask, size = _stack(self, results, 'size')
        else:
            pred, gt, mask = _stack(self, results)
            first, second = self._pair(gt.shape[1])
            size = np.linalg.norm(gt[:, first] - gt[:, second], axis=-1)
        norm = np.repeat(size[:, None], pred.shape[2], axis=1)
        return dict(NME=keypoint_nme(pred, gt, mask, norm))
