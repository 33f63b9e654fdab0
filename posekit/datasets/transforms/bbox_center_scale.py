"""GetBBoxCenterScale: xyxy boxes -> center and padded (w, h) scale."""
import warnings
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from posekit.registry import TRANSFORMS
from posekit.structures import bbox_xyxy2cs

from .required_keys import check_required_keys


@TRANSFORMS.register_module()
class GetBBoxCenterScale(BaseTransform):
    """Write ``bbox_center`` and ``bbox_scale`` (N, 2) from ``bbox`` (N, 4)
    xyxy pixels; the scale is the box (w, h) times ``padding``.

    As in MMPose, when ``bbox_center`` and ``bbox_scale`` already exist
    they are kept (with a warning) and only the padding is applied to the
    scale.

    Raises:
        MissingKeyError: ``bbox`` is missing (and no center/scale given).
        ValueError: ``bbox`` is not (N, 4), or ``padding`` is not positive.
    """

    def __init__(self, padding: float = 1.25) -> None:
        if not padding > 0:
            raise ValueError(f'GetBBoxCenterScale: padding must be > 0, '
                             f'got {padding!r}')
        self.padding = padding

    def transform(self, results: dict) -> Optional[dict]:
        if 'bbox_center' in results and 'bbox_scale' in results:
            warnings.warn('GetBBoxCenterScale: using the existing '
                          '"bbox_center" and "bbox_scale"; the padding is '
                          'still applied to the scale.')
            results['bbox_scale'] = np.asarray(
                results['bbox_scale'], dtype=np.float32) * self.padding
            return results
        check_required_keys(results, ['bbox'], self)
        bbox = np.asarray(results['bbox'], dtype=np.float32)
        if bbox.ndim != 2 or bbox.shape[1] != 4:
            raise ValueError(f'GetBBoxCenterScale: results["bbox"] must be '
                             f'(N, 4) xyxy, got shape {bbox.shape}')
        center, scale = bbox_xyxy2cs(bbox, padding=self.padding)
        results['bbox_center'] = center.astype(np.float32)
        results['bbox_scale'] = scale.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(padding={self.padding})'
