"""RandomBBoxTransform: random shift, rescale and rotation of the boxes."""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from posekit.registry import TRANSFORMS

from .required_keys import check_required_keys


def truncated_standard_normal(size: Tuple[int, ...]) -> np.ndarray:
    """Standard normal samples truncated to [-1, 1], drawn from numpy's
    global generator (so the usual seeding makes them reproducible)."""
    out = np.random.randn(*size)
    bad = np.abs(out) > 1
    # About 32% of draws fall outside; redraw only those, a few rounds.
    while bad.any():
        out[bad] = np.random.randn(int(bad.sum()))
        bad = np.abs(out) > 1
    return out.astype(np.float32)


@TRANSFORMS.register_module()
class RandomBBoxTransform(BaseTransform):
    """Randomly shift, rescale and rotate each box (N boxes).

    Each box independently, with a truncated normal draw t in [-1, 1]:
    - with ``shift_prob``: ``bbox_center += t_xy * shift_factor *
      bbox_scale`` (at most ``shift_factor`` of the box size per axis);
    - with ``scale_prob``: ``bbox_scale *= mid + t * half`` where
      ``scale_factor = (lo, hi)``, ``mid = (lo + hi) / 2``,
      ``half = (hi - lo) / 2`` (so the factor is in [lo, hi]);
    - with ``rotate_prob``: ``bbox_rotation = t * rotate_factor`` degrees,
      else 0.
    Writes ``bbox_rotation`` (N,) in degrees.

    Raises:
        MissingKeyError: ``bbox_center`` or ``bbox_scale`` is missing.
        ValueError: ``scale_factor`` is not a pair 0 < lo <= hi, or a
            probability is outside [0, 1].
    """

    def __init__(self, shift_factor: float = 0.16, shift_prob: float = 0.3,
                 scale_factor: Tuple[float, float] = (0.5, 1.5),
                 scale_prob: float = 1.0, rotate_factor: float = 80.0,
                 rotate_prob: float = 0.6) -> None:
        if (not isinstance(scale_factor, (tuple, list))
                or len(scale_factor) != 2
                or not 0 < scale_factor[0] <= scale_factor[1]):
            raise ValueError(
                'RandomBBoxTransform: scale_factor must be a pair (lo, hi) '
                f'with 0 < lo <= hi, got {scale_factor!r} (MMPose 0.x used a '
                'single f; write (1 - f, 1 + f))')
        for name, value in (('shift_prob', shift_prob),
                            ('scale_prob', scale_prob),
                            ('rotate_prob', rotate_prob)):
            if not 0 <= value <= 1:
                raise ValueError(f'RandomBBoxTransform: {name} must be in '
                                 f'[0, 1], got {value!r}')
        self.shift_factor = shift_factor
        self.shift_prob = shift_prob
        self.scale_factor = tuple(scale_factor)
        self.scale_prob = scale_prob
        self.rotate_factor = rotate_factor
        self.rotate_prob = rotate_prob

    @cache_randomness
    def _get_transform_params(
            self, num: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Offsets (N, 2) in box sizes, scale factors (N, 1), degrees (N,)."""
        t = truncated_standard_normal((num, 4))
        offset = np.where(np.random.rand(num, 1) < self.shift_prob,
                          t[:, :2] * self.shift_factor, 0.)
        lo, hi = self.scale_factor
        scale = np.where(np.random.rand(num, 1) < self.scale_prob,
                         t[:, 2:3] * (hi - lo) * 0.5 + (hi + lo) * 0.5, 1.)
        rotate = np.where(np.random.rand(num) < self.rotate_prob,
                          t[:, 3] * self.rotate_factor, 0.)
        return (offset.astype(np.float32), scale.astype(np.float32),
                rotate.astype(np.float32))

    def transform(self, results: dict) -> Optional[dict]:
        check_required_keys(results, ['bbox_center', 'bbox_scale'], self)
        center = np.asarray(results['bbox_center'], dtype=np.float32)
        scale = np.asarray(results['bbox_scale'], dtype=np.float32)
        if center.shape != scale.shape or center.ndim != 2 \
                or center.shape[1] != 2:
            raise ValueError(
                'RandomBBoxTransform: bbox_center and bbox_scale must both '
                f'be (N, 2), got {center.shape} and {scale.shape}')
        offset, factor, rotate = self._get_transform_params(center.shape[0])
        results['bbox_center'] = center + offset * scale
        results['bbox_scale'] = scale * factor
        results['bbox_rotation'] = rotate
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(shift_factor={self.shift_factor}, '
                f'shift_prob={self.shift_prob}, scale_factor='
                f'{self.scale_factor}, scale_prob={self.scale_prob}, '
                f'rotate_factor={self.rotate_factor}, '
                f'rotate_prob={self.rotate_prob})')


__all__: Sequence[str] = ['RandomBBoxTransform', 'truncated_standard_normal']
