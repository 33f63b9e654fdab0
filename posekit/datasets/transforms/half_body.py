"""RandomHalfBody: sometimes replace the box by one around half the body."""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from posekit.registry import TRANSFORMS

from .required_keys import check_required_keys


@TRANSFORMS.register_module()
class RandomHalfBody(BaseTransform):
    """With probability ``prob``, replace an instance's ``bbox_center`` and
    ``bbox_scale`` (N, 2) by a box around only its visible upper-body or
    only its visible lower-body keypoints.

    An instance qualifies when it has at least ``min_total_keypoints``
    visible keypoints. The upper half is chosen with probability
    ``upper_prioritized_prob`` when both halves have enough visible
    keypoints (``min_upper_keypoints``/``min_lower_keypoints``); otherwise
    the half that has enough, or none. The new box is centred on the mean
    of the chosen keypoints and its (w, h) is their extent times
    ``padding``; when the chosen keypoints all coincide (no extent) the
    instance keeps its box. One side may be 0 (keypoints on a line):
    TopdownAffine grows it to the input's aspect ratio.

    Reads ``keypoints`` (N, K, 2+), ``keypoints_visible`` (N, K),
    ``upper_body_ids``, ``lower_body_ids``, ``bbox_center``, ``bbox_scale``.

    Raises:
        MissingKeyError: a key above is missing.
        ValueError: a body-part index is outside 0..K-1, or ``prob`` /
            ``upper_prioritized_prob`` is outside [0, 1].
    """

    def __init__(self, min_total_keypoints: int = 9,
                 min_upper_keypoints: int = 2,
                 min_lower_keypoints: int = 3, padding: float = 1.5,
                 prob: float = 0.3,
                 upper_prioritized_prob: float = 0.7) -> None:
        for name, value in (('prob', prob), ('upper_prioritized_prob',
                                             upper_prioritized_prob)):
            if not 0 <= value <= 1:
                raise ValueError(f'RandomHalfBody: {name} must be in '
                                 f'[0, 1], got {value!r}')
        if not padding > 0:
            raise ValueError(f'RandomHalfBody: padding must be > 0, got '
                             f'{padding!r}')
        self.min_total_keypoints = min_total_keypoints
        self.min_upper_keypoints = min_upper_keypoints
        self.min_lower_keypoints = min_lower_keypoints
        self.padding = padding
        self.prob = prob
        self.upper_prioritized_prob = upper_prioritized_prob

    @cache_randomness
    def _draw(self, num: int) -> Tuple[np.ndarray, np.ndarray]:
        """Per instance: apply at all? prefer the upper half?"""
        apply = np.random.rand(num) < self.prob
        prefer_upper = np.random.rand(num) < self.upper_prioritized_prob
        return apply, prefer_upper

    @staticmethod
    def _part_mask(ids: Sequence[int], num_keypoints: int,
                   key: str) -> np.ndarray:
        ids = np.asarray(list(ids), dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= num_keypoints):
            raise ValueError(f'RandomHalfBody: results["{key}"] holds an '
                             f'index outside 0..{num_keypoints - 1}: '
                             f'{ids.tolist()}')
        mask = np.zeros(num_keypoints, dtype=bool)
        mask[ids] = True
        return mask

    def transform(self, results: dict) -> Optional[dict]:
        check_required_keys(results, [
            'keypoints', 'keypoints_visible', 'upper_body_ids',
            'lower_body_ids', 'bbox_center', 'bbox_scale'
        ], self)
        kpts = np.asarray(results['keypoints'])[..., :2]
        vis = np.asarray(results['keypoints_visible'])
        if vis.ndim == 3:  # (N, K, 2): visibility and its weight
            vis = vis[..., 0]
        num, num_kpts = kpts.shape[:2]
        visible = vis > 0
        upper = visible & self._part_mask(results['upper_body_ids'],
                                          num_kpts, 'upper_body_ids')
        lower = visible & self._part_mask(results['lower_body_ids'],
                                          num_kpts, 'lower_body_ids')
        upper_ok = upper.sum(1) >= self.min_upper_keypoints
        lower_ok = lower.sum(1) >= self.min_lower_keypoints
        apply, prefer_upper = self._draw(num)
        apply &= visible.sum(1) >= self.min_total_keypoints
        use_upper = upper_ok & (prefer_upper | ~lower_ok)
        chosen = np.where(use_upper[:, None], upper, lower)
        # The chosen half must have enough keypoints (and at least one,
        # should a minimum be 0) for a box around it.
        apply &= np.where(use_upper, upper_ok, lower_ok) & chosen.any(1)

        center = np.array(results['bbox_center'], dtype=np.float32)
        scale = np.array(results['bbox_scale'], dtype=np.float32)
        if apply.any():
            pts = kpts.astype(np.float32)  # (N, K, 2)
            lo = np.where(chosen[..., None], pts, np.inf).min(1)
            hi = np.where(chosen[..., None], pts, -np.inf).max(1)
            extent = (hi - lo) * np.float32(self.padding)
            # Keypoints that all coincide span no box: keep the original
            # one rather than hand TopdownAffine a zero-size crop.
            apply &= (extent > 0).any(1)
            sel = chosen[apply]  # (M, K)
            count = sel.sum(1, keepdims=True)
            center[apply] = (pts[apply] * sel[..., None]).sum(1) / count
            scale[apply] = extent[apply]
        results['bbox_center'] = center
        results['bbox_scale'] = scale
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_total_keypoints='
                f'{self.min_total_keypoints}, min_upper_keypoints='
                f'{self.min_upper_keypoints}, min_lower_keypoints='
                f'{self.min_lower_keypoints}, padding={self.padding}, '
                f'prob={self.prob}, upper_prioritized_prob='
                f'{self.upper_prioritized_prob})')
