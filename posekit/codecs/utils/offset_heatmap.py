"""UDP's 'combined' targets: a disk label map plus x/y offset maps."""
from typing import Tuple

import numpy as np


def generate_offset_heatmap(heatmap_size: Tuple[int, int],
                            keypoints: np.ndarray,
                            keypoints_visible: np.ndarray,
                            radius_factor: float
                            ) -> Tuple[np.ndarray, np.ndarray]:
    """Three maps per keypoint, for a radius ``r = radius_factor * max(W,
    H)`` in heatmap cells:

    - label: 1 on the cells within distance ``r`` of the keypoint, else 0;
    - x offset: ``(p_x - cell_x) / r`` on every cell;
    - y offset: ``(p_y - cell_y) / r`` on every cell.

    Args:
        heatmap_size: ``(W, H)``.
        keypoints: ``(N, K, 2)`` in heatmap pixels (sub-pixel).
        keypoints_visible: ``(N, K)``; keypoints below 0.5 draw nothing.
        radius_factor: positive.

    Returns:
        ``heatmaps`` float32 ``(3K, H, W)`` ordered label, x offset, y offset
        for keypoint 0, then keypoint 1, ...; ``keypoint_weights`` float32
        ``(N, K)``, the visibility (no out-of-bounds test here, as in the
        reference). With several instances a keypoint's maps come from the
        last instance where it is visible (the maps are not mergeable by
        maximum).

    Raises:
        ValueError: ``radius_factor`` is not positive.
    """
    if not radius_factor > 0:
        raise ValueError(f'radius_factor must be positive, got '
                         f'{radius_factor!r}')
    w, h = heatmap_size
    num, k = keypoints.shape[:2]
    weights = np.asarray(keypoints_visible, dtype=np.float32).copy()
    maps = np.zeros((k, 3, h, w), dtype=np.float32)
    visible = keypoints_visible >= 0.5
    drawn = visible.any(axis=0) if num else np.zeros(k, dtype=bool)
    if drawn.any():
        last = num - 1 - np.argmax(visible[::-1], axis=0)       # (K,)
        pts = keypoints[last, np.arange(k)][drawn].astype(np.float64)
        radius = radius_factor * max(w, h)
        off_x = (pts[:, 0, None] - np.arange(w)) / radius        # (k', W)
        off_y = (pts[:, 1, None] - np.arange(h)) / radius        # (k', H)
        dist2 = off_x[:, None, :]**2 + off_y[:, :, None]**2
        chosen = maps[drawn]
        chosen[:, 0] = dist2 <= 1
        chosen[:, 1] = off_x[:, None, :]
        chosen[:, 2] = off_y[:, :, None]
        maps[drawn] = chosen
    return maps.reshape(k * 3, h, w), weights


__all__ = ['generate_offset_heatmap']
