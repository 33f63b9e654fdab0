"""Raster primitives for drawing poses on numpy images, batched.

No primitive makes one call per keypoint or link: discs are one numpy
scatter (the pixel offsets of a disc added to every centre at once);
segments and box outlines go to OpenCV as one batch of anti-aliased
polylines per colour and opacity. Images are ``(H, W, 3)`` uint8 arrays
changed in place; coordinates are ``(x, y)`` pixels.
"""
from typing import Any, Optional, Tuple

import cv2
import numpy as np

__all__ = ['color_table', 'draw_discs', 'draw_segments', 'draw_boxes',
           'disc_offsets']


def _to_rgb(color: Any, what: str) -> np.ndarray:
    """One colour (a matplotlib name such as ``'red'`` or three numbers in
    [0, 255]) -> (3,) uint8."""
    if isinstance(color, str):
        from matplotlib.colors import to_rgb
        try:
            return (np.asarray(to_rgb(color)) * 255).round().astype(np.uint8)
        except ValueError:
            raise ValueError(f'{what}: unknown colour name {color!r} (use a '
                             'matplotlib name such as "red" or an (R, G, B) '
                             'triplet in [0, 255])') from None
    arr = np.asarray(color, dtype=np.float64).reshape(-1)
    if arr.size != 3 or ((arr < 0) | (arr > 255)).any():
        raise ValueError(f'{what}: a colour must be a name or 3 numbers in '
                         f'[0, 255], got {color!r}')
    return arr.round().astype(np.uint8)


def _is_single_color(spec: Any) -> bool:
    if isinstance(spec, str):
        return True
    if isinstance(spec, np.ndarray):
        return spec.ndim == 1
    return isinstance(spec, (tuple, list)) and len(spec) == 3 and all(
        isinstance(c, (int, float, np.number)) for c in spec)


def color_table(spec: Any, num: int, what: str
                ) -> Tuple[np.ndarray, np.ndarray]:
    """Colours of ``num`` items from a colour spec.

    Args:
        spec: None (nothing drawn), one colour (name or RGB triplet) for
            every item, or a sequence/array of ``num`` colours where a
            ``None`` entry leaves that item undrawn.
        num: number of items (keypoints, links, boxes).
        what: the argument's name, used in error messages.

    Returns:
        ``(colors (num, 3) uint8, drawn (num,) bool)``.

    Raises:
        ValueError: a sequence whose length is not ``num``, or a bad colour.
    """
    colors = np.zeros((num, 3), dtype=np.uint8)
    if spec is None:
        return colors, np.zeros(num, dtype=bool)
    if _is_single_color(spec):
        colors[:] = _to_rgb(spec, what)
        return colors, np.ones(num, dtype=bool)
    if isinstance(spec, np.ndarray) and spec.ndim == 2:
        if spec.shape != (num, 3):
            raise ValueError(f'{what} has {spec.shape[0]} colours but there '
                             f'are {num} items to draw; give one colour per '
                             'item (set_dataset_meta sets them from the '
                             "dataset's metainfo) or a single colour")
        return spec.astype(np.uint8), np.ones(num, dtype=bool)
    entries = list(spec)
    if len(entries) != num:
        raise ValueError(f'{what} has {len(entries)} colours but there are '
                         f'{num} items to draw; give one colour per item '
                         "(set_dataset_meta sets them from the dataset's "
                         'metainfo) or a single colour')
    drawn = np.array([c is not None for c in entries], dtype=bool)
    for i in np.flatnonzero(drawn):
        colors[i] = _to_rgb(entries[i], what)
    return colors, drawn


def disc_offsets(radius: int) -> np.ndarray:
    """``(P, 2)`` integer (dx, dy) offsets of the pixels of a filled disc of
    ``radius`` pixels (radius 0: the centre pixel only)."""
    r = max(int(radius), 0)
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    inside = dx * dx + dy * dy <= (r + 0.35) ** 2
    return np.stack([dx[inside], dy[inside]], axis=1)


def _scatter(img: np.ndarray, points: np.ndarray, item: np.ndarray,
             colors: np.ndarray, alphas: Optional[np.ndarray]) -> None:
    """Paint integer ``points (M, 2)`` of items ``item (M,)`` with their
    colours, blending with ``alphas[item]`` when given."""
    h, w = img.shape[:2]
    x, y = points[:, 0], points[:, 1]
    keep = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    x, y, item = x[keep], y[keep], item[keep]
    if alphas is None:
        img[y, x] = colors[item]
        return
    a = np.clip(alphas[item], 0.0, 1.0)[:, None]
    mixed = img[y, x] * (1.0 - a) + colors[item] * a
    img[y, x] = np.clip(mixed.round(), 0, 255).astype(np.uint8)


