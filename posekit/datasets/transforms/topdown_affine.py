"""TopdownAffine: crop the (rotated) instance box to the model input."""
from numbers import Integral
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from posekit.registry import TRANSFORMS
from posekit.structures import (fix_aspect_ratio, get_udp_warp_matrix,
                                get_warp_matrix, transform_points)

from .image_warp import warp_image
from .required_keys import check_required_keys


@TRANSFORMS.register_module()
class TopdownAffine(BaseTransform):
    """Warp the box ``bbox_center``/``bbox_scale`` (rotated by
    ``bbox_rotation`` degrees, if present) onto an image of ``input_size``
    = (w, h) with ``cv2.warpAffine`` (bilinear, black border; see :func:`.image_warp.warp_image`).

    The box scale is first grown to the input's aspect ratio (written back
    to ``bbox_scale``). Without UDP the box centre lands on (w/2, h/2);
    with ``use_udp`` it lands on ((w-1)/2, (h-1)/2) (see
    :func:`posekit.structures.get_udp_warp_matrix`).

    Writes ``img`` (h, w, C), ``input_size`` (w, h), ``input_center`` (2,)
    and ``input_scale`` (2,) (the aspect-fixed box in original pixels), and,
    when ``keypoints`` (N, K, D) are present, ``transformed_keypoints``
    (N, K, D) with x, y in input pixels. ``keypoints_visible`` is left as
    it is, as in MMPose: keypoints that land outside the input keep their
    visibility and the codec gives them zero ``keypoint_weights``.

    Top-down samples hold one instance; as MMPose, more than one box is an
    error.

    Raises:
        MissingKeyError: ``img``, ``bbox_center`` or ``bbox_scale`` missing.
        ValueError: bad ``input_size``; boxes not (1, 2); a box scale with
            a negative or non-finite side, or both sides 0 (a single zero
            side is grown by the aspect-ratio fix).
    """

    def __init__(self, input_size: Tuple[int, int],
                 use_udp: bool = False) -> None:
        if (not isinstance(input_size, (tuple, list)) or len(input_size) != 2
                or not all(isinstance(v, Integral) and v > 0
                           for v in input_size)):
            raise ValueError(f'TopdownAffine: input_size must be two '
                             f'positive ints (w, h), got {input_size!r}')
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.use_udp = use_udp

    def transform(self, results: dict) -> Optional[dict]:
        check_required_keys(results, ['img', 'bbox_center', 'bbox_scale'],
                            self)
        w, h = self.input_size
        centers = np.asarray(results['bbox_center'], dtype=np.float32)
        scales = np.asarray(results['bbox_scale'], dtype=np.float32)
        if centers.shape != (1, 2) or scales.shape != (1, 2):
            raise ValueError(
                'TopdownAffine crops one instance per sample: bbox_center '
                'and bbox_scale must be (1, 2), got '
                f'{centers.shape} and {scales.shape}')
        # One zero side (a box around keypoints on a line) is fine: the
        # aspect-ratio fix below grows it from the other side.
        if not (np.isfinite(scales).all() and (scales >= 0).all()
                and (scales > 0).any()):
            raise ValueError(
                'TopdownAffine: bbox_scale must be positive, finite (w, h) '
                '(one side may be 0), got '
                f'{scales.tolist()}; check the box (results["bbox"], xyxy)'
                ' or the augmentations before TopdownAffine')
        scales = fix_aspect_ratio(scales, w / h).astype(np.float32)
        results['bbox_scale'] = scales
        center, scale = centers[0], scales[0]
        rotation = results.get('bbox_rotation')
        rot = 0. if rotation is None else float(np.asarray(rotation)[0])
        if self.use_udp:
            mat = get_udp_warp_matrix(center, scale, rot, (w, h))
        else:
            mat = get_warp_matrix(center, scale, rot, (w, h))
        results['img'] = warp_image(results['img'], mat, (w, h))
        if results.get('keypoints') is not None:
            kpts = np.asarray(results['keypoints'], dtype=np.float32)
            moved = kpts.copy()
            moved[..., :2] = transform_points(kpts[..., :2], mat)
            results['transformed_keypoints'] = moved
        results['input_size'] = (w, h)
        results['input_center'] = center
        results['input_scale'] = scale
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, '
                f'use_udp={self.use_udp})')


__all__: Sequence[str] = ['TopdownAffine']
