"""Tensor operations of the decoding graphs: arg-max, OpenCV-equal
Gaussian blurs and the Newton step of DARK.

Everything here is plain torch that ``torch.onnx.export`` turns into
standard ONNX operators (ArgMax, Gather, Conv, Pad, Log, Where); there are
no Python loops over keypoints or instances. Shapes follow posekit's
conventions: heatmaps ``(N, K, H, W)``, keypoints ``(N, K, 2)`` as (x, y).
"""
from typing import Tuple

import cv2
import torch
import torch.nn.functional as F
from torch import Tensor


def gaussian_taps(kernel: int) -> Tensor:
    """The 1-D Gaussian OpenCV's ``GaussianBlur(ksize=kernel, sigma=0)``
    uses on float32 images (sigma ``0.3 * ((kernel - 1) / 2 - 1) + 0.8``),
    as a float32 ``(kernel,)`` tensor.

    Raises:
        ValueError: ``kernel`` is not a positive odd integer.
    """
    if isinstance(kernel, bool) or int(kernel) != kernel or kernel < 1 \
            or kernel % 2 == 0:
        raise ValueError(f'blur kernel size must be a positive odd integer, '
                         f'got {kernel!r}')
    taps = cv2.getGaussianKernel(int(kernel), 0, ktype=cv2.CV_32F)[:, 0]
    return torch.from_numpy(taps.copy())


def blur2d(maps: Tensor, taps: Tensor, border: str = 'zero') -> Tensor:
    """Blur every ``(H, W)`` channel of ``maps`` ``(N, C, H, W)`` with the
    separable kernel ``taps`` ``(k,)`` along y, then x.

    ``border='zero'`` reads 0 outside the map (OpenCV's
    ``BORDER_CONSTANT``); ``'reflect'`` mirrors without repeating the
    edge (OpenCV's default ``BORDER_REFLECT_101``, torch's ``'reflect'``).

    Raises:
        ValueError: unknown ``border``, or a reflected border wider than
            the map (OpenCV would reflect repeatedly; torch cannot).
    """
    n, c, h, w = maps.shape
    k = taps.numel()
    pad = k // 2
    flat = maps.reshape(-1, 1, h, w)
    if border == 'reflect':
        if pad >= min(h, w):
            raise ValueError(
                f'a reflected blur of kernel {k} needs maps larger than '
                f'{pad} cells on each side, got (w, h) = ({w}, {h})')
        flat = F.pad(flat, (pad, pad, pad, pad), mode='reflect')
        padding = 0
    elif border == 'zero':
        padding = pad
    else:
        raise ValueError(f"border must be 'zero' or 'reflect', got "
                         f'{border!r}')
    taps = taps.to(maps)
    flat = F.conv2d(flat, taps.reshape(1, 1, k, 1), padding=(padding, 0))
    flat = F.conv2d(flat, taps.reshape(1, 1, 1, k), padding=(0, padding))
    return flat.reshape(n, c, h, w)


def rescale_to_peak(blurred: Tensor, original: Tensor) -> Tensor:
    """Multiply each blurred map ``blurred[n, c]`` (any trailing shape) so
    that its maximum equals that of ``original[n, c]``; a map whose blurred
    maximum is 0 is left as it is. Shapes ``(N, C, ...)``."""
    new_max = blurred.flatten(2).amax(-1)
    old_max = original.flatten(2).amax(-1)
    zero = new_max == 0
    factor = torch.where(zero, torch.ones_like(old_max),
                         old_max / torch.where(zero, torch.ones_like(new_max),
                                               new_max))
    shape = factor.shape + (1, ) * (blurred.ndim - 2)
    return blurred * factor.reshape(shape)


def argmax2d(maps: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """The first (row-major) maximum of each map ``(N, K, H, W)``.

    Returns ``x``, ``y`` int64 ``(N, K)`` cell indices and the maxima
    ``(N, K)``; like posekit's ``get_heatmap_maximum`` the location is -1
    where the maximum is <= 0.
    """
    w = maps.shape[-1]
    flat = maps.flatten(2)
    index = flat.argmax(-1)
    vals = flat.gather(-1, index.unsqueeze(-1)).squeeze(-1)
    missing = vals <= 0
    x = torch.where(missing, torch.full_like(index, -1), index % w)
    y = torch.where(missing, torch.full_like(index, -1),
                    torch.div(index, w, rounding_mode='floor'))
    return x, y, vals


def gather_flat(maps: Tensor, index: Tensor) -> Tensor:
    """Values of ``maps`` ``(N, K, H, W)`` at per-channel flat indices
    ``index`` ``(N, K, M)`` (clamped into the map)."""
    flat = maps.flatten(2)
    index = index.clamp(0, flat.shape[-1] - 1)
    return flat.gather(-1, index)


def newton_step(gx: Tensor, gy: Tensor, hxx: Tensor, hyy: Tensor,
                hxy: Tensor) -> Tensor:
    """``H^-1 g`` for the 2x2 Hessians ``[[hxx, hxy], [hxy, hyy]]`` and
    gradients ``(gx, gy)`` (all the same shape ``S``), as ``S + (2,)``;
    zero where ``det H == 0``."""
    det = hxx * hyy - hxy * hxy
    singular = det == 0
    inv = torch.where(singular, torch.zeros_like(det),
                      1 / torch.where(singular, torch.ones_like(det), det))
    sx = (hyy * gx - hxy * gy) * inv
    sy = (hxx * gy - hxy * gx) * inv
    return torch.stack([sx, sy], dim=-1)


__all__ = ['gaussian_taps', 'blur2d', 'rescale_to_peak', 'argmax2d',
           'gather_flat', 'newton_step']
