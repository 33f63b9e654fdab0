"""Per-sample predictions for :class:`CocoMetric` and their pooled arrays.

:func:`gather_predictions` reads one data sample (a dict, as mmengine's
evaluator passes it) into a compact dict of numpy arrays;
:class:`PredictionArrays` concatenates all of them, drops repeated samples
and orders the instances by image.
"""
from dataclasses import dataclass
from typing import Any, Dict, Sequence

import numpy as np


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def gather_predictions(sample: dict) -> Dict[str, Any]:
    """One sample's instances, checked but not converted (that happens
    once for all samples in :meth:`PredictionArrays.from_results`).

    Keeps ``id``, ``img_id``, ``category_id``, ``keypoints`` (N, K, 2),
    ``keypoint_scores`` (N, K) and, where given, ``bbox_scores`` (from
    ``pred_instances``, else from ``gt_instances`` for top-down detections),
    ``areas`` (``pred_instances.areas``, else the product of
    ``gt_instances.bbox_scales``: w * h of the padded box) and ``bboxes``
    (N, 4) xyxy.

    Raises:
        KeyError: ``img_id`` or ``pred_instances`` (with ``keypoints`` and
            ``keypoint_scores``) is missing.
        ValueError: the arrays' shapes disagree.
    """
    if 'img_id' not in sample:
        raise KeyError("CocoMetric: a data sample has no 'img_id'; keys: "
                       f'{sorted(sample)}')
    img_id = sample['img_id']
    pred = sample.get('pred_instances')
    if pred is None or 'keypoints' not in pred or \
            'keypoint_scores' not in pred:
        raise KeyError(
            f'CocoMetric: the sample of image {img_id} needs pred_instances '
            'with keypoints (N, K, 2) and keypoint_scores (N, K)')
    kpts = _to_numpy(pred['keypoints'])
    scores = _to_numpy(pred['keypoint_scores'])
    if kpts.ndim != 3 or kpts.shape[2] < 2 or scores.shape != kpts.shape[:2]:
        raise ValueError(
            f'CocoMetric: the sample of image {img_id} has keypoints of '
            f'shape {kpts.shape} and keypoint_scores of shape {scores.shape}'
            '; expected (N, K, 2) and (N, K)')
    num = len(kpts)
    gt = sample.get('gt_instances') or {}
    out = dict(id=sample.get('id'), img_id=img_id,
               category_id=_category(sample.get('category_id', 1), num,
                                     img_id),
               keypoints=kpts[..., :2], keypoint_scores=scores)
    for key, value in (('bbox_scores', _per_instance(pred, gt, 'bbox_scores',
                                                     num)),
                       ('areas', pred.get('areas')),
                       ('bboxes', pred.get('bboxes'))):
        if value is not None:
            out[key] = _rows(value, num, key, img_id)
    if 'areas' not in out and _has_rows(gt, 'bbox_scales', num):
        out['bbox_scales'] = _rows(gt['bbox_scales'], num, 'bbox_scales',
                                   img_id)
    return out


def _category(value: Any, num: int, img_id: Any) -> Any:
    """The category of each predicted instance. A bottom-up sample lists
    its ground-truth persons' categories, which need not be as many as the
    predictions; a single category then applies to all of them."""
    if np.ndim(value) == 0:
        return value
    values = np.reshape(value, -1)
    if len(values) == num:
        return values
    distinct = np.unique(values)
    if len(distinct) > 1:
        raise ValueError(
            f'CocoMetric: the sample of image {img_id} lists categories '
            f'{distinct.tolist()} for {len(values)} ground-truth instances '
            f'but has {num} predictions; give pred_instances one category '
            'per prediction (category_id) or a single category')
    return distinct[0].item() if len(distinct) else 1


def _has_rows(container: dict, key: str, num: int) -> bool:
    # bottom-up ground truth may list other instances than were predicted
    return key in container and len(container[key]) == num


def _per_instance(pred: dict, gt: dict, key: str, num: int) -> Any:
    if key in pred:
        return pred[key]
    if _has_rows(gt, key, num):
        return gt[key]
    return None


