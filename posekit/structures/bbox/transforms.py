"""Bounding-box format conversions and affine warp matrices.

Boxes are float arrays of shape (..., 4): ``xyxy`` is (x1, y1, x2, y2),
``xywh`` is (x, y, w, h). A box in center-scale form is ``center`` (..., 2)
and ``scale`` (..., 2) = (w, h) in pixels. All functions are vectorised
over leading dimensions.
"""
from typing import Sequence, Tuple

import cv2
import numpy as np


def bbox_xyxy2xywh(bbox: np.ndarray) -> np.ndarray:
    """(..., 4) xyxy -> xywh."""
    out = np.array(bbox, dtype=np.float32, copy=True)
    out[..., 2:] = out[..., 2:] - out[..., :2]
    return out


def bbox_xywh2xyxy(bbox: np.ndarray) -> np.ndarray:
    """(..., 4) xywh -> xyxy."""
    out = np.array(bbox, dtype=np.float32, copy=True)
    out[..., 2:] = out[..., 2:] + out[..., :2]
    return out


def bbox_xyxy2cs(bbox: np.ndarray,
                 padding: float = 1.) -> Tuple[np.ndarray, np.ndarray]:
    """(..., 4) xyxy -> center (..., 2), scale (..., 2) = padded (w, h)."""
    bbox = np.asarray(bbox, dtype=np.float32)
    center = (bbox[..., :2] + bbox[..., 2:]) * 0.5
    scale = (bbox[..., 2:] - bbox[..., :2]) * padding
    return center, scale


def bbox_xywh2cs(bbox: np.ndarray,
                 padding: float = 1.) -> Tuple[np.ndarray, np.ndarray]:
    """(..., 4) xywh -> center (..., 2), scale (..., 2) = padded (w, h)."""
    return bbox_xyxy2cs(bbox_xywh2xyxy(bbox), padding)


def bbox_cs2xyxy(center: np.ndarray, scale: np.ndarray,
                 padding: float = 1.) -> np.ndarray:
    """center, scale (..., 2) -> (..., 4) xyxy, removing ``padding``."""
    half = np.asarray(scale, dtype=np.float32) / padding * 0.5
    center = np.asarray(center, dtype=np.float32)
    return np.concatenate([center - half, center + half], axis=-1)


def bbox_cs2xywh(center: np.ndarray, scale: np.ndarray,
                 padding: float = 1.) -> np.ndarray:
    """center, scale (..., 2) -> (..., 4) xywh, removing ``padding``."""
    return bbox_xyxy2xywh(bbox_cs2xyxy(center, scale, padding))


def flip_bbox(bbox: np.ndarray, image_size: Tuple[int, int],
              bbox_format: str = 'xywh',
              direction: str = 'horizontal') -> np.ndarray:
    """Mirror boxes in an image of ``image_size`` = (w, h).

    ``bbox_format`` is 'xywh', 'xyxy' or 'center' (points (..., 2)).
    ``direction`` is 'horizontal', 'vertical' or 'diagonal'.
    """
    formats = ('xywh', 'xyxy', 'center')
    if bbox_format not in formats:
        raise ValueError(f'bbox_format must be one of {formats}, '
                         f'got {bbox_format!r}')
    axes = {'horizontal': [0], 'vertical': [1], 'diagonal': [0, 1]}
    if direction not in axes:
        raise ValueError(f'direction must be one of {tuple(axes)}, '
                         f'got {direction!r}')
    w, h = image_size
    out = np.array(bbox, dtype=np.float32, copy=True)
    for ax in axes[direction]:
        size = (w, h)[ax]
        if bbox_format == 'center':
            out[..., ax] = size - out[..., ax]
        elif bbox_format == 'xyxy':
            out[..., [ax, ax + 2]] = size - out[..., [ax + 2, ax]]
        else:
            out[..., ax] = size - out[..., ax] - out[..., ax + 2]
    return out


