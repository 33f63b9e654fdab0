"""Vectorised COCO greedy matching of keypoint detections to ground truth.

Per (category, image) pair, detections in descending score order each take
the unmatched ground truth with the highest OKS at or above the threshold,
regular ground truth before ignored ones, ties to the later one; crowd
ground truth can be taken repeatedly. This is pycocotools' ``evaluateImg``
rule, computed for all pairs, area ranges and thresholds at once: pairs
are processed in blocks (padded to the block's largest counts), with a
Python loop only over detection ranks and ground-truth slots.
"""
from typing import Dict

import numpy as np

# Upper bound on the elements of one (B, D, G, K) temporary.
_CHUNK_ELEMENTS = 1 << 20


def match_all(gts, dets, g_pair, g_slot, d_pair, d_rank, num_pairs, sigmas,
              p) -> Dict[str, np.ndarray]:
    """Greedy COCO matching of every (category, image) pair.

    Args:
        gts: ground-truth arrays (``kpts`` (G, K, 3), ``bbox`` (G, 4) xywh,
            ``area``, ``crowd``, ``ignore``) sorted by pair; dets:
            detection arrays (``kpts`` (D, K, 3), ``area``) sorted by pair
            and descending score.
        g_pair, d_pair: pair index of each; g_slot, d_rank: position within
            its pair.
        num_pairs: categories x images; sigmas: (K,); p: COCOeval params
            (``iouThrs``, ``areaRng``).

    Returns:
        dict with ``dt_match`` (D, A, T) / ``gt_match`` (G, A, T) indices of
        the matched partner (-1: none), ``gt_ignore`` (G, A),
        ``dt_matched`` and ``dt_ignore`` (D, A, T).
    """
    t_n, a_n = len(p.iouThrs), len(p.areaRng)
    n_g, n_d = len(g_pair), len(d_pair)
    a_rng = np.asarray(p.areaRng, dtype=np.float64)
    g_ig_a = (gts['ignore'][:, None] | (gts['area'][:, None] < a_rng[:, 0])
              | (gts['area'][:, None] > a_rng[:, 1]))  # (G, A)
    d_out = ((dets['area'][:, None] < a_rng[:, 0])
             | (dets['area'][:, None] > a_rng[:, 1]))  # (D, A)
    st = dict(num_pairs=num_pairs, gt_ignore=g_ig_a,
              dt_match=np.full((n_d, a_n, t_n), -1),
              gt_match=np.full((n_g, a_n, t_n), -1))
    g_cnt = np.bincount(g_pair, minlength=num_pairs)
    d_cnt = np.bincount(d_pair, minlength=num_pairs)
    # only pairs with both detections and ground truth need matching
    pairs = np.flatnonzero((g_cnt > 0) & (d_cnt > 0))
    pairs = pairs[np.argsort(g_cnt[pairs], kind='stable')]
    thrs = np.minimum(np.asarray(p.iouThrs, float), 1 - 1e-10)
    variances = (sigmas * 2)**2
    row_of = np.full(num_pairs, -1)
    width = int(d_cnt.max(initial=0)) * len(sigmas)
    g_sorted = g_cnt[pairs]
    start = 0
    while start < len(pairs):
        # g_sorted grows, so the block cost grows with its end: bisect it
        cost = (np.arange(1, len(pairs) - start + 1) * width
                * g_sorted[start:])
        stop = start + max(1, int(np.searchsorted(cost, _CHUNK_ELEMENTS,
                                                  side='right')))
        block = pairs[start:stop]
        row_of[block] = np.arange(len(block))
        _match_block(gts, dets, g_pair, g_slot, d_pair, d_rank, row_of,
                     block, g_ig_a, d_out, thrs, variances, st)
        row_of[block] = -1
        start = stop
    matched = st['dt_match'] >= 0
    # a matched detection inherits the ignore flag of its ground truth
    ig_of_match = g_ig_a[st['dt_match'].clip(0), np.arange(a_n)[:, None]] \
        if n_g else np.zeros_like(matched)
    st['dt_matched'] = matched
    st['dt_ignore'] = np.where(matched, ig_of_match, d_out[:, :, None])
    return st


