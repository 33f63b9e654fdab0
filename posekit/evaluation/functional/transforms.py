"""Re-index keypoints between datasets' layouts for evaluation.

A mapping is a list of ``(source_index, target_index)`` integer pairs (the
``mapping`` of a ``KeypointConverter`` config): joint ``source_index`` of
the source layout becomes joint ``target_index`` of a layout with
``num_keypoints`` joints. Target joints no pair fills are zero (sigmas: 1).
"""
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

Mapping = Sequence[Tuple[int, int]]


def _split_mapping(mapping: Mapping, num_keypoints: int
                   ) -> Tuple[np.ndarray, np.ndarray]:
    pairs = list(mapping)
    for pair in pairs:
        ok = (isinstance(pair, (tuple, list)) and len(pair) == 2
              and all(isinstance(i, (int, np.integer)) for i in pair))
        if not ok:
            raise ValueError(
                f'keypoint mapping entry {pair!r} is not a pair of integer '
                'indices (source, target)')
    if not pairs:
        return np.zeros(0, int), np.zeros(0, int)
    src, dst = (np.array(v, dtype=int) for v in zip(*pairs))
    if dst.max() >= num_keypoints or dst.min() < 0:
        raise ValueError(f'keypoint mapping targets must be in [0, '
                         f'{num_keypoints}), got {dst.tolist()}')
    return src, dst


def transform_sigmas(sigmas: Union[List, np.ndarray], num_keypoints: int,
                     mapping: Mapping) -> Union[List, np.ndarray]:
    """(K_src,) sigmas -> (num_keypoints,) in the target layout (list in,
    list out)."""
    src, dst = _split_mapping(mapping, num_keypoints)
    arr = np.asarray(sigmas)
    out = np.ones(num_keypoints, dtype=arr.dtype)
    out[dst] = arr[src]
    return out.tolist() if isinstance(sigmas, list) else out


def transform_ann(ann_info: Union[Dict, List[Dict]], num_keypoints: int,
                  mapping: Mapping) -> Union[Dict, List[Dict]]:
    """Re-index COCO-format annotations in place (flat x, y, v lists);
    ``num_keypoints``, where present, becomes the target count."""
    src, dst = _split_mapping(mapping, num_keypoints)
    anns = ann_info if isinstance(ann_info, list) else [ann_info]
    for ann in anns:
        if 'keypoints' in ann:
            kpts = np.asarray(ann['keypoints']).reshape(-1, 3)
            out = np.zeros((num_keypoints, 3), dtype=kpts.dtype)
            out[dst] = kpts[src]
            ann['keypoints'] = out.reshape(-1).tolist()
        if 'num_keypoints' in ann:
            ann['num_keypoints'] = num_keypoints
    return ann_info


def transform_pred(pred_info: Union[Dict, List[Dict]], num_keypoints: int,
                   mapping: Mapping) -> Union[Dict, List[Dict]]:
    """Re-index predictions in place: ``keypoints`` (N, K, C) and
    ``keypoint_scores`` (N, K) go to the target layout."""
    src, dst = _split_mapping(mapping, num_keypoints)
    preds = pred_info if isinstance(pred_info, list) else [pred_info]
    for pred in preds:
        if 'keypoints' in pred:
            kpts = np.asarray(pred['keypoints'])
            out = np.zeros((kpts.shape[0], num_keypoints) + kpts.shape[2:],
                           dtype=kpts.dtype)
            out[:, dst] = kpts[:, src]
            pred['keypoints'] = out
            scores = np.asarray(pred['keypoint_scores'])
            new_scores = np.zeros((scores.shape[0], num_keypoints),
                                  dtype=scores.dtype)
            new_scores[:, dst] = scores[:, src]
            pred['keypoint_scores'] = new_scores
        if 'num_keypoints' in pred:
            pred['num_keypoints'] = num_keypoints
    return pred_info
