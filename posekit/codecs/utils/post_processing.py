"""Reading keypoints off heatmaps: the arg-max and the DARK blur."""
import functools
from typing import Tuple

import cv2
import numpy as np

# OpenCV filters at most this many channels of one image at a time.
_CV_MAX_CHANNELS = 512


def _check_maps(heatmaps: np.ndarray, name: str, ndims: Tuple[int, ...]
                ) -> None:
    if not isinstance(heatmaps, np.ndarray):
        raise TypeError(f'{name}: heatmaps must be a numpy array, got '
                        f'{type(heatmaps).__name__}')
    if heatmaps.ndim not in ndims:
        shapes = ' or '.join({3: '(K, H, W)', 4: '(B, K, H, W)'}[n]
                             for n in ndims)
        raise ValueError(f'{name}: heatmaps must have shape {shapes}, got '
                         f'{heatmaps.shape}')


def get_heatmap_maximum(heatmaps: np.ndarray
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """The arg-max cell of each heatmap channel and its value.

    Args:
        heatmaps: ``(K, H, W)`` or ``(B, K, H, W)``.

    Returns:
        ``locs`` float32 ``(K, 2)`` / ``(B, K, 2)`` as (x, y) cell indices
        (the first maximum in row-major order), set to -1 where the maximum
        is <= 0; ``vals`` ``(K,)`` / ``(B, K)``, the maxima.

    Raises:
        TypeError: not a numpy array. ValueError: wrong number of axes.
    """
    _check_maps(heatmaps, 'get_heatmap_maximum', (3, 4))
    h, w = heatmaps.shape[-2:]
    lead = heatmaps.shape[:-2]
    flat = heatmaps.reshape(-1, h * w)
    index = flat.argmax(axis=1)
    vals = flat[np.arange(len(flat)), index]
    # (index // (1, w)) % (w, h) = (x, y): one vectorised divmod.
    locs = ((index[:, None] // (1, w)) % (w, h)).astype(np.float32)
    locs[vals <= 0] = -1
    return locs.reshape(lead + (2, )), vals.reshape(lead)


def _blur_channels(maps: np.ndarray, kernel: int
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """Blur every ``(H, W)`` channel of ``maps`` ``(C, H, W)`` float32 with
    OpenCV's ``kernel`` x ``kernel`` Gaussian, reading 0 outside the map.

    For speed all channels go through one OpenCV call: they are laid side by
    side in one wide image, separated by ``kernel // 2`` zero columns (and
    the image has a zero border), so no channel's blur reaches another's.

    Returns the blurred maps ``(C, H, W)`` (a view of that image) and each
    channel's maximum ``(C,)``.
    """
    c, h, w = maps.shape
    pad = kernel // 2
    wide = np.zeros((h, pad + c * (w + pad)), dtype=np.float32)
    wide[:, pad:].reshape(h, c, w + pad)[:, :, :w] = maps.transpose(1, 0, 2)
    cv2.GaussianBlur(wide, (kernel, kernel), 0, dst=wide,
                     borderType=cv2.BORDER_CONSTANT)
    # Column maxima first: a reduction over contiguous rows is fast.
    col_max = wide.max(axis=0)[pad:].reshape(c, w + pad)[:, :w]
    blurred = wide[:, pad:].reshape(h, c, w + pad)[:, :, :w]
    return blurred.transpose(1, 0, 2), col_max.max(axis=1)


def blur_with_rescale(heatmaps: np.ndarray, kernel: int
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """The parts of :func:`gaussian_blur` without the final multiplication:
    the blurred maps ``(K, H, W)`` and the per-channel factor ``(K,)`` that
    restores each channel's original maximum (1 where the blurred channel's
    maximum is 0). Refinements apply the factor only where they read."""
    maps = np.asarray(heatmaps, dtype=np.float32)
    k = maps.shape[0]
    blurred, new_max = _blur_channels(maps, kernel)
    old_max = maps.reshape(k, -1).max(axis=1)
    zero = new_max == 0
    factor = old_max / np.where(zero, 1, new_max)
    factor[zero] = 1
    return blurred, factor.astype(np.float32, copy=False)


@functools.lru_cache(maxsize=16)
def _block_filter(kernel: int, block: int, width: int
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constants of :func:`blur_cells` for one kernel, block and map width.

    Returns the patch offsets ``(S,)`` relative to a block's corner
    (``S = block + kernel - 1``), their flat offsets ``(S, S)`` in a map of
    ``width`` columns, and the ``(S * S, block * block)`` float32 matrix
    that maps a flattened patch to its blurred block: the outer product of
    two banded 1D filters, column j of which holds OpenCV's 1D Gaussian of
    size ``kernel`` at rows j .. j + kernel - 1.
    """
    pad = kernel // 2
    span = np.arange(-pad, block + pad)
    taps = cv2.getGaussianKernel(kernel, 0, ktype=cv2.CV_32F)[:, 0]
    band = np.zeros((len(span), block), dtype=np.float32)
    for j in range(block):  # block is a handful of columns
        band[j:j + kernel, j] = taps
    consts = (span, span[:, None] * width + span, np.kron(band, band))
    for array in consts:
        array.flags.writeable = False
    return consts


def blur_cells(heatmaps: np.ndarray, channels: np.ndarray, top: np.ndarray,
               left: np.ndarray, block: int, kernel: int) -> np.ndarray:
    """Blurred values of a few cells, without blurring whole maps.

    For each m, the ``block`` x ``block`` cells from ``(top[m], left[m])``
    of channel ``channels[m]`` blurred as in :func:`gaussian_blur` (same
    OpenCV kernel, 0 outside the map) but without the peak rescale. Only a
    ``(block + kernel - 1)``-square patch around each block is read, and
    all blocks are filtered by one matrix product. Values agree with the
    whole-map blur to float32 rounding (~1e-7 relative).

    Args:
        heatmaps: ``(K, H, W)`` float32.
        channels, top, left: integer arrays ``(M,)``.
        block: side of each block; kernel: positive odd blur size.

    Returns:
        ``(M, block, block)`` float32, indexed ``[m, row, column]``.
    """
    k, h, w = heatmaps.shape
    span, offsets, weights = _block_filter(kernel, block, w)
    # Patch cells outside the map read some clipped cell and are zeroed;
    # as unsigned, negative coordinates are huge and fail the test too.
    rows_ok = (top[:, None] + span).view(np.uint64) < h
    cols_ok = (left[:, None] + span).view(np.uint64) < w
    corner = channels * (h * w) + top * w + left
    patch = heatmaps.reshape(-1).take(corner[:, None, None] + offsets,
                                      mode='clip')            # (M, S, S)
    patch *= rows_ok[:, :, None] & cols_ok[:, None, :]
    out = patch.reshape(len(corner), -1) @ weights
    return out.reshape(-1, block, block)


def gaussian_blur(heatmaps: np.ndarray, kernel: int = 11) -> np.ndarray:
    """Smooth each channel for DARK decoding and keep its peak height.

    Each channel of ``heatmaps`` ``(K, H, W)`` is convolved with OpenCV's
    ``kernel`` x ``kernel`` Gaussian (sigma derived from the size,
    ``0.3 * ((kernel - 1) / 2 - 1) + 0.8``; 2 for 11, ~3 for 17), treating
    the outside of the map as 0, then multiplied so that its maximum equals
    the channel's maximum before blurring. A channel whose blurred maximum
    is 0 (e.g. an all-zero channel) is left as blurred instead of becoming
    NaN.

    Returns a new float32 ``(K, H, W)`` array; the input is not modified.

    Raises:
        TypeError/ValueError: not a ``(K, H, W)`` array; ValueError: an
        even or non-positive ``kernel``.
    """
    _check_maps(heatmaps, 'gaussian_blur', (3, ))
    if kernel < 1 or kernel % 2 == 0:
        raise ValueError(f'gaussian_blur: kernel must be a positive odd '
                         f'integer, got {kernel}')
    blurred, factor = blur_with_rescale(heatmaps, kernel)
    return blurred * factor[:, None, None]


def blur_reflect(maps: np.ndarray, kernel: int) -> np.ndarray:
    """Blur each channel of ``maps`` ``(C, H, W)`` with OpenCV's
    ``kernel`` x ``kernel`` Gaussian and OpenCV's default border (mirror
    without repeating the edge pixel). No rescaling. Returns a new float32
    ``(C, H, W)`` array."""
    stack = np.ascontiguousarray(
        np.asarray(maps, dtype=np.float32).transpose(1, 2, 0))
    out = np.empty_like(stack)
    # Channels are independent; OpenCV takes up to 512 per call.
    for start in range(0, stack.shape[2], _CV_MAX_CHANNELS):
        part = np.ascontiguousarray(stack[:, :, start:start +
                                          _CV_MAX_CHANNELS])
        blurred = cv2.GaussianBlur(part, (kernel, kernel), 0)
        out[:, :, start:start + _CV_MAX_CHANNELS] = blurred.reshape(
            part.shape)
    return out.transpose(2, 0, 1)


__all__ = ['get_heatmap_maximum', 'gaussian_blur', 'blur_with_rescale',
           'blur_cells', 'blur_reflect']
