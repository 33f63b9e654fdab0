"""Peak picking on batched heatmaps for bottom-up decoding (torch).

:func:`batch_heatmap_nms` keeps local maxima; :func:`batch_topk_candidates`
takes the strongest peaks of every keypoint channel together with the
associative-embedding tags read at their cells. Both run on the heatmaps'
device and are vectorised over batch, keypoints and cells.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def batch_heatmap_nms(batch_heatmaps: Tensor, kernel_size: int = 5) -> Tensor:
    """Zero every cell that is not the maximum of its ``kernel_size``
    square neighbourhood (cells outside the map do not count).

    Args:
        batch_heatmaps: ``(B, K, H, W)`` float tensor.
        kernel_size: odd window size.

    Returns:
        A new ``(B, K, H, W)`` tensor: the input where it equals its local
        maximum (ties all survive), 0 elsewhere.

    Raises:
        ValueError: ``kernel_size`` is not a positive odd integer or the
            input is not 4-D.
    """
    if isinstance(kernel_size, bool) or not isinstance(
            kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'batch_heatmap_nms: kernel_size must be a positive'
                         f' odd integer, got {kernel_size!r}')
    if batch_heatmaps.dim() != 4:
        raise ValueError(f'batch_heatmap_nms: heatmaps must have shape (B, '
                         f'K, H, W), got {tuple(batch_heatmaps.shape)}')
    return batch_heatmaps * (batch_heatmaps == _window_max(batch_heatmaps,
                                                           kernel_size))


def _window_max(maps: Tensor, kernel_size: int) -> Tensor:
    """The maximum over each cell's ``kernel_size`` square window, with
    cells off the map left out (as ``max_pool2d`` with -inf padding).

    A square's maximum is the maximum of its rows' maxima, so two passes of
    ``kernel_size - 1`` element-wise maxima over shifted views replace the
    ``kernel_size ** 2`` comparisons per cell of ``max_pool2d``, which is
    several times slower on a CPU for the usual small kernels.
    """
    r = kernel_size // 2
    h, w = maps.shape[-2:]
    padded = F.pad(maps, (r, r, r, r), value=float('-inf'))
    rows = padded[..., 0:w].clone()
    for d in range(1, kernel_size):
        torch.maximum(rows, padded[..., d:d + w], out=rows)
    out = rows[..., 0:h, :].clone()
    for d in range(1, kernel_size):
        torch.maximum(out, rows[..., d:d + h, :], out=out)
    return out


def batch_topk_candidates(batch_peaks: Tensor, batch_tags: Tensor,
                          topk: int) -> Tuple[Tensor, Tensor, Tensor]:
    """The ``topk`` largest cells of every channel and their tags.

    Args:
        batch_peaks: ``(B, K, H, W)`` heatmaps (usually after
            :func:`batch_heatmap_nms`).
        batch_tags: ``(B, L * K, H, W)`` with one tag of ``L`` values per
            keypoint (channel ``l * K + k`` holds component ``l`` of
            keypoint ``k``'s tag), or ``(B, L, H, W)`` with one tag shared
            by all keypoints (used when the channel count is not a
            multiple of K).
        topk: candidates per channel; at most ``H * W`` are returned.

    Returns:
        ``vals`` ``(B, K, T)`` (descending), ``tags`` ``(B, K, T, L)`` and
        ``locs`` ``(B, K, T, 2)`` int64 cell ``(x, y)``, with ``T =
        min(topk, H * W)``.
    """
    b, k, h, w = batch_peaks.shape
    vals, flat = batch_peaks.reshape(b, k, h * w).topk(min(topk, h * w),
                                                     dim=-1)
    channels = batch_tags.shape[1]
    num = flat.shape[-1]
    if channels % k == 0:
        dim = channels // k
        tags = batch_tags.reshape(b, dim, k, h * w)
        picked = tags.gather(-1, flat[:, None].expand(b, dim, k, num))
    else:  # one tag map shared by all keypoints
        dim = channels
        tags = batch_tags.reshape(b, dim, h * w)
        index = flat.reshape(b, 1, k * num).expand(b, dim, k * num)
        picked = tags.gather(-1, index).reshape(b, dim, k, num)
    picked = picked.permute(0, 2, 3, 1)                      # (B, K, T, L)
    locs = torch.stack([flat % w, torch.div(flat, w, rounding_mode='floor')],
                       dim=-1)
    return vals, picked, locs


__all__ = ['batch_heatmap_nms', 'batch_topk_candidates']
