"""Torch versions of the heatmap codecs' ``decode`` for export graphs.

Each module takes a batch of heatmaps ``(N, C, H, W)`` and returns
keypoints ``(N, K, 2)`` in model-input pixels and scores ``(N, K)``, as
:class:`~posekit.codecs.MSRAHeatmap` / :class:`~posekit.codecs.UDPHeatmap`
``decode`` do one sample at a time in numpy (same arg-max tie rule, same
refinement conditions, same OpenCV blur kernels). Values agree to float32
rounding.
"""
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .ops import (argmax2d, blur2d, gather_flat, gaussian_taps,
                  newton_step, rescale_to_peak)

# DARK reads these cells around the arg-max, as (dy, dx): centre, x+1,
# x-1, y+1, y-1, x+2, x-2, y+2, y-2, then the diagonals (y+1, x+1),
# (y-1, x+1), (y+1, x-1), (y-1, x-1).
_DARK_CELLS = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2),
               (2, 0), (-2, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))
# DARK-UDP: centre, x+1, y+1, (y+1, x+1), (y-1, x-1), x-1, y-1.
_UDP_CELLS = ((0, 0), (0, 1), (1, 0), (1, 1), (-1, -1), (0, -1), (-1, 0))
_DARK_FLOOR = 1e-10
_UDP_LOW, _UDP_HIGH = 1e-3, 50.
_EPS32 = float(np.finfo(np.float32).eps)


def _flat_offsets(cells, width: int) -> Tensor:
    return torch.tensor([dy * width + dx for dy, dx in cells],
                        dtype=torch.long)


class MSRAHeatmapDecoder(nn.Module):
    """:meth:`MSRAHeatmap.decode` for a batch: the arg-max cell, moved a
    quarter cell toward the larger neighbour (plain) or by DARK's Newton
    step on the log of the blurred heatmap (``unbiased``), times
    ``input_size / heatmap_size``."""

    def __init__(self, codec) -> None:
        super().__init__()
        self.heatmap_size = tuple(codec.heatmap_size)
        self.unbiased = bool(codec.unbiased)
        self.register_buffer('scale', torch.as_tensor(
            np.asarray(codec.scale_factor, dtype=np.float32)), False)
        self.register_buffer('taps', gaussian_taps(codec.blur_kernel_size),
                             False)

    def forward(self, heatmaps: Tensor) -> Tuple[Tensor, Tensor]:
        """``(N, K, H, W)`` -> keypoints ``(N, K, 2)`` in input pixels,
        scores ``(N, K)``."""
        x, y, scores = argmax2d(heatmaps)
        if self.unbiased:
            keypoints = self._dark(heatmaps, x, y)
        else:
            keypoints = self._quarter_shift(heatmaps, x, y)
        return keypoints * self.scale, scores

    @staticmethod
    def _quarter_shift(heatmaps: Tensor, x: Tensor, y: Tensor) -> Tensor:
        h, w = heatmaps.shape[-2:]
        # The bounds of posekit's refine_keypoints (asymmetric on purpose).
        move_x = (x > 1) & (x < w - 1) & (y > 0) & (y < h)
        move_y = (y > 1) & (y < h - 1) & (x > 0) & (x < w)
        centre = (y * w + x).unsqueeze(-1)
        offsets = torch.tensor([1, -1, w, -w], dtype=torch.long,
                               device=heatmaps.device)
        values = gather_flat(heatmaps, centre + offsets)
        step = torch.sign(values[..., 0::2] - values[..., 1::2])
        step = step * torch.stack([move_x, move_y], -1).to(step.dtype)
        return torch.stack([x, y], -1).to(heatmaps.dtype) + 0.25 * step

    def _dark(self, heatmaps: Tensor, x: Tensor, y: Tensor) -> Tensor:
        h, w = heatmaps.shape[-2:]
        blurred = rescale_to_peak(blur2d(heatmaps, self.taps, 'zero'),
                                  heatmaps)
        logs = torch.log(blurred.clamp_min(_DARK_FLOOR))
        offsets = _flat_offsets(_DARK_CELLS, w).to(heatmaps.device)
        cells = gather_flat(logs, (y * w + x).unsqueeze(-1) + offsets)
        (c, xp, xm, yp, ym, xp2, xm2, yp2, ym2, pp, mp, pm,
         mm) = cells.unbind(-1)
        step = newton_step(0.5 * (xp - xm), 0.5 * (yp - ym),
                           0.25 * (xp2 - 2 * c + xm2),
                           0.25 * (yp2 - 2 * c + ym2),
                           0.25 * (pp - mp - pm + mm))
        # Only cells two away from every border are refined.
        inside = (x > 1) & (x < w - 2) & (y > 1) & (y < h - 2)
        step = torch.where(inside.unsqueeze(-1), step,
                           torch.zeros_like(step))
        return torch.stack([x, y], -1).to(heatmaps.dtype) - step


