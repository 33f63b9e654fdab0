"""Keypoint flipping. Keypoints are (..., K, D) with D >= 2 (x, y first)."""
from typing import List, Optional, Sequence, Tuple

import numpy as np


def flip_keypoints(keypoints: np.ndarray,
                   keypoints_visible: Optional[np.ndarray],
                   image_size: Tuple[int, int],
                   flip_indices: Sequence[int],
                   direction: str = 'horizontal'
                   ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Mirror keypoints (N, K, D) in an image of ``image_size`` = (w, h)
    and swap left/right through ``flip_indices`` (length K).

    A pixel coordinate x maps to ``w - 1 - x`` (pixel centres mirror onto
    pixel centres). Returns the flipped keypoints and visibility, which
    may be (N, K) or carry a trailing channel axis (N, K, C).

    Raises:
        ValueError: ``flip_indices`` or ``keypoints_visible`` do not fit
            the keypoints, or an unknown ``direction``.
    """
    keypoints = np.asarray(keypoints)
    num = keypoints.shape[-2]
    if len(flip_indices) != num:
        raise ValueError(f'flip_indices has {len(flip_indices)} entries but '
                         f'keypoints have {num} per instance')
    axes = {'horizontal': [0], 'vertical': [1], 'diagonal': [0, 1]}
    if direction not in axes:
        raise ValueError(f'direction must be one of {tuple(axes)}, '
                         f'got {direction!r}')
    idx = np.asarray(flip_indices, dtype=np.int64)
    out = keypoints[..., idx, :].copy()
    for ax in axes[direction]:
        out[..., ax] = image_size[ax] - 1 - out[..., ax]
    vis = None
    if keypoints_visible is not None:
        vis = np.asarray(keypoints_visible)
        if vis.shape == keypoints.shape[:-1]:                   # (N, K)
            vis = vis[..., idx].copy()
        elif vis.ndim == keypoints.ndim and \
                vis.shape[:-1] == keypoints.shape[:-1]:         # (N, K, C)
            vis = vis[..., idx, :].copy()
        else:
            raise ValueError(
                f'keypoints_visible must have shape {keypoints.shape[:-1]} '
                f'or {keypoints.shape[:-1]} + (C, ) to go with keypoints '
                f'{keypoints.shape}, got {vis.shape}')
    return out, vis


def flip_indices_from_pairs(num_keypoints: int,
                            flip_pairs: Sequence[Sequence[int]]) -> List[int]:
    """Turn left/right index pairs into a full permutation of K indices."""
    indices = list(range(num_keypoints))
    for a, b in flip_pairs:
        for i in (a, b):
            if not 0 <= i < num_keypoints:
                raise ValueError(f'flip pair ({a}, {b}) names keypoint {i},'
                                 f' outside 0..{num_keypoints - 1}')
        indices[a], indices[b] = b, a
    return indices
