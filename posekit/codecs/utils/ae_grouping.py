"""Grouping keypoint candidates into instances by associative-embedding tags.

The algorithm is that of Newell et al., "Associative Embedding" (2017), as
used by HigherHRNet and MMPose. Keypoint types are visited in a fixed order
(head and torso first). The first type's candidates each start an instance;
each later type's candidates are matched one-to-one to the existing
instances by a Hungarian assignment with cost ``round(|tag - instance
tag|) * 100 - score`` (the instance tag is the mean of the tags assigned to
it so far). A candidate whose assigned instance is at tag distance >=
``tag_thr`` (or that is left without one) starts a new instance.

Published implementations key instances by the first tag component of the
candidate that started them; a candidate that starts an instance with a key
already in use is written into that instance instead (replacing its tag
list). Painted or quantised tags hit this, so it is reproduced here to give
the same groups. Instance tags are averaged exactly as ``numpy.mean`` does
(pairwise summation for one tag component, sequential otherwise), so
distances at a rounding boundary are decided identically.

Only the loop over keypoint types is in Python; candidates are handled as
arrays. Ties in the assignment are broken by
``scipy.optimize.linear_sum_assignment``, which may pick a different
(equally cheap) matching than the Munkres solver of the reference code.
"""
from typing import Optional, Sequence, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

# Padding cost for columns that mean "start a new instance".
_NEW_INSTANCE_COST = 1e10
# Elements per chunk when searching whole maps for missing keypoints.
_FILL_CHUNK = 1 << 22
# Positions 8 back from a list's end: its last complete block.
_BLOCK = np.arange(-8, 0)


