"""Checking, and writing, the RGB images the visualiser draws on."""
import os
from typing import Any

import cv2
import numpy as np

# The hook (engine layer, below this one) reads images for drawing too.
from posekit.engine.hooks.visualization_hook import read_rgb_image

__all__ = ['check_image', 'write_image', 'to_numpy', 'read_rgb_image']


def to_numpy(value: Any) -> np.ndarray:
    """A tensor (any device) or array-like as a numpy array."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def check_image(image: Any, what: str = 'image') -> np.ndarray:
    """``image`` as an ``(H, W, 3)`` uint8 array (floats are clipped to
    [0, 255]).

    Raises:
        ValueError: not a 3-channel ``(H, W, 3)`` array.
    """
    arr = to_numpy(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or 0 in arr.shape:
        raise ValueError(f'{what} must be an (H, W, 3) RGB array, got shape '
                         f'{arr.shape}; convert grey images with '
                         'np.repeat(img[..., None], 3, axis=2) and drop an '
                         'alpha channel')
    if arr.dtype != np.uint8:
        arr = np.clip(np.nan_to_num(arr.astype(np.float64)), 0,
                      255).round().astype(np.uint8)
    return arr


def write_image(path: str, image: np.ndarray) -> None:
    """Write RGB ``image`` to ``path`` (format from the extension),
    creating its folder.

    Raises:
        OSError: OpenCV could not encode or write the file.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    ok = False
    try:
        ok = cv2.imwrite(path, np.ascontiguousarray(image[..., ::-1]))
    except cv2.error as err:
        raise OSError(f'could not write image {path}: {err}') from None
    if not ok:
        raise OSError(f'could not write image {path}; use an image '
                      'extension OpenCV knows (.jpg, .png, .bmp)')