def _rows(value: Any, num: int, key: str, img_id: Any) -> np.ndarray:
    arr = _to_numpy(value)
    if len(arr) != num:
        raise ValueError(f'CocoMetric: the sample of image {img_id} has '
                         f'{len(arr)} {key} for {num} instances')
    return arr


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(np.asarray(value).reshape(-1).tolist())
    return value


@dataclass
class PredictionArrays:
    """All instances, ordered by image: ``img_ids`` (N,), ``image_rank``
    (N,) consecutive image index, ``keypoints`` (N, K, 2),
    ``keypoint_scores`` (N, K), ``bbox_scores``, ``areas``,
    ``category_ids`` (N,), ``bboxes`` (N, 4) xywh and ``has_bbox`` (N,)."""
    img_ids: np.ndarray
    image_rank: np.ndarray
    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    bbox_scores: np.ndarray
    areas: np.ndarray
    category_ids: np.ndarray
    bboxes: np.ndarray
    has_bbox: np.ndarray

    @classmethod
    def from_results(cls, preds: Sequence[dict]) -> 'PredictionArrays':
        """Pool the samples' predictions.

        A sample seen twice (same image and ``id``, as distributed
        samplers pad the last batch) counts once. Instances are sorted by
        image, then by sample ``id`` when the ids are integers (top-down:
        annotation ids), keeping the order within a sample.

        Raises:
            ValueError: samples have different numbers of keypoints.
        """
        seen = set()
        unique = []
        for pred in preds:
            key = (pred['img_id'], _hashable(pred['id']))
            if key not in seen:
                seen.add(key)
                unique.append(pred)
        num_kpts = {p['keypoints'].shape[1] for p in unique}
        if len(num_kpts) > 1:
            raise ValueError('CocoMetric: samples have different numbers of '
                             f'keypoints {sorted(num_kpts)}')
        counts = np.array([len(p['keypoints']) for p in unique])
        img_ids = np.repeat([p['img_id'] for p in unique], counts)
        ids = [p['id'] for p in unique]
        if all(isinstance(i, (int, np.integer)) for i in ids):
            order = np.lexsort((np.repeat(ids, counts), img_ids))
        else:
            order = np.argsort(img_ids, kind='stable')

        def cat(key: str, default=None) -> np.ndarray:
            parts = [p[key] if key in p else default(len(p['keypoints']))
                     for p in unique]
            return np.concatenate(parts)[order]

        def nan(width=None):
            return lambda n: np.full((n, ) if width is None else (n, width),
                                     np.nan)

        areas = cat('areas', nan()).astype(np.float64)
        if any('bbox_scales' in p for p in unique):
            scales = cat('bbox_scales', nan(2)).reshape(len(order), -1)
            areas = np.where(np.isnan(areas), np.prod(scales, axis=1), areas)
        bboxes = cat('bboxes', nan(4)).astype(np.float64).reshape(-1, 4)
        bboxes[:, 2:] -= bboxes[:, :2]  # xyxy -> xywh
        cats = [p['category_id'] for p in unique]
        if all(np.ndim(c) == 0 for c in cats):
            categories = np.repeat(cats, counts)
        else:  # per-instance category ids
            categories = np.concatenate([
                np.broadcast_to(np.reshape(c, -1), (n, ))
                for c, n in zip(cats, counts)])
        img_ids = img_ids[order]
        change = np.r_[False, img_ids[1:] != img_ids[:-1]]
        return cls(img_ids=img_ids, image_rank=np.cumsum(change),
                   keypoints=cat('keypoints'),
                   keypoint_scores=cat('keypoint_scores'),
                   bbox_scores=cat('bbox_scores', np.ones).astype(np.float64),
                   areas=areas,
                   category_ids=categories[order],
                   bboxes=bboxes,
                   has_bbox=np.repeat(['bboxes' in p for p in unique],
                                      counts)[order])

    def fill_areas(self) -> None:
        """Areas that no sample gave: the keypoints' bounding extent."""
        missing = np.isnan(self.areas)
        if missing.any():
            kpts = self.keypoints[missing].astype(np.float64)
            extent = kpts.max(1) - kpts.min(1)
            self.areas[missing] = extent[:, 0] * extent[:, 1]