def draw_discs(img: np.ndarray, centers: np.ndarray, radius: float,
               colors: np.ndarray,
               alphas: Optional[np.ndarray] = None) -> np.ndarray:
    """Fill discs of ``radius`` px at ``centers (M, 2)`` (x, y) with
    ``colors (M, 3)``; ``alphas (M,)`` in [0, 1] blends them (None:
    opaque). Later discs cover earlier ones; off-image pixels are
    skipped. Returns ``img`` (changed in place)."""
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    if len(centers) == 0:
        return img
    offsets = disc_offsets(int(round(radius)))
    base = np.floor(centers + 0.5).astype(np.int64)
    points = (base[:, None, :] + offsets[None]).reshape(-1, 2)
    item = np.repeat(np.arange(len(centers)), len(offsets))
    _scatter(img, points, item, np.asarray(colors, dtype=np.float64),
             None if alphas is None else np.asarray(alphas, np.float64))
    return img


_SHIFT = 4  # OpenCV fixed-point bits: segment ends at 1/16 px
_LIMIT = 1 << 20  # keep far-off ends inside int32 after the shift


def _groups(colors: np.ndarray, alphas: Optional[np.ndarray]
            ) -> Tuple[np.ndarray, np.ndarray]:
    """Unique (R, G, B, alpha) rows and each item's group index; alphas
    are rounded to 1/32 so the groups stay few."""
    alpha = np.ones(len(colors)) if alphas is None else np.clip(
        np.round(np.asarray(alphas, np.float64) * 32) / 32, 0, 1)
    keys = np.concatenate([np.asarray(colors, np.float64).reshape(-1, 3),
                           alpha[:, None]], axis=1)
    return np.unique(keys, axis=0, return_inverse=True)


def _polylines(img: np.ndarray, polys: np.ndarray, closed: bool,
               width: float, colors: np.ndarray,
               alphas: Optional[np.ndarray]) -> np.ndarray:
    """Draw ``polys (M, P, 2)`` with OpenCV, one call per colour/opacity
    group (OpenCV draws a list of polylines per call); translucent groups
    are drawn on a mask and blended."""
    if len(polys) == 0:
        return img
    fixed = np.clip(np.nan_to_num(np.asarray(polys, np.float64)),
                    -_LIMIT, _LIMIT) * (1 << _SHIFT)
    fixed = np.round(fixed).astype(np.int32)
    thickness = max(int(round(width)), 1)
    # anti-aliasing blurs 1 px lines (no pixel gets the full colour)
    kind = cv2.LINE_AA if thickness > 1 else cv2.LINE_8
    keys, group = _groups(colors, alphas)
    group = group.reshape(-1)
    for g, key in enumerate(keys):
        pts = np.ascontiguousarray(fixed[group == g])
        color = tuple(int(c) for c in key[:3])
        alpha = float(key[3])
        if alpha >= 1:
            cv2.polylines(img, pts, closed, color, thickness, kind,
                          _SHIFT)
            continue
        if alpha <= 0:
            continue
        mask = np.zeros(img.shape[:2], np.uint8)
        cv2.polylines(mask, pts, closed, 255, thickness, kind,
                      _SHIFT)
        weight = mask.astype(np.float32)[..., None] * (alpha / 255)
        mixed = img * (1 - weight) + np.asarray(color, np.float32) * weight
        img[:] = np.clip(mixed.round(), 0, 255).astype(np.uint8)
    return img


def draw_segments(img: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                  width: float, colors: np.ndarray,
                  alphas: Optional[np.ndarray] = None) -> np.ndarray:
    """Draw segments ``starts (L, 2)`` -> ``ends (L, 2)`` (x, y)
    ``width`` px wide (anti-aliased when wider than 1 px) with ``colors
    (L, 3)``; ``alphas (L,)`` in [0, 1] blends them (None: opaque).
    Returns ``img`` (changed in place)."""
    starts = np.asarray(starts, dtype=np.float64).reshape(-1, 2)
    ends = np.asarray(ends, dtype=np.float64).reshape(-1, 2)
    return _polylines(img, np.stack([starts, ends], axis=1), False, width,
                      np.asarray(colors).reshape(-1, 3), alphas)


def draw_boxes(img: np.ndarray, boxes: np.ndarray, width: float,
               colors: np.ndarray,
               alphas: Optional[np.ndarray] = None) -> np.ndarray:
    """Outline ``boxes (N, 4)`` xyxy with ``colors (N, 3)``; ``alphas`` as
    in :func:`draw_segments`. Returns ``img``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x1, y1, x2, y2 = boxes.T
    quads = np.stack([np.stack([x1, y1], 1), np.stack([x2, y1], 1),
                      np.stack([x2, y2], 1), np.stack([x1, y2], 1)], 1)
    return _polylines(img, quads, True, width,
                      np.asarray(colors).reshape(-1, 3), alphas)
