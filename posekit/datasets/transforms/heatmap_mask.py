"""BottomupGetHeatmapMask: where a bottom-up heatmap loss may look."""
import warnings
from typing import Any, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import pycocotools.mask as cocomask
from mmcv.transforms import BaseTransform

from posekit.registry import TRANSFORMS

from .flip import flip_image
from .polygon_clip import clip_polygons_to_image
from .required_keys import MissingKeyError, check_required_keys
from .scratch import scratch


def segs_to_mask(segs: Sequence[Any], shape: Tuple[int, int]
                 ) -> np.ndarray:
    """Rasterise COCO segmentations into one (h, w) uint8 mask (1 inside
    any of them) of an image of ``shape`` = (h, w).

    Each entry of ``segs`` is a list of polygons ``[x1, y1, x2, y2, ...]``,
    an uncompressed RLE ``{'counts': [...], 'size': [h, w]}`` or a
    compressed one (``counts`` a str/bytes). All polygons go to
    ``pycocotools.mask`` in one call, first clipped to the image plus a
    small margin (:func:`clip_polygons_to_image`: the same pixels, at a
    cost bounded by the image size however far a vertex lies). Polygons of
    fewer than 3 points enclose nothing and are skipped.

    Raises:
        TypeError: an entry of another kind (names its index).
        ValueError: an RLE whose ``size`` is not ``shape``.
    """
    h, w = int(shape[0]), int(shape[1])
    polygons: List[List[float]] = []
    uncompressed, rles = [], []
    for i, seg in enumerate(segs):
        if isinstance(seg, (list, tuple)):
            polygons.extend(list(p) for p in seg if len(p) >= 6)
        elif isinstance(seg, dict) and 'counts' in seg and 'size' in seg:
            if [int(v) for v in seg['size']] != [h, w]:
                raise ValueError(
                    f'invalid_segs[{i}] is an RLE of size {seg["size"]} '
                    f'(h, w) but the image is {[h, w]}')
            if isinstance(seg['counts'], (list, tuple)):
                uncompressed.append(seg)
            else:
                rles.append(seg)
        else:
            raise TypeError(
                f'invalid_segs[{i}] must be a list of polygons or an RLE '
                f'dict with "counts" and "size", got {type(seg).__name__}')
    # Far-away vertices would make pycocotools walk their whole edges.
    polygons = clip_polygons_to_image(polygons, (h, w))
    if polygons:
        rles.extend(cocomask.frPyObjects(polygons, h, w))
    if uncompressed:
        rles.extend(cocomask.frPyObjects(uncompressed, h, w))
    if not rles:
        return np.zeros((h, w), dtype=np.uint8)
    merged = cocomask.merge(rles)
    with warnings.catch_warnings():
        # pycocotools' decoder predates numpy 2's __array__(copy=...)
        # protocol and warns on every call; the result is unaffected.
        warnings.filterwarnings('ignore', message='__array__ implementation',
                                category=DeprecationWarning)
        return cocomask.decode(merged)


@TRANSFORMS.register_module()
class BottomupGetHeatmapMask(BaseTransform):
    """Make ``heatmap_mask``: 1 where the heatmap loss applies, 0 on the
    crowd and unlabelled people of ``invalid_segs`` and outside the warped
    image.

    The mask is drawn in the original image (``ori_shape``, else
    ``img_shape``), then, when ``warp_mat`` is present, warped once to
    ``input_size`` with it (bilinear, 0 outside the image). ``warp_mat``
    already holds any flip (see :mod:`.warp_record`), so the mask follows
    the image whether RandomFlip ran before or after the affine; without
    ``warp_mat`` a flipped sample's mask is mirrored. When ``heatmaps`` are
    present the mask is resized (bilinear) to their (h, w), per level for a
    list (multi-level targets). Values are then thresholded at 0.5.

    Writes ``heatmap_mask``: float32 (h, w) of 0/1, or a list of them (one
    per heatmap level).

    Args:
        get_invalid: make the mask of the invalid regions instead (1 on
            ``invalid_segs``, 0 elsewhere), as MMPose's flag does.

    Raises:
        MissingKeyError: no ``ori_shape``/``img_shape``, or ``warp_mat``
            without ``input_size``.
        TypeError, ValueError: a bad entry of ``invalid_segs`` (see
            :func:`segs_to_mask`).
    """

    def __init__(self, get_invalid: bool = False) -> None:
        self.get_invalid = bool(get_invalid)

    def _original_shape(self, results: dict) -> Tuple[int, int]:
        for key in ('ori_shape', 'img_shape'):
            if results.get(key) is not None:
                return tuple(int(v) for v in results[key][:2])
        raise MissingKeyError(
            'BottomupGetHeatmapMask needs the key \'ori_shape\' (or '
            '\'img_shape\'), the (h, w) of the image the invalid_segs '
            'belong to, set by LoadImage; neither is present. Keys present: '
            f'{sorted(map(str, results))}')

    def _input_mask(self, results: dict) -> np.ndarray:
        """Float32 mask in the frame of the current ``img``; possibly a
        scratch array, valid until the next call."""
        shape = self._original_shape(results)
        segs = results.get('invalid_segs') or []
        # Both full-size masks are scratch arrays (see .scratch): every
        # path of transform() makes a new array from them before anything
        # is handed on.
        mask = scratch('heatmap_mask.source', shape, np.float32)
        if segs:
            drawn = segs_to_mask(segs, shape)
            if self.get_invalid:
                np.copyto(mask, drawn)
            else:
                np.subtract(1, drawn, out=mask, dtype=np.float32)
        else:
            # Common case: nothing to mask, so skip rasterising.
            mask.fill(0. if self.get_invalid else 1.)
        warp = results.get('warp_mat')
        if warp is not None:
            check_required_keys(results, ['input_size'], self)
            size = tuple(int(v) for v in results['input_size'])
            return cv2.warpAffine(
                mask, np.asarray(warp, np.float64), size,
                flags=cv2.INTER_LINEAR, borderValue=0.,
                dst=scratch('heatmap_mask.warped', (size[1], size[0]),
                            np.float32))
        if results.get('flip') and results.get('flip_direction'):
            return flip_image(mask, results['flip_direction'])
        return mask

    def transform(self, results: dict) -> Optional[dict]:
        mask = self._input_mask(results)
        heatmaps = results.get('heatmaps')
        if heatmaps is None:
            results['heatmap_mask'] = (mask > 0.5).astype(np.float32)
            return results
        levels = heatmaps if isinstance(heatmaps, list) else [heatmaps]
        out = []
        for hm in levels:
            h, w = hm.shape[-2:]
            level = mask if mask.shape == (h, w) else cv2.resize(
                mask, (w, h), interpolation=cv2.INTER_LINEAR)
            out.append((level > 0.5).astype(np.float32))
        results['heatmap_mask'] = out if isinstance(heatmaps, list) \
            else out[0]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(get_invalid={self.get_invalid})'


__all__: Sequence[str] = ['BottomupGetHeatmapMask', 'segs_to_mask']