def _pairwise_sum(table: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """numpy's pairwise float32 sum of the first ``counts[g]`` entries of
    ``table[g]`` ``(G, S)``: for n >= 8, eight strided partial sums over
    the whole blocks of 8, combined as ``((r0 + r1) + (r2 + r3)) + ((r4 +
    r5) + (r6 + r7))``, then the remaining entries one by one (exact for up
    to 128 entries, numpy's block size)."""
    g, s = table.shape
    blocks = s // 8
    whole = np.where(counts >= 8, counts // 8, 0)             # (G,)
    total = np.zeros(g, dtype=np.float32)
    if blocks:
        parts = table[:, :blocks * 8].reshape(g, blocks, 8)
        parts = parts * (np.arange(blocks) < whole[:, None])[..., None]
        r = np.cumsum(parts, axis=1, dtype=np.float32)[:, -1]  # (G, 8)
        total = ((r[:, 0] + r[:, 1]) + (r[:, 2] + r[:, 3])) + (
            (r[:, 4] + r[:, 5]) + (r[:, 6] + r[:, 7]))
    index = np.arange(s)
    rest = table * ((index >= whole[:, None] * 8) &
                    (index < counts[:, None]))
    steps = np.concatenate([total[:, None], rest], axis=1)
    return np.cumsum(steps, axis=1, dtype=np.float32)[:, -1]


def mean_tags(table: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of the first ``counts[g]`` tags of ``table[g]``, rounded as
    ``numpy.mean`` of those tags along axis 0 would be.

    Args:
        table: float32 ``(G, S, L)``; entries past the count are ignored.
        counts: ``(G,)`` ints >= 1.

    Returns:
        float32 ``(G, L)``.
    """
    table = np.asarray(table, dtype=np.float32)
    counts = np.asarray(counts)
    if table.shape[2] == 1:
        total = _pairwise_sum(table[..., 0], counts)[:, None]
    else:
        # Rows of L >= 2 values are summed one row after the other.
        live = np.arange(table.shape[1]) < counts[:, None]
        total = np.cumsum(table * live[..., None], axis=1,
                          dtype=np.float32)[:, -1]
    return total / counts[:, None].astype(np.float32)


class _Groups:
    """Instances being built: joints ``(G, K, 3)`` (x, y, score), tag
    lists ``(G, K, L)`` with their lengths, the key of each, and the sum of
    each list as :func:`mean_tags` forms it, kept up to date as tags are
    appended (``total``; for one tag component also ``blocks``, the eight
    partial sums over complete blocks of 8)."""

    def __init__(self, capacity: int, num_keypoints: int, tag_dim: int):
        self.joints = np.zeros((capacity, num_keypoints, 3), np.float32)
        self.tags = np.zeros((capacity, num_keypoints, tag_dim), np.float32)
        self.counts = np.zeros(capacity, np.int64)
        self.keys = np.zeros(capacity, np.float32)
        self.total = np.zeros((capacity, tag_dim), np.float32)
        self.blocks = np.zeros((capacity, 8), np.float32)
        self.size = 0

    def means(self) -> np.ndarray:
        """Mean tag of every instance, float32 ``(G, L)``."""
        size = self.size
        return self.total[:size] / self.counts[:size, None].astype(
            np.float32)

    def _append(self, groups: np.ndarray, tags: np.ndarray) -> None:
        """Append ``tags`` ``(n, L)`` to the lists of distinct ``groups``."""
        counts = self.counts[groups]
        self.tags[groups, counts] = tags
        counts += 1
        self.counts[groups] = counts
        self.total[groups] += tags
        if self.total.shape[1] == 1:
            done = counts % 8 == 0
            if done.any():
                # A block of 8 completed: it joins the partial sums, and
                # the sum restarts from their combination.
                full, end = groups[done], counts[done]
                self.blocks[full] += self.tags[full[:, None],
                                               end[:, None] + _BLOCK, 0]
                r = self.blocks[full]
                self.total[full, 0] = ((r[:, 0] + r[:, 1]) +
                                       (r[:, 2] + r[:, 3])) + (
                                           (r[:, 4] + r[:, 5]) +
                                           (r[:, 6] + r[:, 7]))

    def _restart(self, groups: np.ndarray, tags: np.ndarray) -> None:
        """Replace the lists of distinct ``groups`` by ``tags`` ``(n, L)``."""
        self.counts[groups] = 0
        self.total[groups] = 0
        self.blocks[groups] = 0
        self._append(groups, tags)

    def add_matched(self, groups: np.ndarray, idx: int, joints: np.ndarray,
                    tags: np.ndarray) -> None:
        """Append one candidate to each of ``groups`` (all distinct)."""
        self.joints[groups, idx] = joints
        self._append(groups, tags)

    def add_unmatched(self, idx: int, joints: np.ndarray, tags: np.ndarray,
                      rows: np.ndarray, matched_row: np.ndarray) -> None:
        """Candidates ``rows`` (ascending indices into this step's ``joints``
        ``(M, 3)`` and ``tags`` ``(M, L)``) start instances keyed by their
        first tag component; a key already in use sends the candidate into
        that instance. ``matched_row[g]`` is the row matched to existing
        group ``g`` in this step (-1 if none)."""
        keys = tags[rows, 0]
        size = self.size
        same = keys[:, None] == self.keys[None, :size]             # (U, G)
        target = same.argmax(1) if size else np.zeros(len(keys), np.int64)
        fresh = np.flatnonzero(~same.any(1))
        if len(fresh):
            # Equal keys among new candidates share the first one's group.
            equal = keys[fresh, None] == keys[None, fresh]
            starts, rank = np.unique(equal.argmax(1), return_inverse=True)
            target[fresh] = size + rank
            self.keys[size:size + len(starts)] = keys[fresh[starts]]
            self.size += len(starts)
        # The last candidate written into a group replaces its tag list ...
        last = np.full(self.size, -1)
        np.maximum.at(last, target, rows)
        groups = np.flatnonzero(last >= 0)
        final = last[groups]
        self._restart(groups, tags[final])
        # ... unless the group's matched candidate of this step came later:
        # then that one's joint stands and its tag follows.
        later = np.zeros(len(groups), dtype=bool)
        old = groups < size
        later[old] = matched_row[groups[old]] > final[old]
        self.joints[groups[~later], idx] = joints[final[~later]]
        if later.any():
            keep = groups[later]
            self._append(keep, tags[matched_row[keep]])


def group_keypoints_by_tags(vals: np.ndarray, tags: np.ndarray,
                            locs: np.ndarray, keypoint_order: Sequence[int],
                            val_thr: float, tag_thr: float = 1.0,
                            max_groups: Optional[int] = None) -> np.ndarray:
    """Group keypoint candidates into instances (see the module notes).

    Args:
        vals: candidate scores ``(K, M)`` (heatmap cells).
        tags: their tags ``(K, M, L)``.
        locs: their cells ``(K, M, 2)`` as (x, y).
        keypoint_order: the K keypoint types in grouping order.
        val_thr: candidates scoring <= this are ignored.
        tag_thr: largest tag distance (exclusive) for joining an instance.
        max_groups: keep at most this many instances (the first started);
            None keeps all.

    Returns:
        float32 ``(G, K, 3)``: x, y, score per keypoint; keypoints an
        instance did not get are all 0.

    Raises:
        ValueError: inconsistent shapes, an order that is not a
            permutation of 0..K-1, or non-finite scores/tags of candidates
            above ``val_thr``.
    """
    k, m = vals.shape
    if tags.ndim != 3 or tags.shape[:2] != (k, m) or locs.shape != (k, m, 2):
        raise ValueError(
            f'group_keypoints_by_tags: expected tags (K, M, L) and locs '
            f'(K, M, 2) with (K, M) = {(k, m)} from vals, got tags '
            f'{tags.shape} and locs {locs.shape}')
    if sorted(int(i) for i in keypoint_order) != list(range(k)):
        raise ValueError(
            f'group_keypoints_by_tags: keypoint_order must be a permutation '
            f'of 0..{k - 1}, got {list(keypoint_order)}')
    tags = np.asarray(tags, dtype=np.float32)
    joints_all = np.concatenate(
        [locs.astype(np.float32), vals.astype(np.float32)[..., None]], -1)
    keep_all = vals > val_thr                                   # (K, M)
    # Checked for all keypoints at once; reported for the first one the
    # loop below would reach.
    bad = keep_all & ~(np.isfinite(tags).all(-1) &
                       np.isfinite(joints_all).all(-1))
    if bad.any():
        idx = next(int(i) for i in keypoint_order if bad[int(i)].any())
        raise ValueError(
            f'group_keypoints_by_tags: keypoint {idx} has candidates with'
            ' non-finite scores or tags; heatmaps and tags must be '
            'finite')
    counts = keep_all.sum(1).tolist()
    groups = _Groups(k * m, k, tags.shape[2])
    for idx in keypoint_order:
        if not counts[idx]:
            continue
        keep = keep_all[idx]
        cand_tags, cand_joints = tags[idx][keep], joints_all[idx][keep]
        size = groups.size
        if size == 0:
            unmatched = np.arange(len(cand_tags))
            matched_row = np.full(0, -1)
        else:
            means = groups.means()
            diff = cand_tags[:, None].astype(np.float64) - means[None]
            dist = np.sqrt(np.add.reduce(diff * diff, axis=-1))    # (U, G)
            cost = dist.round() * 100 - cand_joints[:, 2:3]
            if len(cost) > size:
                padded = np.full((len(cost), len(cost)), _NEW_INSTANCE_COST)
                padded[:, :size] = cost
                cost = padded
            rows, cols = linear_sum_assignment(cost)
            ok = cols < size
            ok[ok] = dist[rows[ok], cols[ok]] < tag_thr
            good_rows, good_cols = rows[ok], cols[ok]
            groups.add_matched(good_cols, idx, cand_joints[good_rows],
                               cand_tags[good_rows])
            unmatched = rows[~ok]
            if len(unmatched):
                matched_row = np.full(size, -1)
                matched_row[good_cols] = good_rows
        if len(unmatched):
            groups.add_unmatched(idx, cand_joints, cand_tags, unmatched,
                                 matched_row)
    count = groups.size if max_groups is None else min(groups.size,
                                                       max_groups)
    return groups.joints[:count].copy()


def fill_missing_keypoints(keypoints: np.ndarray, scores: np.ndarray,
                           heatmaps: np.ndarray, tags: np.ndarray
                           ) -> Tuple[np.ndarray, np.ndarray]:
    """Give every instance a location for the keypoints it lacks.

    An instance's tag is the mean of the tags read at its found keypoints
    (score > 0; at the cell ``int(x), int(y)``, clipped to the map). For a
    missing keypoint k the chosen cell minimises ``round(|tag map k - instance
    tag|) * 100 - heatmaps[k]`` (the first such cell in row-major order); its
    score is the heatmap value there.

    Args:
        keypoints: float32 ``(N, K, 2)`` in heatmap cells.
        scores: ``(N, K)``; <= 0 marks a missing keypoint.
        heatmaps: ``(K, H, W)``.
        tags: ``(L * K, H, W)`` (channel ``l * K + k``) or, when the channel
            count is not a multiple of K, ``(L, H, W)`` shared by all
            keypoints.

    Returns:
        New float32 keypoints ``(N, K, 2)`` and scores ``(N, K)``.

    Raises:
        ValueError: shapes disagree or an instance has no found keypoint.
    """
    n, k = scores.shape
    _, h, w = heatmaps.shape
    if keypoints.shape != (n, k, 2) or heatmaps.shape[0] != k or (
            tags.ndim != 3 or tags.shape[1:] != (h, w)):
        raise ValueError(
            f'fill_missing_keypoints: expected keypoints (N, K, 2), scores '
            f'(N, K), heatmaps (K, H, W) and tags (C, H, W) with N, K = '
            f'{n}, {k}, got {keypoints.shape}, {scores.shape}, '
            f'{heatmaps.shape} and {tags.shape}')
    keypoints = keypoints.astype(np.float32)
    scores = scores.astype(np.float32)
    found = scores > 0
    if found.all():
        return keypoints, scores
    if not found.any(1).all():
        raise ValueError(
            f'fill_missing_keypoints: instances '
            f'{np.flatnonzero(~found.any(1)).tolist()} have no keypoint '
            'with a positive score to take their tag from')
    shared = tags.shape[0] % k != 0
    dim = tags.shape[0] if shared else tags.shape[0] // k
    maps = tags.reshape(dim, 1 if shared else k, h, w)
    xy = keypoints.astype(np.int64)
    x = np.clip(xy[..., 0], 0, w - 1)
    y = np.clip(xy[..., 1], 0, h - 1)
    channel = np.zeros((n, k), np.int64) if shared else np.broadcast_to(
        np.arange(k), (n, k))
    read = np.moveaxis(maps[:, channel, y, x], 0, -1)         # (N, K, L)
    # Found keypoints first, in keypoint order, as a list would hold them.
    order = np.argsort(~found, axis=1, kind='stable')
    table = np.take_along_axis(read, order[..., None], 1)
    means = mean_tags(table, found.sum(1))                     # (N, L)

    miss_n, miss_k = np.nonzero(~found)
    miss_c = np.zeros_like(miss_k) if shared else miss_k
    chunk = max(1, _FILL_CHUNK // (dim * h * w))
    for start in range(0, len(miss_n), chunk):
        sel = slice(start, start + chunk)
        diff = maps[:, miss_c[sel]] - means[miss_n[sel]].T[..., None, None]
        diff *= diff
        # In place, each step rounded as the expression would round it.
        cost = diff[0] if dim == 1 else np.add.reduce(diff, axis=0)
        np.sqrt(cost, out=cost)                                 # (P, H, W)
        cost.round(out=cost)
        cost *= np.float32(100)
        cost -= heatmaps[miss_k[sel]]
        best = cost.reshape(len(cost), -1).argmin(1)
        by, bx = np.divmod(best, w)
        keypoints[miss_n[sel], miss_k[sel]] = np.stack([bx, by], -1)
        scores[miss_n[sel], miss_k[sel]] = heatmaps[miss_k[sel], by, bx]
    return keypoints, scores


__all__ = ['group_keypoints_by_tags', 'fill_missing_keypoints', 'mean_tags']
