"""Torch versions of the coordinate codecs' ``decode`` for export graphs:
SimCC vectors and (integral) regression coordinates.

Each module returns keypoints ``(N, K, 2)`` in model-input pixels and
scores ``(N, K)``, as :class:`~posekit.codecs.SimCCLabel` /
:class:`~posekit.codecs.RegressionLabel` ``decode`` do in numpy.
"""
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .ops import gaussian_taps, rescale_to_peak

_LOG_LOW, _LOG_HIGH = 1e-3, 50.
_DXX_EPS = 1e-9


def _refine_1d(pos: Tensor, vectors: Tensor, taps: Tensor) -> Tensor:
    """1-D DARK of :func:`posekit.codecs.utils.refine_simcc_dark`: arg-max
    bins ``pos`` ``(N, K)`` (float, -1 for none) on ``vectors`` ``(N, K,
    W)`` -> refined bins ``(N, K)``."""
    n, k, width = vectors.shape
    kernel = taps.numel()
    blurred = F.conv1d(vectors.reshape(-1, 1, width),
                       taps.to(vectors).reshape(1, 1, kernel),
                       padding=kernel // 2).reshape(n, k, width)
    blurred = rescale_to_peak(blurred, vectors)
    # Bins of the vector extended by two edge bins a side; -1 reads from
    # extended index 1 and its left-left neighbour wraps to the end.
    centre = (pos + 2.5).long().unsqueeze(-1)
    extended = (centre + torch.arange(-2, 3, device=pos.device)) % (
        width + 4)
    index = (extended - 2).clamp(0, width - 1)
    logs = torch.log(blurred.gather(-1, index).clamp(_LOG_LOW, _LOG_HIGH))
    x_2, x_1, x0, x1, x2 = logs.unbind(-1)
    d = 0.5 * (x1 - x_1)
    dd = _DXX_EPS + 0.25 * (x2 - 2 * x0 + x_2)
    return pos - d / dd


class SimCCDecoder(nn.Module):
    """:meth:`SimCCLabel.decode` for a batch: arg-max bins of the x and y
    vectors (score: the smaller maximum; location -1 where it is <= 0),
    with ``use_dark`` refined by 1-D DARK, divided by
    ``simcc_split_ratio``. A decoded visibility is not part of the graph.
    """

    def __init__(self, codec) -> None:
        super().__init__()
        self.simcc_size = tuple(codec.simcc_size)
        self.ratio = float(codec.simcc_split_ratio)
        self.use_dark = bool(codec.use_dark)
        kernels = codec.blur_kernel_sizes if self.use_dark else (1, 1)
        self.register_buffer('taps_x', gaussian_taps(kernels[0]), False)
        self.register_buffer('taps_y', gaussian_taps(kernels[1]), False)

    def forward(self, simcc_x: Tensor, simcc_y: Tensor
                ) -> Tuple[Tensor, Tensor]:
        """``(N, K, Wx)``, ``(N, K, Wy)`` -> keypoints ``(N, K, 2)`` in
        input pixels, scores ``(N, K)``."""
        x_bin = simcc_x.argmax(-1, keepdim=True)
        y_bin = simcc_y.argmax(-1, keepdim=True)
        scores = torch.minimum(simcc_x.gather(-1, x_bin),
                               simcc_y.gather(-1, y_bin)).squeeze(-1)
        locs = torch.cat([x_bin, y_bin], -1).to(simcc_x.dtype)
        locs = torch.where((scores <= 0).unsqueeze(-1),
                           torch.full_like(locs, -1), locs)
        if self.use_dark:
            locs = torch.stack([
                _refine_1d(locs[..., 0], simcc_x, self.taps_x),
                _refine_1d(locs[..., 1], simcc_y, self.taps_y)], -1)
        return locs / self.ratio, scores


class RegressionDecoder(nn.Module):
    """:meth:`RegressionLabel.decode` for a batch: normalised coordinates
    ``(N, K, D)`` times the input size; scores 1 (``D == 2``) or ``1 -
    mean(sigma)`` (``D == 4``, RLE's activated sigmas)."""

    def __init__(self, codec) -> None:
        super().__init__()
        self.register_buffer('size', torch.as_tensor(
            np.asarray(codec.input_size, dtype=np.float32)), False)

    def forward(self, coords: Tensor) -> Tuple[Tensor, Tensor]:
        """``(N, K, D)`` -> keypoints ``(N, K, 2)`` in input pixels,
        scores ``(N, K)``."""
        keypoints = coords[..., :2] * self.size
        if coords.shape[-1] == 4:
            scores = (1 - coords[..., 2:]).mean(-1)
        else:
            scores = torch.ones_like(coords[..., 0])
        return keypoints, scores


__all__ = ['SimCCDecoder', 'RegressionDecoder']