def fix_aspect_ratio(scale: np.ndarray, aspect_ratio: float) -> np.ndarray:
    """Grow (w, h) scales (..., 2) so that w / h == ``aspect_ratio``."""
    scale = np.asarray(scale, dtype=np.float32)
    w, h = scale[..., 0], scale[..., 1]
    wider = w > h * aspect_ratio
    return np.stack([np.where(wider, w, h * aspect_ratio),
                     np.where(wider, w / aspect_ratio, h)], axis=-1)


def _rotate(pt: np.ndarray, angle_rad: float) -> np.ndarray:
    s, c = np.sin(angle_rad), np.cos(angle_rad)
    return np.array([pt[0] * c - pt[1] * s, pt[0] * s + pt[1] * c])


def get_warp_matrix(center: np.ndarray, scale: np.ndarray, rot: float,
                    output_size: Tuple[int, int],
                    shift: Tuple[float, float] = (0., 0.),
                    inv: bool = False,
                    fix_aspect_ratio: bool = True) -> np.ndarray:
    """2x3 affine matrix mapping the box (center, scale=(w, h), rotated by
    ``rot`` degrees) onto an output of ``output_size`` = (w, h).

    The box center maps to the output center and the box width to the
    output width (and, with ``fix_aspect_ratio=False``, height to height).
    ``inv=True`` returns the output -> image mapping. ``shift`` moves the
    box by a fraction of its size.
    """
    center = np.asarray(center, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    out_w, out_h = output_size
    box_w = scale[0]
    box_h = box_w * out_h / out_w if fix_aspect_ratio else scale[1]
    rad = np.deg2rad(rot)
    origin = center + scale * np.asarray(shift, dtype=np.float64)
    src = np.stack([origin, origin + _rotate(np.array([box_w * .5, 0.]), rad),
                    origin + _rotate(np.array([0., box_h * .5]), rad)])
    dst = np.array([[out_w * .5, out_h * .5], [out_w, out_h * .5],
                    [out_w * .5, out_h]])
    if inv:
        src, dst = dst, src
    return cv2.getAffineTransform(src.astype(np.float32),
                                  dst.astype(np.float32))


def get_udp_warp_matrix(center: np.ndarray, scale: np.ndarray, rot: float,
                        output_size: Tuple[int, int]) -> np.ndarray:
    """2x3 affine matrix of Unbiased Data Processing (Huang et al., 2020).

    Sizes are measured in pixel intervals (size - 1), so that the first and
    last pixel centres of the box map exactly onto those of the output.
    """
    center = np.asarray(center, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    out_w, out_h = output_size
    input_size = center * 2
    scale_x = (out_w - 1) / scale[0]
    scale_y = (out_h - 1) / scale[1]
    rad = np.deg2rad(rot)
    c, s = np.cos(rad), np.sin(rad)
    mat = np.zeros((2, 3), dtype=np.float32)
    mat[0, 0] = c * scale_x
    mat[0, 1] = -s * scale_x
    mat[0, 2] = scale_x * (-0.5 * input_size[0] * c + 0.5 * input_size[1] * s
                           + 0.5 * scale[0])
    mat[1, 0] = s * scale_y
    mat[1, 1] = c * scale_y
    mat[1, 2] = scale_y * (-0.5 * input_size[0] * s - 0.5 * input_size[1] * c
                           + 0.5 * scale[1])
    return mat


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine ``matrix`` to points (..., 2)."""
    points = np.asarray(points, dtype=np.float32)
    return points @ matrix[:, :2].T.astype(np.float32) + \
        matrix[:, 2].astype(np.float32)


__all__: Sequence[str] = [
    'bbox_xyxy2xywh', 'bbox_xywh2xyxy', 'bbox_xyxy2cs', 'bbox_xywh2cs',
    'bbox_cs2xyxy', 'bbox_cs2xywh', 'flip_bbox', 'fix_aspect_ratio',
    'get_warp_matrix', 'get_udp_warp_matrix', 'transform_points'
]
