"""The record of where the original image went: ``results['warp_mat']``.

Bottom-up samples carry annotations that stay in the original image, such
as the crowd polygons of ``invalid_segs``; BottomupGetHeatmapMask draws
them there and warps them once to the model input. For that,
``warp_mat`` (2, 3) always maps original-image pixels to the pixels of the
current ``img``: every geometric transform of a bottom-up pipeline
composes its own matrix onto it. A horizontal flip that runs after the
warp (MMPose's order: affine, then flip) is composed by RandomFlip; a flip
that runs before any warp is composed by the warp that follows it.
"""
from typing import Sequence, Tuple

import numpy as np


def flip_matrix(direction: str, size: Tuple[int, int]) -> np.ndarray:
    """2x3 affine matrix of mirroring an image of ``size`` = (w, h):
    x -> w - 1 - x (horizontal), y -> h - 1 - y (vertical), or both
    (diagonal), the pixel-centre convention of RandomFlip.

    Raises:
        ValueError: unknown ``direction``.
    """
    axes = {'horizontal': (0, ), 'vertical': (1, ), 'diagonal': (0, 1)}
    if direction not in axes:
        raise ValueError(f'flip direction must be one of {tuple(axes)}, '
                         f'got {direction!r}')
    mat = np.array([[1., 0., 0.], [0., 1., 0.]])
    for ax in axes[direction]:
        mat[ax, ax] = -1.
        mat[ax, 2] = size[ax] - 1
    return mat


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of applying ``inner`` first, then ``outer``."""
    outer = np.asarray(outer, dtype=np.float64)
    inner = np.asarray(inner, dtype=np.float64)
    out = outer[:, :2] @ inner
    out[:, 2] += outer[:, 2]
    return out


def record_warp(results: dict, mat: np.ndarray,
                size_before: Tuple[int, int]) -> None:
    """Compose ``mat`` (current image -> new image) onto
    ``results['warp_mat']`` (float32 (2, 3)).

    Without an earlier ``warp_mat`` but with ``results['flip']`` set, the
    image was flipped in its original frame (of ``size_before`` = (w, h))
    and that flip is composed first.
    """
    prior = results.get('warp_mat')
    if prior is None and results.get('flip') and \
            results.get('flip_direction') is not None:
        prior = flip_matrix(results['flip_direction'], size_before)
    if prior is not None:
        mat = compose_affine(mat, prior)
    results['warp_mat'] = np.asarray(mat, dtype=np.float32)


__all__: Sequence[str] = ['flip_matrix', 'compose_affine', 'record_warp']
