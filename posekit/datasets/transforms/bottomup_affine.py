"""BottomupRandomAffine: randomly shift, scale and rotate a whole image."""
from numbers import Integral, Real
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from posekit.registry import TRANSFORMS
from posekit.structures import (get_udp_warp_matrix, get_warp_matrix,
                                transform_points)

from .bbox_transform import truncated_standard_normal
from .image_warp import warp_image
from .required_keys import check_required_keys
from .warp_record import record_warp

_SCALE_TYPES = ('short', 'long')
_DISTRIBUTIONS = ('trunc_norm', 'uniform')
_MODES = ('affine', 'affine_udp')


def _check_prob(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or \
            not 0 <= value <= 1:
        raise ValueError(f'BottomupRandomAffine: {name} must be a '
                         f'probability in [0, 1], got {value!r}')
    return float(value)


def _check_nonneg(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or value < 0:
        raise ValueError(f'BottomupRandomAffine: {name} must be a number '
                         f'>= 0, got {value!r}')
    return float(value)


@TRANSFORMS.register_module()
class BottomupRandomAffine(BaseTransform):
    """Warp the whole image, randomly shifted, scaled and rotated about its
    centre, onto ``input_size`` = (w, h) (one ``cv2.warpAffine``).

    The source region is the image size times a random scale in
    ``scale_factor``, grown (``scale_type='long'``) or shrunk (``'short'``)
    to the input's aspect ratio, centred at the image centre plus a random
    shift of up to ``shift_factor`` times the image size, rotated by up to
    ``rotate_factor`` degrees. Random numbers follow ``distribution``:
    ``'trunc_norm'`` (a standard normal truncated to [-1, 1], MMPose's
    default) or ``'uniform'`` on [-1, 1].

    Writes ``img`` (h, w, C); ``keypoints`` (N, K, 2) and ``bbox`` (N, 4)
    xyxy (the box enclosing the 4 warped corners) in input pixels (points
    that leave the input keep their coordinates: the codec gives them no
    weight); ``area`` (N,) times the warp's determinant; ``input_size``
    (w, h); ``input_center`` and ``input_scale`` (2,) (the source region's
    centre and (w, h) in image pixels, so that ``image_xy = input_xy /
    input_size * input_scale + input_center - input_scale / 2`` holds when
    there is no rotation and no UDP, whose warp spans ``size - 1``); and
    ``warp_mat`` (2, 3), original image -> input (see :mod:`.warp_record`).
    ``img_shape`` is left as the original's, as in MMPose.

    Args:
        input_size: model input (w, h).
        shift_factor, shift_prob: largest shift as a fraction of the image
            size, and the probability of shifting at all.
        scale_factor, scale_prob: (min, max) scale of the source region
            relative to the image, and the probability of scaling.
        scale_type: ``'short'`` or ``'long'`` (see above).
        rotate_factor, rotate_prob: largest rotation in degrees, and the
            probability of rotating.
        use_udp: warp with the UDP matrix (same as
            ``transform_mode='affine_udp'``).
        pad_val: border value of the warped image (a number or one per
            channel).
        distribution: ``'trunc_norm'`` or ``'uniform'``.
        transform_mode: ``'affine'`` or ``'affine_udp'`` (MMPose's
            ``'perspective'`` is not supported).

    Raises:
        ValueError: a bad argument (named in the message).
        MissingKeyError: ``img`` is missing.
    """

    def __init__(self,
                 input_size: Tuple[int, int],
                 shift_factor: float = 0.2,
                 shift_prob: float = 1.,
                 scale_factor: Tuple[float, float] = (0.75, 1.5),
                 scale_prob: float = 1.,
                 scale_type: str = 'short',
                 rotate_factor: float = 30.,
                 rotate_prob: float = 1.,
                 use_udp: bool = False,
                 pad_val: Union[float, Sequence[float]] = 0,
                 distribution: str = 'trunc_norm',
                 transform_mode: str = 'affine') -> None:
        if (not isinstance(input_size, (tuple, list)) or len(input_size) != 2
                or not all(isinstance(v, Integral) and v > 0
                           for v in input_size)):
            raise ValueError(f'BottomupRandomAffine: input_size must be two '
                             f'positive ints (w, h), got {input_size!r}')
        if (not isinstance(scale_factor, (tuple, list))
                or len(scale_factor) != 2
                or not all(isinstance(v, Real) for v in scale_factor)
                or not 0 < scale_factor[0] <= scale_factor[1]):
            raise ValueError(f'BottomupRandomAffine: scale_factor must be '
                             f'(min, max) with 0 < min <= max, got '
                             f'{scale_factor!r}')
        if scale_type not in _SCALE_TYPES:
            raise ValueError(f'BottomupRandomAffine: scale_type must be one '
                             f'of {_SCALE_TYPES}, got {scale_type!r}')
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(f'BottomupRandomAffine: distribution must be '
                             f'one of {_DISTRIBUTIONS}, got '
                             f'{distribution!r}')
        if transform_mode not in _MODES:
            raise ValueError(f'BottomupRandomAffine: transform_mode must be '
                             f'one of {_MODES} (perspective warps are not '
                             f'supported), got {transform_mode!r}')
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.shift_factor = _check_nonneg('shift_factor', shift_factor)
        self.shift_prob = _check_prob('shift_prob', shift_prob)
        self.scale_factor = (float(scale_factor[0]), float(scale_factor[1]))
        self.scale_prob = _check_prob('scale_prob', scale_prob)
        self.scale_type = scale_type
        self.rotate_factor = _check_nonneg('rotate_factor', rotate_factor)
        self.rotate_prob = _check_prob('rotate_prob', rotate_prob)
        self.use_udp = bool(use_udp) or transform_mode == 'affine_udp'
        self.distribution = distribution
        self.transform_mode = transform_mode
        if isinstance(pad_val, Real):
            pad_val = (pad_val, ) * 3
        self.pad_val = tuple(float(v) for v in pad_val)

    def _random(self, size: Tuple[int, ...] = (1, )) -> np.ndarray:
        if self.distribution == 'trunc_norm':
            return truncated_standard_normal(size)
        return np.random.uniform(-1., 1., size).astype(np.float32)

    @cache_randomness
    def _get_transform_params(self) -> Tuple[np.ndarray, float, float]:
        """Random (shift (2,) as a fraction of the image size, scale
        factor, rotation in degrees)."""
        shift = self._random((2, )) * self.shift_factor \
            if np.random.rand() < self.shift_prob else np.zeros(2)
        if np.random.rand() < self.scale_prob:
            low, high = self.scale_factor
            scale = low + (high - low) * (float(self._random()[0]) + 1) / 2
        else:
            scale = 1.
        rotate = float(self._random()[0]) * self.rotate_factor \
            if np.random.rand() < self.rotate_prob else 0.
        return np.asarray(shift, dtype=np.float64), scale, rotate

    def _region_size(self, img_w: int, img_h: int, scale: float
                     ) -> np.ndarray:
        """(w, h) of the source region with the input's aspect ratio."""
        w, h = self.input_size
        ratio = w / h
        src_w, src_h = img_w * scale, img_h * scale
        # 'short' fits the region to the image side that is relatively
        # shorter (the region lies inside the scaled image); 'long' to the
        # longer one (the region covers it).
        image_wider = src_w > src_h * ratio
        match_height = image_wider == (self.scale_type == 'short')
        if match_height:
            return np.array([src_h * ratio, src_h])
        return np.array([src_w, src_w / ratio])

    def transform(self, results: dict) -> Optional[dict]:
        check_required_keys(results, ['img'], self)
        img = results['img']
        img_h, img_w = img.shape[:2]
        w, h = self.input_size
        shift, scale_rate, rotate = self._get_transform_params()
        scale = self._region_size(img_w, img_h, scale_rate)
        if self.use_udp:
            center = np.array([(img_w - 1.) / 2, (img_h - 1.) / 2])
        else:
            center = np.array([img_w / 2., img_h / 2.])
        center = center + shift * np.array([img_w, img_h])
        if self.use_udp:
            mat = get_udp_warp_matrix(center, scale, rotate, (w, h))
        else:
            mat = get_warp_matrix(center, scale, rotate, (w, h))

        channels = img.shape[2] if img.ndim == 3 else 1
        border = self.pad_val if channels == 3 else self.pad_val[0]
        results['img'] = warp_image(img, mat, (w, h), border)
        if results.get('keypoints') is not None:
            kpts = np.array(results['keypoints'], dtype=np.float32)
            kpts[..., :2] = transform_points(kpts[..., :2], mat)
            results['keypoints'] = kpts
        if results.get('bbox') is not None:
            results['bbox'] = self._warp_boxes(results['bbox'], mat)
        if results.get('area') is not None:
            det = float(np.linalg.det(np.asarray(mat[:, :2], np.float64)))
            results['area'] = (np.asarray(results['area'], np.float32)
                               * np.float32(det))
        record_warp(results, mat, (img_w, img_h))
        results['input_size'] = (w, h)
        results['input_center'] = center.astype(np.float32)
        results['input_scale'] = scale.astype(np.float32)
        return results

    @staticmethod
    def _warp_boxes(bbox: np.ndarray, mat: np.ndarray) -> np.ndarray:
        """(N, 4) xyxy -> the (N, 4) xyxy box enclosing the warped
        corners."""
        bbox = np.asarray(bbox, dtype=np.float32)
        if bbox.ndim != 2 or bbox.shape[1] != 4:
            raise ValueError(f'BottomupRandomAffine: bbox must be (N, 4) '
                             f'xyxy, got shape {bbox.shape}')
        x1, y1, x2, y2 = bbox.T
        corners = np.stack([np.stack([x1, y1], -1), np.stack([x2, y1], -1),
                            np.stack([x2, y2], -1), np.stack([x1, y2], -1)],
                           axis=1)
        warped = transform_points(corners, mat)
        return np.concatenate([warped.min(axis=1), warped.max(axis=1)],
                              axis=1).astype(np.float32)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, '
                f'shift_factor={self.shift_factor}, '
                f'shift_prob={self.shift_prob}, '
                f'scale_factor={self.scale_factor}, '
                f'scale_prob={self.scale_prob}, '
                f'scale_type={self.scale_type!r}, '
                f'rotate_factor={self.rotate_factor}, '
                f'rotate_prob={self.rotate_prob}, use_udp={self.use_udp}, '
                f'pad_val={self.pad_val}, '
                f'distribution={self.distribution!r}, '
                f'transform_mode={self.transform_mode!r})')


__all__: Sequence[str] = ['BottomupRandomAffine']
