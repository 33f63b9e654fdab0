"""Bottom-up peak candidates by a sparse search (numpy), equal to
:func:`batch_heatmap_nms` followed by :func:`batch_topk_candidates` for
every candidate that grouping keeps.

The NMS map is zero except at the non-zero window maxima, and a window
maximum is also the maximum of its row neighbours; real and encoded heatmaps
have few such cells, so :func:`find_peaks` tests only those against their
windows, which costs far less than a window maximum over every cell. From
the peaks, :func:`topk_from_peaks` takes each channel's strongest above the
score threshold (grouping ignores the rest) without a top-k over whole maps,
whenever their order is fixed by their scores; two equal scores in a channel
(encoded maps peak at exactly 1) are ordered by ``torch.topk`` in a way of
its own, so :func:`topk_of_peak_map` then reproduces it on short rows.
Non-finite maps, a kernel of 1, a negative threshold or too many cells to
test make these return None, and callers use the dense path.
"""
from functools import lru_cache
from typing import Optional, Tuple

import numpy as np

# Above this fraction of cells over the threshold the dense path is faster.
_MAX_DENSITY = 0.1


@lru_cache(maxsize=None)
def _window_offsets(radius: int) -> Tuple[np.ndarray, np.ndarray]:
    """(dy, dx) of a ``2 radius + 1`` square window without its centre,
    the 3 x 3 ring first (it rejects most non-peaks)."""
    dy, dx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    dy, dx = dy.ravel(), dx.ravel()
    ring = np.maximum(np.abs(dy), np.abs(dx))
    order = np.argsort(ring, kind='stable')[1:]   # drop the centre
    return dy[order], dx[order]


def _pad(heatmaps: np.ndarray, radius: int) -> np.ndarray:
    """``heatmaps`` ``(N, H, W)`` with ``radius`` cells of -inf around each
    map, flattened."""
    n, h, w = heatmaps.shape
    padded = np.full((n, h + 2 * radius, w + 2 * radius), -np.inf,
                     dtype=np.float32)
    padded[:, radius:radius + h, radius:radius + w] = heatmaps
    return padded.reshape(-1)


def _peaks(padded: np.ndarray, cells: np.ndarray, shape: Tuple[int, int, int],
           radius: int) -> np.ndarray:
    """The ``cells`` (flat indices into ``padded``, maps of ``shape`` ``(N,
    H, W)`` padded by :func:`_pad`) that are the maximum of their ``2 radius
    + 1`` window, as flat indices into the unpadded maps."""
    _, h, w = shape
    wp = w + 2 * radius
    dy, dx = _window_offsets(radius)
    offsets = dy * wp + dx
    # The 3 x 3 ring rejects most cells one cheap comparison at a time;
    # the survivors are compared with the rest of the window at once.
    values = padded[cells]
    ok = np.ones(len(cells), dtype=bool)
    for offset in offsets[:8]:
        ok &= values >= padded[cells + offset]
    cells, values = cells[ok], values[ok]
    if len(offsets) > 8 and len(cells):
        near = padded[cells[:, None] + offsets[8:]]
        cells = cells[(values[:, None] >= near).all(1)]
    plane, rem = np.divmod(cells, (h + 2 * radius) * wp)
    y, x = np.divmod(rem, wp)
    return plane * (h * w) + (y - radius) * w + (x - radius)


def find_peaks(heatmaps: np.ndarray, kernel_size: int) -> Optional[np.ndarray]:
    """Flat indices into ``heatmaps`` ``(B, K, H, W)`` of the non-zero cells
    that are the maximum of their ``kernel_size`` window (the cells
    :func:`batch_heatmap_nms` keeps, less zeros), found by testing only the
    cells that are the maximum of their row neighbours.

    Returns:
        Sorted int64 indices, or None when the maps are non-finite, the
        kernel is 1 or too many cells need testing (use the dense path).
    """
    b, k, h, w = heatmaps.shape
    radius = kernel_size // 2
    if radius < 1 or not np.isfinite(heatmaps).all():
        return None
    padded = _pad(heatmaps.reshape(b * k, h, w), radius)
    inner = padded[1:-1]
    # A zero cell stays zero whatever the test says; padding (-inf) is
    # never a candidate.
    rowmax = ((inner >= padded[:-2]) & (inner >= padded[2:]) &
              (inner != 0) & (inner > -np.inf))
    cells = np.flatnonzero(rowmax) + 1
    if len(cells) > _MAX_DENSITY * heatmaps.size:
        return None
    return _peaks(padded, cells, (b * k, h, w), radius)


