"""Helpers for SimCC's 1-D coordinate classification vectors.

A SimCC output holds, per keypoint, one score vector over the x bins and one
over the y bins (``Wx = w * split_ratio``, ``Wy = h * split_ratio``). These
functions read the arg-max off such vectors, blur them, and refine the
arg-max to a sub-bin position (the 1-D DARK step). All are vectorised over
instances and keypoints.
"""
from typing import Optional, Tuple

import cv2
import numpy as np
import torch
from torch import Tensor

# Clamp range of the blurred vectors before the logarithm (as in DARK-UDP),
# so a near-empty vector cannot produce -inf.
_LOG_LOW, _LOG_HIGH = np.float32(1e-3), np.float32(50.)
# Added to the second derivative so a flat neighbourhood gives no NaN.
_DXX_EPS = 1e-9
# Neighbour offsets read around the arg-max bin: -2, -1, 0, +1, +2.
_OFFSETS = np.arange(-2, 3)


def _as_vectors(simcc: np.ndarray, name: str, func: str) -> np.ndarray:
    if not isinstance(simcc, np.ndarray):
        raise TypeError(f'{func}: {name} must be a numpy array, got '
                        f'{type(simcc).__name__}')
    if simcc.ndim not in (2, 3):
        raise ValueError(f'{func}: {name} must have shape (K, W) or (N, K, '
                         f'W), got {simcc.shape}')
    return simcc


