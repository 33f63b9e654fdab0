"""PCK accuracy of predicted heatmaps, normalised coordinates and SimCC
vectors, used as the training-time ``acc_pose`` figure of heads.

Numbers match MMPose 1.x's ``pose_pck_accuracy``/``simcc_pck_accuracy``,
including their choice of normalising the (x, y) distance by (H, W).
"""
from typing import Optional, Tuple

import numpy as np

from posekit.codecs.utils import get_simcc_maximum


def heatmap_argmax(heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Locations and values of the maxima of heatmaps ``(..., H, W)``.

    Returns ``(locs (..., 2) as float32 (x, y) in heatmap pixels, vals
    (...))``; a map whose maximum is not positive gets location (-1, -1).

    Raises:
        ValueError: ``heatmaps`` has fewer than 2 dimensions.
    """
    heatmaps = np.asarray(heatmaps)
    if heatmaps.ndim < 2:
        raise ValueError('heatmaps must have shape (..., H, W), got shape '
                         f'{heatmaps.shape}')
    *lead, h, w = heatmaps.shape
    flat = heatmaps.reshape(-1, h * w)
    idx = flat.argmax(axis=1)
    vals = flat[np.arange(flat.shape[0]), idx]
    locs = np.stack([idx % w, idx // w], axis=-1).astype(np.float32)
    # an empty or negative map has no peak to speak of
    locs[vals <= 0] = -1
    return locs.reshape(*lead, 2), vals.reshape(lead)


def keypoint_pck_accuracy(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                          thr: float, norm_factor: np.ndarray
                          ) -> Tuple[np.ndarray, float, int]:
    """PCK of keypoints ``pred``/``gt`` ``(N, K, D)`` under ``mask (N, K)``.

    A keypoint counts as correct when ``||(pred - gt) / norm_factor|| <
    thr``; ``norm_factor`` is ``(N, D)``. Instances whose norm factor has
    a zero are ignored. Returns ``(acc (K,), avg_acc, cnt)`` where ``acc``
    is -1 for keypoints with no valid instance, ``avg_acc`` the mean over
    the others and ``cnt`` their number.

    Raises:
        ValueError: the shapes do not agree.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    norm = np.array(norm_factor, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3:
        raise ValueError(f'pred and gt must both be (N, K, D); got '
                         f'{pred.shape} and {gt.shape}')
    n, k, d = pred.shape
    if mask.shape != (n, k):
        raise ValueError(f'mask must be (N, K) = {(n, k)}, got {mask.shape}')
    if norm.shape != (n, d):
        raise ValueError(f'norm_factor must be (N, D) = {(n, d)}, got '
                         f'{norm.shape}')
    valid = mask & ~(norm == 0).any(axis=1, keepdims=True)
    norm[norm <= 0] = 1e6
    dist = np.linalg.norm((pred - gt) / norm[:, None, :], axis=-1)
    num_valid = valid.sum(axis=0)
    num_hit = (valid & (dist < thr)).sum(axis=0)
    acc = np.full(k, -1.0)
    has = num_valid > 0
    acc[has] = num_hit[has] / num_valid[has]
    cnt = int(has.sum())
    avg_acc = float(acc[has].mean()) if cnt > 0 else 0.0
    return acc, avg_acc, cnt


def pose_pck_accuracy(output: np.ndarray, target: np.ndarray,
                      mask: np.ndarray, thr: float = 0.05,
                      normalize: Optional[np.ndarray] = None
                      ) -> Tuple[np.ndarray, float, int]:
    """PCK of the argmax of ``output`` against the argmax of ``target``.

    Both are heatmaps ``(N, K, H, W)``; ``mask (N, K)`` selects the
    keypoints that count. ``normalize (N, 2)`` defaults to ``(H, W)`` for
    every instance (as in MMPose). Returns ``(acc (K,), avg_acc, cnt)`` as
    :func:`keypoint_pck_accuracy`.

    Raises:
        ValueError: ``output`` and ``target`` differ in shape or are not
            4-D.
    """
    output = np.asarray(output)
    target = np.asarray(target)
    if output.shape != target.shape or output.ndim != 4:
        raise ValueError('output and target heatmaps must both be '
                         f'(N, K, H, W); got {output.shape} and '
                         f'{target.shape}')
    n, k, h, w = output.shape
    if k == 0:
        return np.zeros(0), 0.0, 0
    if normalize is None:
        normalize = np.tile(np.array([[h, w]], dtype=np.float64), (n, 1))
    pred, _ = heatmap_argmax(output)
    gt, _ = heatmap_argmax(target)
    return keypoint_pck_accuracy(pred, gt, mask, thr, normalize)


def coord_pck_accuracy(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                       thr: float = 0.05) -> Tuple[np.ndarray, float, int]:
    """PCK of normalised coordinates ``pred``/``gt`` ``(N, K, 2)`` (input
    pixels / input size) under ``mask (N, K)``: the norm factor is 1, so a
    keypoint is correct within ``thr`` of the input size (MMPose's
    ``acc_pose`` of regression heads). Returns ``(acc (K,), avg_acc,
    cnt)`` as :func:`keypoint_pck_accuracy`."""
    pred = np.asarray(pred)
    return keypoint_pck_accuracy(pred, gt, mask, thr,
                                 np.ones((pred.shape[0], pred.shape[-1])))


def simcc_pck_accuracy(output: Tuple[np.ndarray, np.ndarray],
                       target: Tuple[np.ndarray, np.ndarray],
                       simcc_split_ratio: float, mask: np.ndarray,
                       thr: float = 0.05,
                       normalize: Optional[np.ndarray] = None
                       ) -> Tuple[np.ndarray, float, int]:
    """PCK of the argmax of predicted SimCC vectors ``output = (x (N, K,
    Wx), y (N, K, Wy))`` against that of ``target``, in input pixels
    (bins / ``simcc_split_ratio``; a vector pair whose smaller maximum is
    not positive counts at bin -1, as in MMPose). ``normalize (N, 2)``
    defaults to ``(H, W)`` of the input for every instance (MMPose's
    order). Returns ``(acc (K,), avg_acc, cnt)`` as
    :func:`keypoint_pck_accuracy`.

    Raises:
        ValueError: the vectors are not 3-D.
    """
    pred_x, pred_y = (np.asarray(v) for v in output)
    gt_x, gt_y = (np.asarray(v) for v in target)
    if pred_x.ndim != 3 or pred_y.ndim != 3:
        raise ValueError('SimCC outputs must be (N, K, Wx) and (N, K, Wy); '
                         f'got {pred_x.shape} and {pred_y.shape}')
    n, _, wx = pred_x.shape
    w = int(wx / simcc_split_ratio)
    h = int(pred_y.shape[-1] / simcc_split_ratio)
    if normalize is None:
        normalize = np.tile(np.array([[h, w]], dtype=np.float64), (n, 1))
    pred, _ = get_simcc_maximum(pred_x, pred_y)
    gt, _ = get_simcc_maximum(gt_x, gt_y)
    return keypoint_pck_accuracy(pred / simcc_split_ratio,
                                 gt / simcc_split_ratio, mask, thr, normalize)