class UDPHeatmapDecoder(nn.Module):
    """:meth:`UDPHeatmap.decode` for a batch. ``'gaussian'``: the arg-max
    cell refined by DARK-UDP on the blurred, clipped log-heatmap extended
    by one edge cell (read through flat indices of the extended stack, so
    a keypoint at -1 reads the same cells as posekit's numpy code).
    ``'combined'``: the arg-max of the reflect-blurred label maps plus the
    offsets there. Both scaled by ``input_size / (heatmap_size - 1)``."""

    def __init__(self, codec) -> None:
        super().__init__()
        self.heatmap_type = codec.heatmap_type
        self.heatmap_size = tuple(codec.heatmap_size)
        w, h = self.heatmap_size
        size = np.asarray(codec.input_size, np.float64) / (w - 1, h - 1)
        self.register_buffer('scale', torch.as_tensor(
            size.astype(np.float32)), False)
        kernel = codec.blur_kernel_size
        if self.heatmap_type == 'combined':
            kernel = 2 * kernel + 1
            if kernel // 2 >= min(w, h):
                raise ValueError(
                    f'UDPHeatmap(heatmap_type="combined", blur_kernel_size='
                    f'{codec.blur_kernel_size}) blurs with {kernel} taps and'
                    f' a mirrored border, which the graph supports for '
                    f'heatmaps larger than {kernel // 2} cells a side; '
                    f'heatmap_size is {self.heatmap_size}. Lower '
                    'model.head.decoder.blur_kernel_size')
        self.register_buffer('taps', gaussian_taps(kernel), False)
        self.radius = float(codec.radius_factor * max(w, h))

    def forward(self, heatmaps: Tensor) -> Tuple[Tensor, Tensor]:
        """``(N, K, H, W)`` (``(N, 3K, H, W)`` for ``'combined'``) ->
        keypoints ``(N, K, 2)`` in input pixels, scores ``(N, K)``."""
        if self.heatmap_type == 'combined':
            keypoints, scores = self._combined(heatmaps)
        else:
            keypoints, scores = self._gaussian(heatmaps)
        return keypoints * self.scale, scores

    def _gaussian(self, heatmaps: Tensor) -> Tuple[Tensor, Tensor]:
        n, k, h, w = heatmaps.shape
        x, y, scores = argmax2d(heatmaps)
        blurred = rescale_to_peak(blur2d(heatmaps, self.taps, 'zero'),
                                  heatmaps)
        logs = torch.log(blurred.clamp(_UDP_LOW, _UDP_HIGH))
        extended = F.pad(logs, (1, 1, 1, 1), mode='replicate')
        row, plane = w + 2, (w + 2) * (h + 2)
        channel = torch.arange(k, device=heatmaps.device) * plane
        base = (x + 1) + (y + 1) * row + channel
        offsets = _flat_offsets(_UDP_CELLS, row).to(heatmaps.device)
        index = (base.unsqueeze(-1) + offsets) % (plane * k)
        cells = extended.reshape(n, k * plane).gather(
            -1, index.reshape(n, k * len(_UDP_CELLS))).reshape(n, k, -1)
        c, xp, yp, pp, mm, xm, ym = cells.unbind(-1)
        step = newton_step(0.5 * (xp - xm), 0.5 * (yp - ym),
                           xp - 2 * c + xm + _EPS32,
                           yp - 2 * c + ym + _EPS32,
                           0.5 * (pp - xp - yp + c + c - xm - ym + mm))
        return torch.stack([x, y], -1).to(heatmaps.dtype) - step, scores

    def _combined(self, heatmaps: Tensor) -> Tuple[Tensor, Tensor]:
        n, c, h, w = heatmaps.shape
        if c % 3:
            raise ValueError(
                'UDPHeatmap(heatmap_type="combined") needs 3 maps per '
                f'keypoint, got {c} channels')
        k = c // 3
        labels = blur2d(heatmaps[:, 0::3], self.taps, 'reflect')
        x, y, scores = argmax2d(labels)
        channel = torch.arange(k, device=heatmaps.device) * (h * w)
        # A keypoint at -1 wraps around the flat maps, as numpy indexing.
        index = (x + y * w + channel) % (k * h * w)
        off_x = heatmaps[:, 1::3].reshape(n, -1).gather(-1, index)
        off_y = heatmaps[:, 2::3].reshape(n, -1).gather(-1, index)
        offsets = torch.stack([off_x, off_y], -1) * self.radius
        return torch.stack([x, y], -1).to(heatmaps.dtype) + offsets, scores


__all__ = ['MSRAHeatmapDecoder', 'UDPHeatmapDecoder']
