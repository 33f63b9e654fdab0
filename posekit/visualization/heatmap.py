"""Heatmaps on images: collapse channels, map into image pixels, colour.

A heatmap reaches the visualiser in one of three spaces: already the
image's size; the heatmap of a model input (a top-down crop or a resized
bottom-up image) that must go back to where that input came from in the
original image (``input_center``/``input_scale``/``input_size`` metainfo,
the mapping the estimators use for keypoints); or the heatmap of the very
image being drawn (the model input itself), which is simply resized.
"""
from typing import Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np

from .image_utils import to_numpy

__all__ = ['collapse_heatmaps', 'heatmap_to_image', 'overlay_heatmap',
           'paste_heatmaps']


def collapse_heatmaps(heatmaps) -> np.ndarray:
    """``(K, h, w)`` or ``(h, w)`` array/tensor -> ``(h, w)`` float32, the
    maximum over channels.

    Raises:
        ValueError: any other number of dimensions.
    """
    arr = to_numpy(heatmaps).astype(np.float32, copy=False)
    if arr.ndim == 3:
        return arr.max(axis=0) if arr.shape[0] else np.zeros(
            arr.shape[1:], np.float32)
    if arr.ndim != 2:
        raise ValueError('heatmaps must be (K, h, w) or (h, w), got shape '
                         f'{arr.shape}')
    return arr


def _pair(meta: Mapping, key: str) -> Optional[np.ndarray]:
    value = meta.get(key)
    if value is None:
        return None
    return to_numpy(value).astype(np.float64).reshape(-1, 2)[0]


def crop_to_image_matrix(heatmap_size: Tuple[int, int],
                         center: np.ndarray, scale: np.ndarray
                         ) -> np.ndarray:
    """2x3 affine that maps heatmap pixels (w, h) = ``heatmap_size`` to
    original-image pixels: ``x = u / w * scale_w + center_x - scale_w / 2``
    (the estimators' input-to-image mapping with the input size scaled to
    the heatmap's)."""
    sx = scale[0] / heatmap_size[0]
    sy = scale[1] / heatmap_size[1]
    return np.array([[sx, 0.0, center[0] - 0.5 * scale[0]],
                     [0.0, sy, center[1] - 0.5 * scale[1]]])


def heatmap_to_image(heatmaps, image_shape: Tuple[int, int],
                     metainfo: Optional[Mapping] = None) -> np.ndarray:
    """One ``(H, W)`` float32 map of ``heatmaps`` (maximum over channels)
    in the pixels of an image of ``image_shape`` (H, W).

    Placement: a map of the image's size is used as it is; a map whose
    sample has ``input_center`` and ``input_scale`` and whose image is the
    original one (``image_shape`` equals ``ori_shape``, or differs from
    ``input_size`` when ``ori_shape`` is absent) is warped into its crop
    region (zero elsewhere); any other map (the image is the model input)
    is resized to the image.
    """
    heat = collapse_heatmaps(heatmaps)
    h, w = int(image_shape[0]), int(image_shape[1])
    if heat.shape == (h, w):
        return heat
    meta = metainfo or {}
    center, scale = _pair(meta, 'input_center'), _pair(meta, 'input_scale')
    if center is not None and scale is not None:
        ori = meta.get('ori_shape')
        size = meta.get('input_size')
        if ori is not None:
            is_original = tuple(int(v) for v in ori[:2]) == (h, w)
        else:
            is_original = size is None or \
                (int(size[1]), int(size[0])) != (h, w)
        if is_original:
            mat = crop_to_image_matrix(heat.shape[::-1], center, scale)
            return cv2.warpAffine(heat, mat, (w, h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT,
                                  borderValue=0)
    return cv2.resize(heat, (w, h), interpolation=cv2.INTER_LINEAR)


def paste_heatmaps(samples: Sequence, image_shape: Tuple[int, int],
                   field: str = 'pred_fields') -> Optional[np.ndarray]:
    """Combine the heatmaps of several top-down samples of one image
    (one crop each) into one ``(1, H, W)`` float32 map of the original
    image: each sample's map goes to its crop region; overlaps keep the
    maximum. Returns None when no sample has ``field.heatmaps``."""
    h, w = int(image_shape[0]), int(image_shape[1])
    out = None
    for sample in samples:
        fields = sample.get(field)
        if fields is None or 'heatmaps' not in fields:
            continue
        meta = dict(sample.metainfo)
        meta['ori_shape'] = (h, w)
        placed = heatmap_to_image(fields.heatmaps, (h, w), meta)
        out = placed if out is None else np.maximum(out, placed)
    return None if out is None else out[None]


def overlay_heatmap(image: np.ndarray, heat: np.ndarray,
                    alpha: float = 0.5) -> np.ndarray:
    """Blend the jet colour map of ``heat (H, W)`` (scaled so its maximum
    is red; negative values count as 0) over RGB ``image (H, W, 3)``
    uint8. Returns a new uint8 image.

    Raises:
        ValueError: ``heat`` and ``image`` differ in size.
    """
    if heat.shape != image.shape[:2]:
        raise ValueError(f'heatmap of shape {heat.shape} does not match the '
                         f'image of shape {image.shape[:2]}')
    heat = np.clip(np.nan_to_num(heat), 0, None)
    peak = float(heat.max()) if heat.size else 0.0
    norm = (heat / peak * 255) if peak > 0 else heat * 0
    colored = cv2.applyColorMap(norm.astype(np.uint8), cv2.COLORMAP_JET)
    colored = colored[..., ::-1].astype(np.float32)
    mixed = image.astype(np.float32) * (1 - alpha) + colored * alpha
    return np.clip(mixed.round(), 0, 255).astype(np.uint8)
