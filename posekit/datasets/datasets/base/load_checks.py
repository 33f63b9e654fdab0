"""Load-time bookkeeping of a COCO-style dataset: which annotations were
dropped and why, which have labelled keypoints far outside their image, and
the message for a dataset that ends up with no samples.

Dropping follows MMPose 1.x (crowd annotations, too few labelled keypoints
and boxes of zero or negative size after clipping are left out); posekit
counts them and names the ids instead of dropping them silently.
"""
from typing import Any, Dict, List, Optional

import numpy as np

__all__ = ['LoadReport', 'far_outside_image']

# ids named per problem in a warning or an error
MAX_SHOWN = 5

CROWD, FEW_KEYPOINTS, BAD_BOX = 'crowd', 'few_keypoints', 'bad_box'


def far_outside_image(keypoints: np.ndarray, visible: np.ndarray,
                      width: float, height: float) -> bool:
    """Whether a labelled keypoint lies more than the image's own width
    (height) beyond its left/right (top/bottom) border.

    Args:
        keypoints: ``(N, K, 2)`` pixel coordinates.
        visible: ``(N, K)`` visibility; only entries > 0 are checked.
        width, height: the image size in pixels.
    """
    x, y = keypoints[..., 0], keypoints[..., 1]
    far = (x < -width) | (x > 2 * width) | (y < -height) | (y > 2 * height)
    return bool(np.any(far & (visible > 0)))


def _ids(ids: List[Any]) -> str:
    shown = ', '.join(str(i) for i in ids[:MAX_SHOWN])
    more = len(ids) - MAX_SHOWN
    return shown + (f' and {more} more' if more > 0 else '')


class LoadReport:
    """Counts of one annotation file's load: per drop reason the ids of the
    dropped annotations, and the ids of annotations kept with labelled
    keypoints far outside their image."""

    def __init__(self, name: str, ann_file: str) -> None:
        self.name = name
        self.ann_file = ann_file
        self.num_images = 0
        self.num_annotations = 0
        self.dropped: Dict[str, List[Any]] = {
            CROWD: [], FEW_KEYPOINTS: [], BAD_BOX: []}
        self.far_outside: List[Any] = []

    def warnings(self) -> List[str]:
        """One sentence per problem worth a user's attention: zero-size
        boxes and far-outside keypoints (crowd annotations and unlabelled
        persons are normal in COCO and are not warned about)."""
        where = f'{self.name}: annotation file {self.ann_file!r}'
        out = []
        bad = self.dropped[BAD_BOX]
        if bad:
            out.append(
                f'{where}: skipped {len(bad)} annotation(s) whose box has '
                'zero or negative width or height after clipping to the '
                f'image (annotation ids {_ids(bad)}); a box is [x, y, w, h] '
                'with w > 0 and h > 0, overlapping the image')
        if self.far_outside:
            out.append(
                f'{where}: {len(self.far_outside)} annotation(s) have '
                'labelled keypoints more than an image width/height outside '
                f'their image (annotation ids {_ids(self.far_outside)}); '
                'they are kept, but such coordinates usually mean a wrong '
                'scale or swapped x/y. Keypoints are pixels of the image, '
                'with v=0 for unlabelled ones')
        return out

    def empty_message(self, data_mode: str, filter_cfg: Optional[dict],
                      min_keypoints: int, sample_interval: int,
                      indices: Any, bbox_file: Optional[str]) -> str:
        """Why a dataset has no samples left: the file, every filter in
        force and how many annotations each removed."""
        counts = {k: len(v) for k, v in self.dropped.items()}
        source = (f'bbox_file {bbox_file!r} (with ann_file '
                  f'{self.ann_file!r})' if bbox_file
                  else f'ann_file {self.ann_file!r}')
        parts = [f'{self.num_images} image(s)',
                 f'{self.num_annotations} annotation(s)']
        if not bbox_file:
            parts += [
                f'{counts[CROWD]} dropped as crowd (iscrowd=1)',
                f'{counts[FEW_KEYPOINTS]} dropped for fewer than '
                f'filter_cfg.min_keypoints={min_keypoints} labelled keypoints',
                f'{counts[BAD_BOX]} dropped for a box of zero size']
        filters = [f"data_mode={data_mode!r}",
                   f'filter_cfg={dict(filter_cfg or {})}',
                   f'sample_interval={sample_interval}']
        if indices is not None:
            filters.append(f'indices={indices!r}')
        return (f'{self.name}: no samples left from {source} after '
                f"filtering ({'; '.join(parts)}; filters: "
                f"{', '.join(filters)}). Check that the file holds labelled "
                'annotations of this dataset, that sample_interval divides '
                'some image ids, and relax filter_cfg (e.g. lower '
                'bbox_score_thr or min_keypoints)')
