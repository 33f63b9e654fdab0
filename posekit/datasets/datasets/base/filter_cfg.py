"""Checking a COCO-style dataset's ``filter_cfg``."""
from typing import Optional, Sequence, Tuple

FILTER_KEYS = ('bbox_score_thr', 'filter_empty_gt', 'min_keypoints')


def parse_filter_cfg(name: str, filter_cfg: Optional[dict], data_mode: str,
                     bbox_file: Optional[str], test_mode: bool
                     ) -> Tuple[int, bool]:
    """``(min_keypoints, filter_empty_gt)`` from dataset ``name``'s
    ``filter_cfg``; ``filter_empty_gt`` defaults to ``not test_mode``.

    Raises:
        ValueError: an unknown key, a key that does not apply to
            ``data_mode`` or to detections (``bbox_file``), or a bad
            ``min_keypoints`` (each message names the key).
    """
    cfg = dict(filter_cfg or {})
    unknown = sorted(set(cfg) - set(FILTER_KEYS))
    if unknown:
        raise ValueError(f'{name}: filter_cfg keys {unknown} are not '
                         f'supported; valid keys: {list(FILTER_KEYS)}')
    if 'bbox_score_thr' in cfg and data_mode != 'topdown':
        raise ValueError(f'{name}: filter_cfg.bbox_score_thr needs '
                         "data_mode='topdown'")
    if 'filter_empty_gt' in cfg and data_mode != 'bottomup':
        raise ValueError(f'{name}: filter_cfg.filter_empty_gt needs '
                         "data_mode='bottomup' (a top-down sample is "
                         'one instance; use min_keypoints)')
    min_kpts = cfg.get('min_keypoints', 1)
    if 'min_keypoints' in cfg and bbox_file:
        raise ValueError(f'{name}: filter_cfg.min_keypoints cannot be '
                         'used with bbox_file (detections have no '
                         'keypoints)')
    if not isinstance(min_kpts, int) or min_kpts < 1:
        raise ValueError(f'{name}: filter_cfg.min_keypoints must be an '
                         f'int >= 1, got {min_kpts!r}')
    return min_kpts, bool(cfg.get('filter_empty_gt', not test_mode))


__all__: Sequence[str] = ['FILTER_KEYS', 'parse_filter_cfg']
