"""Object-keypoint-similarity (OKS) and OKS-based non-maximum suppression.

Keypoints are pixels in the original image. ``oks_nms``/``soft_oks_nms``
take MMPose's per-image list of instance dicts; :func:`batched_oks_nms` and
:func:`batched_soft_oks_nms` run the same greedy algorithms on many images
at once (images with the same instance count are stacked), which is what
``CocoMetric`` uses.

Ties between equal scores are broken in favour of the instance that comes
later in the input (what a reversed ascending sort gives).
"""
from typing import Dict, List, Optional, Sequence

import numpy as np

# COCO body keypoint sigmas, used when none are given.
COCO_SIGMAS = np.array([
    .26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87,
    .87, .89, .89
]) / 10.0

# Upper bound on the elements of one (B, n, n, K) temporary.
_CHUNK_ELEMENTS = 1 << 21


def _check_sigmas(sigmas: Optional[np.ndarray], num_keypoints: int,
                  where: str) -> np.ndarray:
    sigmas = COCO_SIGMAS if sigmas is None else np.asarray(sigmas, float)
    if sigmas.ndim != 1 or len(sigmas) != num_keypoints:
        raise ValueError(
            f'{where}: the keypoints have {num_keypoints} joints but '
            f'`sigmas` has {sigmas.size}; pass one sigma per keypoint '
            '(e.g. dataset_meta["sigmas"])')
    return sigmas


def _oks(kpt_a: np.ndarray, kpt_b: np.ndarray, area_a: np.ndarray,
         area_b: np.ndarray, variances: np.ndarray,
         vis_a: Optional[np.ndarray], vis_b: Optional[np.ndarray],
         vis_thr: Optional[float]) -> np.ndarray:
    """OKS of broadcastable (..., K, 2) keypoint sets with mean areas."""
    # x and y apart: numpy reduces a length-2 last axis slowly
    dx = kpt_a[..., 0] - kpt_b[..., 0]
    dy = kpt_a[..., 1] - kpt_b[..., 1]
    # e = (dx**2 + dy**2) / variances / mean_area / 2, in place
    e = np.multiply(dx, dx, out=dx)
    e += dy * dy
    e /= variances
    e /= ((area_a + area_b) / 2 + np.spacing(1))[..., None]
    e /= 2
    # exp underflows (slowly) past 708; any e > 700 adds < 1e-304
    np.minimum(e, 700., out=e)
    sim = np.exp(np.negative(e, out=e), out=e)
    if vis_thr is None:
        return sim.mean(-1)
    used = (vis_a > vis_thr) & (vis_b > vis_thr)
    count = used.sum(-1)
    total = np.where(used, sim, 0.).sum(-1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.)