def peak_map(heatmaps: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """``heatmaps`` times the indicator of ``peaks`` (from
    :func:`find_peaks`): bit for bit the map of :func:`batch_heatmap_nms`."""
    mask = np.zeros(heatmaps.size, dtype=bool)
    mask[peaks] = True
    return heatmaps * mask.reshape(heatmaps.shape)


def _read_tags(tags: np.ndarray, k: int, bi: np.ndarray, ki: np.ndarray,
               y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Tags ``(n, L)`` of keypoints ``ki`` at cells ``(x, y)`` of samples
    ``bi`` from ``tags`` ``(B, L * K, H, W)`` or shared ``(B, L, H, W)``."""
    channels = tags.shape[1]
    shared = channels % k != 0
    dim = channels if shared else channels // k
    chan = np.arange(dim)[None] * (1 if shared else k) + (
        0 if shared else ki[:, None])                           # (n, L)
    return tags[bi[:, None], chan, y[:, None], x[:, None]]


def topk_of_peak_map(heatmaps: np.ndarray, peaks: np.ndarray,
                     tags: np.ndarray, topk: int
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`batch_topk_candidates` of the NMS map :func:`peak_map` makes
    from finite ``heatmaps`` ``(B, K, H, W)`` and their ``peaks``, ties
    ordered exactly as there, with ``torch.topk`` run on short rows.

    ``torch.topk`` on a CPU selects with a heap over the first ``T`` cells
    when a row holds at least ``64 T`` (``std::partial_sort``); a later cell
    enters the heap only when it is larger than the heap's minimum, which
    never falls below the minimum of those first ``T``. Cells not above it
    leave the result unchanged, so each row keeps its first ``T`` cells and
    the later ones above their minimum, padded to ``64 T`` with -inf (which
    never enters). When that minimum is >= 0 only peaks can be above it, so
    the map is never formed. Shorter rows are searched whole.
    """
    import torch  # the order of ties is torch.topk's
    b, k, h, w = heatmaps.shape
    rows, size = b * k, h * w
    num = min(topk, size)
    plane, cell = np.divmod(peaks, size)
    head = None
    if num * 64 <= size:
        first = cell < num
        mask = np.zeros((rows, num), dtype=bool)
        mask[plane[first], cell[first]] = True
        head = heatmaps.reshape(rows, size)[:, :num] * mask
        floor = head.min(1)
        if (floor < 0).any():
            head = None
    if head is None:  # whole rows, or the map itself is needed
        flat = peak_map(heatmaps, peaks).reshape(rows, size)
        if num * 64 > size:
            vals, index = torch.from_numpy(flat).topk(num, dim=1)
            vals, index = vals.numpy(), index.numpy()
            return _candidates(tags, k, (b, h, w), vals, index)
        head = flat[:, :num]
        floor = head.min(1)
        r, c = np.divmod(np.flatnonzero(flat[:, num:] > floor[:, None]),
                         size - num)
        c = c + num
    else:  # only peaks, where the map equals the heatmaps, pass the floor
        flat = heatmaps.reshape(rows, size)
        later = (cell >= num) & (flat.reshape(-1)[peaks] > floor[plane])
        r, c = plane[later], cell[later]
    counts = np.bincount(r, minlength=rows)
    length = max(64 * num, num + int(counts.max(initial=0)))
    short = np.full((rows, length), -np.inf, dtype=np.float32)
    where = np.zeros((rows, length), dtype=np.int64)
    short[:, :num] = head
    where[:, :num] = np.arange(num)
    pos = num + np.arange(len(r)) - (np.cumsum(counts) - counts)[r]
    short[r, pos] = flat[r, c]
    where[r, pos] = c
    vals, index = torch.from_numpy(short).topk(num, dim=1)
    index = np.take_along_axis(where, index.numpy(), 1)
    return _candidates(tags, k, (b, h, w), vals.numpy(), index)


def _candidates(tags: np.ndarray, k: int, shape: Tuple[int, int, int],
                vals: np.ndarray, index: np.ndarray
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``vals``, tags and locs ``(B, K, T, ...)`` of the cells ``index``
    ``(B * K, T)`` (flat in their map) with scores ``vals``."""
    b, h, w = shape
    rows, num = index.shape
    bi, ki = np.divmod(np.repeat(np.arange(rows), num), k)
    y, x = np.divmod(index.reshape(-1), w)
    picked = _read_tags(tags, k, bi, ki, y, x)
    locs = np.stack([x, y], -1).reshape(b, k, num, 2)
    return (vals.reshape(b, k, num), picked.reshape(b, k, num, -1),
            locs.astype(np.int64))


def topk_from_peaks(heatmaps: np.ndarray, tags: np.ndarray,
                    peaks: np.ndarray, topk: int, thr: float
                    ) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The ``topk`` strongest ``peaks`` (from :func:`find_peaks`) scoring
    above ``thr`` per channel and their tags.

    Args:
        heatmaps: float32 ``(B, K, H, W)``.
        tags: ``(B, L * K, H, W)`` (channel ``l * K + k``) or, when the
            channel count is not a multiple of K, ``(B, L, H, W)`` shared by
            all keypoints.
        peaks: flat indices of the peaks.
        topk: candidates per channel.
        thr: candidates must score above this.

    Returns:
        ``vals`` ``(B, K, T)`` descending, ``tags`` ``(B, K, T, L)`` and
        ``locs`` int64 ``(B, K, T, 2)`` as (x, y), ``T = min(topk, H * W)``,
        equal to :func:`batch_topk_candidates` on the NMS map wherever
        ``vals > thr``; slots past a channel's peaks hold ``-inf`` scores.
        None when ``thr < 0`` or two candidates of a channel score the
        same (see the module notes).
    """
    b, k, h, w = heatmaps.shape
    if thr < 0:
        return None
    flat = heatmaps.reshape(-1)
    cells = peaks[flat[peaks] > thr]
    values = flat[cells]
    plane = cells // (h * w)
    # Channel by channel, strongest first; equal scores in a channel have
    # no fixed order (torch.topk's is unspecified), so they go dense.
    order = np.lexsort((-values, plane))
    cells, plane, values = cells[order], plane[order], values[order]
    same = plane[1:] == plane[:-1]
    if (same & (values[1:] == values[:-1])).any():
        return None
    num = min(topk, h * w)
    first = np.ones(len(cells), dtype=bool)
    first[1:] = ~same
    start = np.maximum.accumulate(np.where(first, np.arange(len(cells)), 0))
    rank = np.arange(len(cells)) - start
    keep = rank < num
    cells, plane, values, rank = (cells[keep], plane[keep], values[keep],
                                  rank[keep])
    y, x = np.divmod(cells % (h * w), w)
    bi, ki = np.divmod(plane, k)
    out_vals = np.full((b, k, num), -np.inf, dtype=np.float32)
    picked = _read_tags(tags, k, bi, ki, y, x)
    out_tags = np.zeros((b, k, num, picked.shape[1]), dtype=tags.dtype)
    out_locs = np.zeros((b, k, num, 2), dtype=np.int64)
    out_vals[bi, ki, rank] = values
    out_tags[bi, ki, rank] = picked
    out_locs[bi, ki, rank, 0] = x
    out_locs[bi, ki, rank, 1] = y
    return out_vals, out_tags, out_locs


__all__ = ['find_peaks', 'peak_map', 'topk_from_peaks', 'topk_of_peak_map']