def _match_block(gts, dets, g_pair, g_slot, d_pair, d_rank, row_of, block,
                 g_ig_a, d_out, thrs, variances, st) -> None:
    b_n = len(block)
    gi = np.flatnonzero(row_of[g_pair] >= 0)
    di = np.flatnonzero(row_of[d_pair] >= 0)
    g_row, d_row = row_of[g_pair[gi]], row_of[d_pair[di]]
    gm_n, dm_n = int(g_slot[gi].max()) + 1, int(d_rank[di].max()) + 1
    g_idx = np.full((b_n, gm_n), -1)
    g_idx[g_row, g_slot[gi]] = gi
    d_idx = np.full((b_n, dm_n), -1)
    d_idx[d_row, d_rank[di]] = di
    g_valid, d_valid = g_idx >= 0, d_idx >= 0

    oks = _block_oks(gts, dets, g_idx, d_idx, variances)  # (B, D, G)
    # lanes are (B, A, T); ground-truth slots lead so that the scan over
    # them is elementwise work on whole lanes
    lanes = (b_n, g_ig_a.shape[1], len(thrs))
    ignored = np.where(g_valid[:, :, None], g_ig_a[g_idx], True)
    ignored = ignored.transpose(1, 0, 2)[:, :, :, None]  # (G, B, A, 1)
    reusable = (gts['crowd'][g_idx] & g_valid).T[:, :, None, None]
    usable = g_valid.T[:, :, None, None]
    thr = thrs[None, None, :]
    taken = np.zeros((gm_n, ) + lanes, bool)
    gt_match = np.full((gm_n, ) + lanes, -1)
    dt_match = np.full((dm_n, ) + lanes, -1)
    for d in range(dm_n):
        live = d_valid[:, d, None, None]
        best = [np.full(lanes, -1.), np.full(lanes, -1.)]  # regular, ignored
        slot = [np.full(lanes, -1), np.full(lanes, -1)]
        for g in range(gm_n):
            iou = oks[:, d, g, None, None]
            ok = (usable[g] & live & (iou >= thr)
                  & (reusable[g] | ~taken[g]))
            for kind, sel in enumerate((ok & ~ignored[g], ok & ignored[g])):
                # ">=": the last of equal best OKS wins, as in pycocotools
                better = sel & (iou >= best[kind])
                best[kind] = np.where(better, iou, best[kind])
                slot[kind][better] = g
        # a regular ground truth always beats an ignored one
        m = np.where(slot[0] >= 0, slot[0], slot[1])
        for g in range(gm_n):
            hit = m == g
            taken[g] |= hit
            gt_match[g][hit] = np.broadcast_to(d_idx[:, d, None, None],
                                               lanes)[hit]
            dt_match[d][hit] = np.broadcast_to(g_idx[:, g, None, None],
                                               lanes)[hit]
    # scatter back to flat per-detection / per-ground-truth arrays
    st['dt_match'][d_idx[d_valid]] = dt_match.transpose(1, 0, 2, 3)[d_valid]
    st['gt_match'][g_idx[g_valid]] = gt_match.transpose(1, 0, 2, 3)[g_valid]


def _block_oks(gts, dets, g_idx, d_idx, variances) -> np.ndarray:
    """(B, D, G) OKS between padded detections and ground truth."""
    g_kpt = gts['kpts'][g_idx]  # (B, G, K, 3); padding rows are garbage
    d_kpt = dets['kpts'][d_idx]  # (B, D, K, 3)
    # x and y apart: numpy reduces a length-2 last axis slowly
    d_x, d_y = d_kpt[:, :, None, :, 0], d_kpt[:, :, None, :, 1]
    dx = d_x - g_kpt[:, None, :, :, 0]  # (B, D, G, K)
    dy = d_y - g_kpt[:, None, :, :, 1]
    vis = g_kpt[..., 2] > 0  # (B, G, K)
    no_vis = ~vis.any(-1)  # (B, G)
    if no_vis.any():
        # with no labelled keypoint, distance to a box 3x the ground truth's
        box = gts['bbox'][g_idx][:, None, :, None, :]  # (B, 1, G, 1, 4)
        x0, x1 = box[..., 0] - box[..., 2], box[..., 0] + box[..., 2] * 2
        y0, y1 = box[..., 1] - box[..., 3], box[..., 1] + box[..., 3] * 2
        use_box = no_vis[:, None, :, None]
        dx = np.where(use_box, np.maximum(0, x0 - d_x)
                      + np.maximum(0, d_x - x1), dx)
        dy = np.where(use_box, np.maximum(0, y0 - d_y)
                      + np.maximum(0, d_y - y1), dy)
        vis = vis | no_vis[..., None]
    area = gts['area'][g_idx][:, None, :, None]
    # e = (dx**2 + dy**2) / variances / (area + eps) / 2, in place
    e = np.multiply(dx, dx, out=dx)
    e += dy * dy
    e /= variances
    e /= area + np.spacing(1)
    e /= 2
    # exp underflows (slowly) past 708; any e > 700 adds < 1e-304
    np.minimum(e, 700., out=e)
    sim = np.exp(np.negative(e, out=e), out=e)
    sim *= vis[:, None]
    return sim.sum(-1) / vis.sum(-1)[:, None]