def _softmax(vectors: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum for stability."""
    shifted = np.exp(vectors - vectors.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def get_simcc_maximum(simcc_x: np.ndarray, simcc_y: np.ndarray,
                      apply_softmax: bool = False
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """Arg-max bins of SimCC vectors and their confidence.

    Args:
        simcc_x: x vectors ``(K, Wx)`` or ``(N, K, Wx)``.
        simcc_y: y vectors ``(K, Wy)`` or ``(N, K, Wy)``, same leading axes.
        apply_softmax: take the softmax of each vector first (the values
            then are probabilities).

    Returns:
        ``locs`` float32 ``(K, 2)``/``(N, K, 2)``: the (x, y) arg-max bins
        (the first maximum), -1 where the score is <= 0; ``vals``
        ``(K,)``/``(N, K)``: the smaller of the two maxima.

    Raises:
        TypeError: not numpy arrays. ValueError: wrong number of axes or
            leading axes that differ.
    """
    func = 'get_simcc_maximum'
    _as_vectors(simcc_x, 'simcc_x', func)
    _as_vectors(simcc_y, 'simcc_y', func)
    if simcc_x.shape[:-1] != simcc_y.shape[:-1]:
        raise ValueError(f'{func}: simcc_x {simcc_x.shape} and simcc_y '
                         f'{simcc_y.shape} must agree on all but the last '
                         'axis')
    if apply_softmax:
        simcc_x, simcc_y = _softmax(simcc_x), _softmax(simcc_y)
    x_locs = simcc_x.argmax(axis=-1)
    y_locs = simcc_y.argmax(axis=-1)
    # The maxima through the arg-max: one gather instead of a second pass.
    x_vals = np.take_along_axis(simcc_x, x_locs[..., None], -1)[..., 0]
    y_vals = np.take_along_axis(simcc_y, y_locs[..., None], -1)[..., 0]
    vals = np.minimum(x_vals, y_vals)
    locs = np.stack((x_locs, y_locs), axis=-1).astype(np.float32)
    locs[vals <= 0] = -1
    return locs, vals


def simcc_blur_kernel_size(sigma: float) -> int:
    """The odd blur kernel size that fits a SimCC label of ``sigma`` bins:
    ``(20 sigma - 7) // 3``, minus one when that is even (the published
    rule; 37 for sigma 6).

    Raises:
        ValueError: ``sigma`` < 0.5, for which the rule gives no valid size.
    """
    size = int((sigma * 20 - 7) // 3)
    size -= int(size % 2 == 0)
    if size < 1:
        raise ValueError(f'simcc_blur_kernel_size: sigma {sigma} is too small'
                         ' for DARK refinement (the blur kernel would be '
                         f'{size}); use sigma >= 0.5')
    return size


def gaussian_blur1d(simcc: np.ndarray, kernel: int) -> np.ndarray:
    """Blur every SimCC vector with OpenCV's 1-D Gaussian of ``kernel`` taps
    (zero outside the vector), then rescale it to its original maximum.

    Args:
        simcc: ``(N, K, W)`` or ``(K, W)`` vectors; not modified.
        kernel: positive odd kernel size.

    Returns:
        float32 array of the same shape. A vector whose blur has maximum 0
        is returned blurred without rescaling.

    Raises:
        ValueError: ``kernel`` is not a positive odd integer, or bad shape.
    """
    func = 'gaussian_blur1d'
    if isinstance(kernel, bool) or not isinstance(
            kernel, (int, np.integer)) or kernel < 1 or kernel % 2 == 0:
        raise ValueError(f'{func}: kernel must be a positive odd integer, '
                         f'got {kernel!r}')
    _as_vectors(simcc, 'simcc', func)
    width = simcc.shape[-1]
    rows = np.asarray(simcc, dtype=np.float32).reshape(-1, width)
    pad = kernel // 2
    # All vectors as the rows of one image: a (kernel x 1) filter never
    # mixes rows, and the zero columns stand for "nothing outside".
    image = np.zeros((len(rows), width + 2 * pad), dtype=np.float32)
    image[:, pad:pad + width] = rows
    cv2.GaussianBlur(image, (int(kernel), 1), 0, dst=image)
    blurred = image[:, pad:pad + width]
    old_max = rows.max(axis=1)
    new_max = blurred.max(axis=1)
    zero = new_max == 0
    factor = old_max / np.where(zero, np.float32(1), new_max)
    factor[zero] = 1
    return (blurred * factor[:, None]).reshape(simcc.shape)


def refine_simcc_dark(keypoints: np.ndarray, simcc: np.ndarray,
                      blur_kernel_size: int) -> np.ndarray:
    """1-D DARK: move each arg-max bin by one Newton step on the log of the
    blurred SimCC vector.

    The vectors are blurred (:func:`gaussian_blur1d`), clamped to ``[1e-3,
    50]``, logged (``L``) and extended by two bins on each side repeating
    the end values. At the bin ``x`` (index ``x + 2`` of the extended
    vector) ``d = (L[x+1] - L[x-1]) / 2``, ``dd = (L[x+2] - 2 L[x] +
    L[x-2]) / 4 + 1e-9`` and ``x`` moves by ``-d / dd``. A keypoint at -1
    (no positive score) reads the extended vector from its index 1, the
    bin left of it wrapping to the vector's end, as the published
    implementation does.

    Args:
        keypoints: arg-max bins ``(N, K)`` along this axis (integers in
            ``[0, W)`` or -1).
        simcc: the vectors ``(N, K, W)`` of this axis; not modified.
        blur_kernel_size: positive odd kernel size.

    Returns:
        float32 ``(N, K)`` refined positions in bins (float32 arithmetic).

    Raises:
        ValueError: shapes that do not match, or a bin outside ``[-1, W)``.
    """
    func = 'refine_simcc_dark'
    keypoints = np.asarray(keypoints)
    if simcc.ndim != 3 or keypoints.shape != simcc.shape[:2]:
        raise ValueError(f'{func}: keypoints must be (N, K) and simcc (N, K,'
                         f' W) with the same N, K; got {keypoints.shape} and'
                         f' {simcc.shape}')
    width = simcc.shape[-1]
    if keypoints.size and (keypoints.min() < -1 or
                           keypoints.max() > width - 1):
        raise ValueError(f'{func}: keypoints must be arg-max bins in [-1, '
                         f'{width - 1}], got values in [{keypoints.min()}, '
                         f'{keypoints.max()}]')
    blurred = gaussian_blur1d(simcc, blur_kernel_size).reshape(-1)
    pos = keypoints.astype(np.float32).reshape(-1)
    centre = (pos + np.float32(2.5)).astype(np.int64)
    # Indices into the vector extended by two edge bins on each side; -1
    # -> centre 1, whose left-left neighbour (-1) wraps to the end. Then
    # back to the vector itself: extended bins repeat the end values.
    extended = (centre[:, None] + _OFFSETS) % (width + 4)
    index = np.minimum(np.maximum(extended - 2, 0), width - 1)
    index += (np.arange(len(pos)) * width)[:, None]
    # Clamp and log only the five values read (both are element-wise).
    logs = np.log(np.clip(blurred[index], _LOG_LOW, _LOG_HIGH))
    x_2, x_1, x0, x1, x2 = logs.T
    d = np.float32(0.5) * (x1 - x_1)
    dd = _DXX_EPS + np.float32(0.25) * (x2 - 2 * x0 + x_2)
    return (pos - d / dd).reshape(keypoints.shape)


def get_simcc_normalized(batch_pred_simcc: Tensor,
                         sigma: Optional[float] = None) -> Tensor:
    """SimCC vectors ``(B, K, W)`` made displayable as probabilities-like
    scores in [0, 1]: divided by ``sigma * sqrt(2 pi)`` when ``sigma`` is
    given (undoing a normalised label's scale), negatives set to 0, and a
    vector whose maximum exceeds 1 divided by that maximum.

    Raises:
        ValueError: the input is not 3-D.
    """
    if batch_pred_simcc.ndim != 3:
        raise ValueError('get_simcc_normalized: expected (B, K, W) vectors, '
                         f'got shape {tuple(batch_pred_simcc.shape)}')
    simcc = batch_pred_simcc
    if sigma is not None:
        simcc = simcc / (sigma * np.sqrt(np.pi * 2))
    simcc = simcc.clamp(min=0)
    peak = simcc.amax(dim=-1, keepdim=True)
    return torch.where(peak > 1, simcc / peak, simcc)


__all__ = ['get_simcc_maximum', 'simcc_blur_kernel_size', 'gaussian_blur1d',
           'refine_simcc_dark', 'get_simcc_normalized']
