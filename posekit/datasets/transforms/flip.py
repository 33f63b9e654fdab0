"""RandomFlip: mirror the image and every coordinate that lives on it.

Coordinate convention: pixel centres sit at integer coordinates, so
mirroring an image of width ``w`` sends pixel column ``i`` to ``w - 1 - i``
and any x coordinate to ``w - 1 - x``. Keypoints (through
:func:`posekit.structures.flip_keypoints`), box corners and box centres all
use this one mapping (a box's corners are mirrored and then swapped), so a
keypoint at a box centre is still at that box's centre after flipping.
(MMPose mirrors boxes with ``w - x`` but keypoints with ``w - 1 - x``; we
do not copy that one-pixel disagreement.)
"""
from numbers import Real
from typing import List, Optional, Sequence, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from posekit.registry import TRANSFORMS
from posekit.structures import flip_bbox, flip_keypoints

from .required_keys import check_required_keys
from .warp_record import compose_affine, flip_matrix

_DIRECTIONS = ('horizontal', 'vertical', 'diagonal')
_CV2_CODES = {'horizontal': 1, 'vertical': 0, 'diagonal': -1}


def _is_prob(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) \
        and 0 <= value <= 1


def flip_image(img: np.ndarray, direction: str) -> np.ndarray:
    """Mirror an (H, W) or (H, W, C) image; returns a contiguous copy."""
    if img.ndim == 3 and img.shape[2] > 4:
        # cv2.flip is the fast path for ordinary images; numpy takes any
        # channel count and dtype.
        axes = {'horizontal': 1, 'vertical': 0, 'diagonal': (0, 1)}
        return np.ascontiguousarray(np.flip(img, axes[direction]))
    return cv2.flip(np.ascontiguousarray(img), _CV2_CODES[direction])


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Randomly mirror ``img`` (and ``img_mask``), ``bbox`` (N, 4) xyxy,
    ``bbox_center`` (N, 2), ``keypoints`` (N, K, D) with left/right swapped
    through ``flip_indices``, and ``keypoints_visible`` ((N, K), or (N, K,
    2) with a per-keypoint weight); sets ``flip`` and ``flip_direction``
    (``None`` when not flipped).

    Args:
        prob: flip probability; with a list, one probability per entry of
            ``direction`` (their sum at most 1).
        direction: ``'horizontal'``, ``'vertical'``, ``'diagonal'`` or a
            list of them. With one ``prob`` and several directions the
            probability is shared equally among them.

    Coordinates are mirrored in the frame of the image being flipped (its
    own shape), with x -> w - 1 - x (see the module docstring).

    Raises:
        ValueError: bad ``prob``/``direction``; ``flip_indices`` of the
            wrong length; ``keypoints_visible`` of the wrong shape.
        MissingKeyError: ``img`` is missing, or ``flip_indices`` is missing
            while keypoints are present.
    """

    def __init__(self, prob: Union[float, List[float]] = 0.5,
                 direction: Union[str, List[str]] = 'horizontal') -> None:
        directions = [direction] if isinstance(direction, str) \
            else list(direction) if isinstance(direction, (list, tuple)) \
            else None
        if not directions or any(d not in _DIRECTIONS for d in directions):
            raise ValueError(f'RandomFlip: direction must be one of '
                             f'{_DIRECTIONS} or a list of them, got '
                             f'{direction!r}')
        if isinstance(prob, (list, tuple)):
            if not all(_is_prob(p) for p in prob) or sum(prob) > 1 + 1e-6:
                raise ValueError(f'RandomFlip: a list prob must hold numbers '
                                 f'in [0, 1] summing to at most 1, got '
                                 f'{prob!r}')
            if isinstance(direction, str) or len(prob) != len(directions):
                raise ValueError(f'RandomFlip: a list prob needs a list '
                                 f'direction of the same length, got prob='
                                 f'{prob!r}, direction={direction!r}')
            probs = [float(p) for p in prob]
        elif _is_prob(prob):
            probs = [float(prob) / len(directions)] * len(directions)
        else:
            raise ValueError(f'RandomFlip: prob must be a number in [0, 1] '
                             f'or a list of them, got {prob!r}')
        self.prob = prob
        self.direction = direction
        self._choices: List[Optional[str]] = directions + [None]
        self._probs = np.array(probs + [max(0., 1. - sum(probs))])
        self._probs /= self._probs.sum()
        cdf = self._probs.cumsum()
        self._cdf = cdf / cdf[-1]

    @cache_randomness
    def _choose_direction(self) -> Optional[str]:
        # What np.random.choice(len(choices), p=probs) computes, from the
        # same single uniform draw (so the same choice and random stream),
        # without its per-call checks of p (60 us, 2% of a sample).
        index = int(np.searchsorted(self._cdf, np.random.random_sample(),
                                    side='right'))
        return self._choices[index]

    def transform(self, results: dict) -> Optional[dict]:
        check_required_keys(results, ['img'], self)
        direction = self._choose_direction()
        results['flip'] = direction is not None
        results['flip_direction'] = direction
        if direction is None:
            return results
        img = results['img']
        h, w = img.shape[:2]
        results['img'] = flip_image(img, direction)
        if results.get('img_mask') is not None:
            results['img_mask'] = flip_image(results['img_mask'], direction)
        if results.get('warp_mat') is not None:
            # Bottom-up: keep warp_mat mapping the original image onto the
            # current one (BottomupGetHeatmapMask warps with it).
            results['warp_mat'] = compose_affine(
                flip_matrix(direction, (w, h)),
                results['warp_mat']).astype(np.float32)
        # Mirroring about (w - 1) / 2: flip_bbox maps x -> size - x, so it
        # is given the last pixel index as the size.
        last = (w - 1, h - 1)
        if results.get('bbox') is not None:
            results['bbox'] = flip_bbox(results['bbox'], last, 'xyxy',
                                        direction)
        if results.get('bbox_center') is not None:
            results['bbox_center'] = flip_bbox(results['bbox_center'], last,
                                               'center', direction)
        if results.get('keypoints') is not None:
            check_required_keys(results, ['flip_indices'], self)
            visible = results.get('keypoints_visible')
            try:
                kpts, visible = flip_keypoints(
                    results['keypoints'], visible, (w, h),
                    results['flip_indices'], direction)
            except ValueError as err:
                raise ValueError(f'RandomFlip: {err}') from None
            results['keypoints'] = kpts
            if visible is not None:
                results['keypoints_visible'] = visible
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, '
                f'direction={self.direction!r})')


__all__: Sequence[str] = ['RandomFlip', 'flip_image']