def oks_iou(g: np.ndarray,
            d: np.ndarray,
            a_g: float,
            a_d: np.ndarray,
            sigmas: Optional[np.ndarray] = None,
            vis_thr: Optional[float] = None) -> np.ndarray:
    """OKS of one instance against many.

    Args:
        g: the instance, (K * 3,) or (K, 3) as x, y, visibility/score.
        d: the others, (N, K * 3) or (N, K, 3).
        a_g: area of ``g``; a_d: areas of ``d``, (N,).
        sigmas: (K,) per-keypoint sigmas; COCO's 17 when None.
        vis_thr: if given, only keypoints whose third value exceeds it in
            both instances count (an instance pair with none scores 0).

    Returns:
        (N,) float32 similarities in [0, 1].

    Raises:
        ValueError: the lengths of ``g``, ``d`` and ``sigmas`` disagree.
    """
    g = np.asarray(g, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    if g.ndim == 1:
        g = g.reshape(-1, 3)
    d = d.reshape(len(d), -1, 3) if d.size else d.reshape(0, len(g), 3)
    if d.shape[1] != g.shape[0]:
        raise ValueError(f'oks_iou: g has {g.shape[0]} keypoints but d has '
                         f'{d.shape[1]}')
    sigmas = _check_sigmas(sigmas, g.shape[0], 'oks_iou')
    ious = _oks(g[None, :, :2], d[:, :, :2], np.float64(a_g),
                np.asarray(a_d, dtype=np.float64).reshape(-1),
                (sigmas * 2)**2, g[None, :, 2], d[:, :, 2], vis_thr)
    return ious.astype(np.float32)


def _pairwise_oks(kpts: np.ndarray, vis: Optional[np.ndarray],
                  areas: np.ndarray, variances: np.ndarray,
                  vis_thr: Optional[float]) -> np.ndarray:
    """(B, n, K, 2) -> (B, n, n) OKS between instances of each image."""
    va = vb = None
    if vis_thr is not None:
        va, vb = vis[:, :, None], vis[:, None]
    return _oks(kpts[:, :, None], kpts[:, None], areas[:, :, None],
                areas[:, None], variances, va, vb, vis_thr)


def _groups_by_count(counts: np.ndarray, cost_per_image: np.ndarray):
    """Yield index arrays of images with equal instance counts, split so
    that no group exceeds the temporary-size budget."""
    for n in np.unique(counts):
        idx = np.flatnonzero(counts == n)
        step = max(1, _CHUNK_ELEMENTS // max(int(cost_per_image[idx[0]]), 1))
        for start in range(0, len(idx), step):
            yield int(n), idx[start:start + step]


def _stacked(starts: np.ndarray, n: int, *arrays: np.ndarray):
    """Gather images' contiguous instance runs into (B, n, ...) blocks."""
    rows = starts[:, None] + np.arange(n)[None]
    return [None if a is None else a[rows] for a in arrays]


def _descending_order(scores: np.ndarray) -> np.ndarray:
    # reversed stable ascending sort: later instances win ties
    return np.argsort(scores, axis=-1, kind='stable')[..., ::-1]


def batched_oks_nms(image_index: np.ndarray, keypoints: np.ndarray,
                    scores: np.ndarray, areas: np.ndarray, thr: float,
                    sigmas: Optional[np.ndarray] = None,
                    vis_thr: Optional[float] = None,
                    keypoint_vis: Optional[np.ndarray] = None) -> np.ndarray:
    """Greedy OKS-NMS within each image, all images at once.

    Args:
        image_index: (N,) image of each instance; instances of an image
            must be contiguous (sort by image first).
        keypoints: (N, K, 2); scores, areas: (N,).
        thr: an instance whose OKS with a kept, higher-scoring one
            exceeds ``thr`` is removed.
        keypoint_vis: (N, K) values compared with ``vis_thr``.

    Returns:
        (M,) indices into the N instances that are kept, grouped by image
        (in input order) and by descending score within an image.

    Raises:
        ValueError: instances of an image are not contiguous, or the number
            of sigmas is not K.
    """
    return _batched_nms(image_index, keypoints, scores, areas, thr, sigmas,
                        vis_thr, keypoint_vis, soft=False, max_dets=0)


def batched_soft_oks_nms(image_index: np.ndarray, keypoints: np.ndarray,
                         scores: np.ndarray, areas: np.ndarray, thr: float,
                         max_dets: int = 20,
                         sigmas: Optional[np.ndarray] = None,
                         vis_thr: Optional[float] = None,
                         keypoint_vis: Optional[np.ndarray] = None
                         ) -> np.ndarray:
    """Soft OKS-NMS within each image, all images at once.

    Each step keeps the highest (decayed) score left and multiplies the
    others by ``exp(-oks**2 / thr)``; at most ``max_dets`` are kept per
    image. Arguments and return value as :func:`batched_oks_nms` (kept
    instances are in the order they were picked).
    """
    return _batched_nms(image_index, keypoints, scores, areas, thr, sigmas,
                        vis_thr, keypoint_vis, soft=True, max_dets=max_dets)


def _batched_nms(image_index, keypoints, scores, areas, thr, sigmas,
                 vis_thr, keypoint_vis, soft, max_dets) -> np.ndarray:
    image_index = np.asarray(image_index).reshape(-1)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    areas = np.asarray(areas, dtype=np.float64).reshape(-1)
    num, k = keypoints.shape[0], keypoints.shape[1]
    if num == 0:
        return np.zeros(0, dtype=np.int64)
    variances = (_check_sigmas(sigmas, k, 'oks_nms') * 2)**2
    if vis_thr is not None:
        if keypoint_vis is None:
            raise ValueError('oks_nms: vis_thr needs keypoint_vis')
        keypoint_vis = np.asarray(keypoint_vis, dtype=np.float64)
    change = np.flatnonzero(image_index[1:] != image_index[:-1]) + 1
    starts = np.concatenate([[0], change])
    counts = np.diff(np.append(starts, num))
    if len(np.unique(image_index[starts])) != len(starts):
        raise ValueError('oks_nms: the instances of each image must be '
                         'contiguous; sort them by image first')
    run_of = np.repeat(np.arange(len(starts)), counts)
    kept = []
    for n, group in _groups_by_count(counts, counts**2 * k):
        kpt, vis, sc, ar = _stacked(starts[group], n, keypoints,
                                    keypoint_vis, scores, areas)
        oks = _pairwise_oks(kpt, vis, ar, variances, vis_thr)
        if soft:
            picked = _soft_select(oks, sc, thr, max_dets)
        else:
            picked = _greedy_select(oks, sc, thr)
        kept.append((starts[group][:, None] + picked[0])[picked[1]])
    kept = np.concatenate(kept)
    # back to input image order; the stable sort keeps best-first order
    return kept[np.argsort(run_of[kept], kind='stable')].astype(np.int64)


def _greedy_select(oks: np.ndarray, scores: np.ndarray, thr: float):
    """(B, n, n) block -> positions by descending score (B, n) and
    whether each is kept (B, n)."""
    b, n = scores.shape
    order = _descending_order(scores)
    ranked = np.take_along_axis(
        np.take_along_axis(oks, order[:, :, None], 1), order[:, None], 2)
    alive = np.ones((b, n), dtype=bool)
    later = np.triu(np.ones((n, n), dtype=bool), 1)
    for r in range(n - 1):
        # the r-th best, if still alive, removes later ones it overlaps
        hits = alive[:, r, None] & later[r] & (ranked[:, r] > thr)
        alive &= ~hits
    return order, alive


def _soft_select(oks: np.ndarray, scores: np.ndarray, thr: float,
                 max_dets: int):
    """(B, n, n) block -> picked positions in pick order (B, steps) and an
    all-true mask of the same shape."""
    b, n = scores.shape
    current = scores.copy()
    alive = np.ones((b, n), dtype=bool)
    steps = min(n, max_dets)
    picks = np.zeros((b, steps), dtype=np.int64)
    batch = np.arange(b)
    for s in range(steps):
        masked = np.where(alive, current, -np.inf)
        # last index among equal maxima, as in the non-batched tie rule
        pick = n - 1 - np.argmax(masked[:, ::-1], axis=1)
        picks[:, s] = pick
        alive[batch, pick] = False
        decay = np.exp(-oks[batch, pick]**2 / thr)
        current = np.where(alive, current * decay, current)
    return picks, np.ones_like(picks, dtype=bool)


def _instances_to_arrays(kpts_db: Sequence[Dict], score_per_joint: bool):
    try:
        kpts = np.stack([np.asarray(k['keypoints'], dtype=np.float64)
                         .reshape(-1, 3) for k in kpts_db])
        raw = [np.asarray(k['score'], dtype=np.float64) for k in kpts_db]
        areas = np.array([k['area'] for k in kpts_db], dtype=np.float64)
    except KeyError as err:
        raise KeyError(f'oks_nms: every instance dict needs {err} '
                       "(keys: 'keypoints' (K, 3), 'score', 'area')") from None
    scores = np.array([s.mean() if score_per_joint else float(s)
                       for s in raw])
    return kpts, scores, areas


def oks_nms(kpts_db: List[Dict],
            thr: float,
            sigmas: Optional[np.ndarray] = None,
            vis_thr: Optional[float] = None,
            score_per_joint: bool = False) -> np.ndarray:
    """Greedy OKS-NMS over the instances of one image.

    Args:
        kpts_db: dicts with ``keypoints`` (K, 3) (x, y, score), ``score``
            (a float, or (K,) when ``score_per_joint``) and ``area``.
        thr: instances whose OKS with a kept one exceeds ``thr`` go.
        sigmas: (K,) sigmas (COCO's when None); vis_thr: see
            :func:`oks_iou`.

    Returns:
        indices of kept instances, best first (an empty list for no
        instances).

    Raises:
        KeyError: an instance dict lacks a key. ValueError: the number of
        sigmas is not K.
    """
    if len(kpts_db) == 0:
        return []
    kpts, scores, areas = _instances_to_arrays(kpts_db, score_per_joint)
    return batched_oks_nms(np.zeros(len(kpts)), kpts[..., :2], scores, areas,
                           thr, sigmas, vis_thr, kpts[..., 2])


def soft_oks_nms(kpts_db: List[Dict],
                 thr: float,
                 max_dets: int = 20,
                 sigmas: Optional[np.ndarray] = None,
                 vis_thr: Optional[float] = None,
                 score_per_joint: bool = False) -> np.ndarray:
    """Soft OKS-NMS (Gaussian decay) over the instances of one image.

    Arguments as :func:`oks_nms`; ``max_dets`` caps the kept instances.

    Returns:
        indices of kept instances in the order they were picked.
    """
    if len(kpts_db) == 0:
        return []
    kpts, scores, areas = _instances_to_arrays(kpts_db, score_per_joint)
    return batched_soft_oks_nms(np.zeros(len(kpts)), kpts[..., :2], scores,
                                areas, thr, max_dets, sigmas, vis_thr,
                                kpts[..., 2])
