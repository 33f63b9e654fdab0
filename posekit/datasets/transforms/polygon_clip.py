"""Clipping polygons to a rectangle before rasterising them.

pycocotools walks every polygon edge at sub-pixel steps, so a crowd
polygon with a vertex far outside the image (a stray annotation, say at
x = 1e6) costs time in proportion to that distance. Such polygons are
clipped to the image plus a margin first, which bounds the cost by the
image size. Geometrically the part inside the image is unchanged (the new
edges lie outside it); pycocotools rounds each edge's end points to a 1/5
pixel grid, so a cut edge may still move a pixel along the polygon's
border. Polygons within the margin (all ordinary annotations) are passed
on untouched, so their masks are exactly pycocotools' (and MMPose's).
"""
from typing import Sequence, Tuple

import numpy as np

# How far outside the image (pixels) the clipping rectangle lies: edges
# added by clipping never touch an image pixel, and polygons within it are
# not clipped at all.
CLIP_MARGIN = 64.


def clip_polygon(points: np.ndarray, low: Sequence[float],
                 high: Sequence[float]) -> np.ndarray:
    """Clip a closed polygon to the axis-aligned box ``[low, high]``
    (Sutherland-Hodgman: one box side at a time, each vectorised over the
    polygon's edges).

    Args:
        points: ``(P, 2)`` vertices (x, y), in order.
        low, high: ``(x, y)`` corners of the box.

    Returns:
        float64 ``(Q, 2)`` vertices of the clipped polygon; ``Q`` may be 0
        (the polygon misses the box) or below 3 (nothing enclosed).
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    for axis in (0, 1):
        for bound, sign in ((low[axis], 1.), (high[axis], -1.)):
            if not len(pts):
                return pts
            nxt = np.roll(pts, -1, axis=0)
            # sign * (coordinate - bound) >= 0 on the kept side
            dist = sign * (pts[:, axis] - bound)
            dist_next = sign * (nxt[:, axis] - bound)
            inside = dist >= 0
            cross = inside != (dist_next >= 0)
            # Where an edge crosses the side, its crossing point; the
            # denominator is non-zero there (the distances differ in sign).
            denom = np.where(cross, dist - dist_next, 1.)
            t = np.where(cross, dist / denom, 0.)
            crossing = pts + t[:, None] * (nxt - pts)
            # Per edge (v -> next): v if kept, then the crossing if any.
            both = np.stack([pts, crossing], axis=1)           # (P, 2, 2)
            pts = both[np.stack([inside, cross], axis=1)]
    return pts


def clip_polygons_to_image(polygons: Sequence[Sequence[float]],
                           shape: Tuple[int, int]) -> list:
    """Clip COCO polygons ``[x1, y1, x2, y2, ...]`` to the image of
    ``shape`` = (h, w) plus :data:`CLIP_MARGIN` pixels; returns the clipped
    polygons that still have at least 3 vertices, as flat lists."""
    h, w = shape
    low = (-CLIP_MARGIN, -CLIP_MARGIN)
    high = (w + CLIP_MARGIN, h + CLIP_MARGIN)
    out = []
    for poly in polygons:
        flat = np.asarray(poly, dtype=np.float64).ravel()
        # pycocotools reads pairs; an odd trailing value is ignored.
        flat = flat[:flat.size - flat.size % 2]
        if flat.size < 6:
            continue
        pts = flat.reshape(-1, 2)
        if (pts >= low).all() and (pts <= high).all():
            out.append(flat.tolist())  # the common case: nothing to clip
            continue
        clipped = clip_polygon(pts, low, high)
        if len(clipped) >= 3:
            out.append(clipped.ravel().tolist())
    return out


__all__ = ['clip_polygon', 'clip_polygons_to_image', 'CLIP_MARGIN']
