"""BottomupResize: fit the whole image into the model input (test time)."""
from numbers import Integral, Real
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from posekit.registry import TRANSFORMS
from posekit.structures import get_udp_warp_matrix

from .required_keys import check_required_keys
from .image_warp import warp_image
from .warp_record import record_warp

_MODES = ('fit', 'expand')


def _ceil_to(size: Tuple[float, float], base: int) -> Tuple[int, int]:
    return tuple(int(np.ceil(s / base)) * base for s in size)


@TRANSFORMS.register_module()
class BottomupResize(BaseTransform):
    """Resize the image, aspect ratio kept, onto a padded input whose sides
    are multiples of ``size_factor``; with ``aug_scales`` also onto inputs
    of ``input_size`` times each scale (an image pyramid).

    For each target size (w, h) (``input_size``, then ``int(w * s),
    int(h * s)`` per aug scale), as MMPose:

    - ``resize_mode='fit'``: (w, h) must be multiples of ``size_factor``;
      the image is scaled to fit inside it (padded size = (w, h));
    - ``resize_mode='expand'``: (w, h) is rounded up to multiples of
      ``size_factor``, the image is scaled to cover that, and the padded
      size is the scaled size rounded up to multiples of ``size_factor``.

    Without UDP the scaled image is centred in the padded input; with
    ``use_udp`` MMPose's UDP warp is used (image at the top-left, pixel
    spacing measured in ``size - 1`` intervals; a side scaled to less than
    2 pixels, which only a very thin image gives, is drawn 2 pixels wide so
    the warp stays invertible).

    Writes ``img`` ((H, W, C) padded input; with ``aug_scales`` a list,
    base scale first, then one image per scale); ``img_shape`` (H, W),
    ``input_size`` (W, H), ``input_center`` and ``input_scale`` (2,) of the
    base scale, chosen so that ``image_xy = input_xy / input_size *
    input_scale + input_center - input_scale / 2`` inverts the warp
    exactly; ``warp_mat`` (2, 3) of the base scale; ``aug_scales`` (list)
    when given. Keypoints are not moved (they stay in the original image,
    where the metrics read them).

    Args:
        input_size: target (w, h).
        aug_scales: extra scales for multi-scale testing, or None.
        size_factor: the padded sides are multiples of it.
        resize_mode: ``'fit'`` or ``'expand'``.
        pad_val: border value (one per channel, or a number).
        use_udp: use the UDP warp.

    Raises:
        ValueError: bad arguments; in ``'fit'`` mode a target size that is
            not a multiple of ``size_factor``.
        MissingKeyError: ``img`` is missing.
        TypeError: ``img`` is not a numpy array.
    """

    def __init__(self, input_size: Tuple[int, int],
                 aug_scales: Optional[List[float]] = None,
                 size_factor: int = 32, resize_mode: str = 'fit',
                 pad_val: Sequence[float] = (0, 0, 0),
                 use_udp: bool = False) -> None:
        if (not isinstance(input_size, (tuple, list)) or len(input_size) != 2
                or not all(isinstance(v, Integral) and v > 0
                           for v in input_size)):
            raise ValueError(f'BottomupResize: input_size must be two '
                             f'positive ints (w, h), got {input_size!r}')
        if isinstance(size_factor, bool) or not isinstance(
                size_factor, Integral) or size_factor < 1:
            raise ValueError(f'BottomupResize: size_factor must be an int '
                             f'>= 1, got {size_factor!r}')
        if resize_mode not in _MODES:
            raise ValueError(f'BottomupResize: resize_mode must be one of '
                             f'{_MODES}, got {resize_mode!r}')
        if aug_scales is not None and (
                not isinstance(aug_scales, (list, tuple)) or not all(
                    isinstance(s, Real) and s > 0 for s in aug_scales)):
            raise ValueError(f'BottomupResize: aug_scales must be a list of '
                             f'positive numbers or None, got {aug_scales!r}')
        self.input_size = (int(input_size[0]), int(input_size[1]))
        # An empty list means no extra scales, as None does.
        self.aug_scales = list(aug_scales) if aug_scales else None
        self.size_factor = int(size_factor)
        self.resize_mode = resize_mode
        self.pad_val = (pad_val, ) * 3 if isinstance(pad_val, Real) \
            else tuple(pad_val)
        self.use_udp = use_udp

        w, h = self.input_size
        self._targets = [(w, h)] + [(int(w * s), int(h * s))
                                    for s in (self.aug_scales or [])]
        if resize_mode == 'fit':
            for i, size in enumerate(self._targets):
                if _ceil_to(size, self.size_factor) != size:
                    where = 'input_size' if i == 0 else \
                        f'input_size * aug_scales[{i - 1}]'
                    raise ValueError(
                        f"BottomupResize: with resize_mode='fit' the target "
                        f'size must be a multiple of size_factor='
                        f'{self.size_factor} on both sides, but {where} is '
                        f'{size}; change input_size/aug_scales or use '
                        "resize_mode='expand'")

    def _sizes(self, img_w: int, img_h: int, target: Tuple[int, int]
               ) -> Tuple[Tuple[float, float], Tuple[int, int]]:
        """(scaled image size (float w, h), padded input size (w, h))."""
        ratio = img_w / img_h
        if self.resize_mode == 'fit':
            pad_w, pad_h = target
            return (min(pad_w, pad_h * ratio),
                    min(pad_h, pad_w / ratio)), target
        pad_w, pad_h = _ceil_to(target, self.size_factor)
        scaled = (max(pad_w, pad_h * ratio), max(pad_h, pad_w / ratio))
        return scaled, _ceil_to(scaled, self.size_factor)

    def _matrix(self, img_w: int, img_h: int, scaled: Tuple[float, float],
                padded: Tuple[int, int]) -> np.ndarray:
        """2x3 image -> input matrix, axis-aligned: x_in = a * x + b."""
        if self.use_udp:
            # UDP scales by (scaled - 1) / image size: zero or negative for
            # a side scaled below 1 pixel (an image one or two pixels thin,
            # fitted into the input), which would make the warp singular
            # or mirrored. Such a side is drawn 2 pixels wide instead.
            out = tuple(max(float(s), 2.) for s in scaled)
            return get_udp_warp_matrix(
                np.array([(img_w - 1.) / 2, (img_h - 1.) / 2]),
                np.array([img_w, img_h], dtype=np.float64), 0., out
            ).astype(np.float64)
        a = np.array(scaled) / np.array([img_w, img_h])
        # The image centre lands on the centre of the padded input.
        b = np.array(padded) / 2 - a * np.array([img_w, img_h]) / 2
        return np.array([[a[0], 0., b[0]], [0., a[1], b[1]]])

    def transform(self, results: dict) -> Optional[dict]:
        check_required_keys(results, ['img'], self)
        img = results['img']
        if not isinstance(img, np.ndarray):
            raise TypeError(f'BottomupResize: results["img"] must be one '
                            f'numpy image, got {type(img).__name__}')
        img_h, img_w = img.shape[:2]
        border = self.pad_val if img.ndim == 3 and img.shape[2] == 3 \
            else self.pad_val[0]
        imgs = []
        for i, target in enumerate(self._targets):
            scaled, padded = self._sizes(img_w, img_h, target)
            mat = self._matrix(img_w, img_h, scaled, padded)
            imgs.append(warp_image(img, mat, padded, border))
            if i == 0:
                a, b = np.diag(mat[:, :2]), mat[:, 2]
                # Invert x_in = a * x + b into the contract's mapping:
                # x = x_in * scale / size + center - scale / 2.
                scale = np.array(padded) / a
                results['input_scale'] = scale.astype(np.float32)
                results['input_center'] = (scale / 2 - b / a).astype(
                    np.float32)
                results['input_size'] = padded
                results['img_shape'] = (padded[1], padded[0])
                record_warp(results, mat, (img_w, img_h))
        if self.aug_scales:
            results['img'] = imgs
            results['aug_scales'] = list(self.aug_scales)
        else:
            results['img'] = imgs[0]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, '
                f'aug_scales={self.aug_scales}, '
                f'size_factor={self.size_factor}, '
                f'resize_mode={self.resize_mode!r}, '
                f'pad_val={self.pad_val}, use_udp={self.use_udp})')


__all__: Sequence[str] = ['BottomupResize']
