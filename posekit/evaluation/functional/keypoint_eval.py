"""Keypoint accuracy measures on coordinate arrays: PCK, AUC, EPE, NME.

All take predictions and ground truth as (N, K, D) arrays in the same
space (pixels, usually) and a (N, K) boolean ``mask`` of keypoints that
count. A keypoint is "valid" when its mask is set and its instance's
normalisation factor is non-zero.
"""
from typing import Tuple

import numpy as np


def _check_shapes(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                  where: str) -> None:
    if pred.shape != gt.shape or pred.ndim != 3:
        raise ValueError(f'{where}: pred and gt must both be (N, K, D), got '
                         f'{pred.shape} and {gt.shape}')
    if mask.shape != pred.shape[:2]:
        raise ValueError(f'{where}: mask must be (N, K) = {pred.shape[:2]}, '
                         f'got {mask.shape}')


def _calc_distances(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                    norm_factor: np.ndarray) -> np.ndarray:
    """Normalised distances, (K, N); -1 where the keypoint is not valid.

    ``norm_factor`` is (N, D); an instance with any zero factor is left out
    entirely, and negative factors count as very large (1e6).
    """
    norm = np.array(norm_factor, dtype=np.float64)
    valid = np.asarray(mask, dtype=bool) & ~(norm == 0).any(1)[:, None]
    norm[norm <= 0] = 1e6
    dist = np.linalg.norm((pred - gt) / norm[:, None, :], axis=-1)
    return np.where(valid, dist, -1.).T


def _accuracy_per_keypoint(distances: np.ndarray,
                           thrs: np.ndarray) -> np.ndarray:
    """(K, N) distances, (T,) thresholds -> (T, K) share below threshold,
    -1 for a keypoint with no valid distance."""
    valid = distances != -1
    count = valid.sum(1)
    below = ((distances[None] < thrs[:, None, None]) & valid).sum(2)
    return np.where(count > 0, below / np.maximum(count, 1), -1.)


def keypoint_pck_accuracy(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                          thr: float,
                          norm_factor: np.ndarray) -> Tuple[np.ndarray,
                                                            float, int]:
    """Percentage of correct keypoints (normalised distance < ``thr``).

    Args:
        pred, gt: (N, K, D) coordinates; mask: (N, K) keypoints that count.
        thr: threshold on the normalised distance.
        norm_factor: (N, D) per-instance normalisation (e.g. box size).

    Returns:
        acc: (K,) accuracy per keypoint (-1 where no keypoint was valid);
        avg_acc: mean over keypoints with acc >= 0 (0 if none);
        cnt: the number of such keypoints.

    Raises:
        ValueError: the shapes of pred, gt and mask disagree.
    """
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    _check_shapes(pred, gt, np.asarray(mask), 'keypoint_pck_accuracy')
    distances = _calc_distances(pred, gt, mask, norm_factor)
    acc = _accuracy_per_keypoint(distances, np.array([thr], float))[0]
    valid_acc = acc[acc >= 0]
    cnt = len(valid_acc)
    avg_acc = float(valid_acc.mean()) if cnt > 0 else 0.0
    return acc, avg_acc, cnt


def keypoint_auc(pred: np.ndarray,
                 gt: np.ndarray,
                 mask: np.ndarray,
                 norm_factor: float,
                 num_thrs: int = 20) -> float:
    """Area under the PCK curve for thresholds 0, 1/n, ..., (n-1)/n.

    ``norm_factor`` is one scalar for every instance and both axes; the
    result is the mean of the average PCK over the ``num_thrs`` thresholds.

    Raises:
        ValueError: the shapes disagree or ``num_thrs`` < 1.
    """
    if num_thrs < 1:
        raise ValueError(f'keypoint_auc: num_thrs must be >= 1, got '
                         f'{num_thrs}')
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    _check_shapes(pred, gt, np.asarray(mask), 'keypoint_auc')
    norm = np.full((pred.shape[0], pred.shape[2]), norm_factor, float)
    distances = _calc_distances(pred, gt, mask, norm)
    thrs = np.arange(num_thrs) / num_thrs
    acc = _accuracy_per_keypoint(distances, thrs)  # (T, K)
    used = acc[0] >= 0  # validity does not depend on the threshold
    if not used.any():
        return 0.0
    return float(acc[:, used].mean(1).sum() / num_thrs)


def keypoint_epe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> float:
    """Mean end-point error: the average Euclidean distance over the masked
    keypoints (0 when none are masked).

    Raises:
        ValueError: the shapes disagree.
    """
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    _check_shapes(pred, gt, np.asarray(mask), 'keypoint_epe')
    distances = _calc_distances(pred, gt, mask,
                                np.ones((pred.shape[0], pred.shape[2])))
    valid = distances[distances != -1]
    return float(valid.sum() / max(1, len(valid)))


def keypoint_nme(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                 normalize_factor: np.ndarray) -> float:
    """Normalised mean error: average distance divided by the (N, D)
    per-instance ``normalize_factor``, over valid keypoints.

    Raises:
        ValueError: the shapes disagree.
    """
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    _check_shapes(pred, gt, np.asarray(mask), 'keypoint_nme')
    distances = _calc_distances(pred, gt, mask, normalize_factor)
    valid = distances[distances != -1]
    return float(valid.sum() / max(1, len(valid)))
