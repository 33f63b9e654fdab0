"""Reading and checking COCO-format keypoint and detection json files.

Every problem is reported with the file and the offending annotation id (or
detection index), so a broken file is fixed at the source instead of being
half-loaded.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

import numpy as np

__all__ = ['CocoAnnotations', 'load_coco_annotations', 'load_detections']

_IMAGE_KEYS = ('id', 'file_name', 'width', 'height')
_ANN_KEYS = ('id', 'image_id', 'category_id', 'bbox', 'keypoints')
_DET_KEYS = ('image_id', 'bbox', 'score', 'category_id')


@dataclass
class CocoAnnotations:
    """The content of a COCO keypoint file, indexed once.

    ``images`` keeps the file's order; ``anns_by_image`` maps an image id
    to its annotations in file order; ``categories`` is the file's
    ``categories`` list (empty when the file has none).
    """
    path: str
    images: List[dict]
    anns_by_image: Dict[int, List[dict]]
    categories: List[dict] = field(default_factory=list)

    @property
    def image_ids(self) -> Set[int]:
        return {img['id'] for img in self.images}


def _read_json(path: str, what: str) -> Any:
    if not path:
        raise ValueError(f'{what} is empty; set it to the path of a COCO-'
                         'format json file')
    if not Path(path).is_file():
        raise FileNotFoundError(f'{what} {path!r} does not exist')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'{what} {path!r} is not valid JSON: {err}') from None


def _index_images(images: Any, path: str) -> List[dict]:
    if not isinstance(images, list):
        raise ValueError(f"annotation file {path!r}: 'images' must be a "
                         f'list, got {type(images).__name__}')
    seen: Set[int] = set()
    for i, img in enumerate(images):
        missing = [k for k in _IMAGE_KEYS if not isinstance(img, dict)
                   or k not in img]
        if missing:
            name = img.get('id', f'#{i}') if isinstance(img, dict) else f'#{i}'
            raise KeyError(f'annotation file {path!r}: image {name} lacks '
                           f'{missing}; every image needs {list(_IMAGE_KEYS)}')
        if img['id'] in seen:
            raise ValueError(f'annotation file {path!r}: image id '
                             f'{img["id"]} appears more than once')
        seen.add(img['id'])
    return images


def _check_annotation(ann: Any, index: int, path: str,
                      num_keypoints: int, image_ids: Set[int]) -> None:
    if not isinstance(ann, dict):
        raise ValueError(f'annotation file {path!r}: annotations[{index}] is '
                         f'a {type(ann).__name__}, not a dict')
    missing = [k for k in _ANN_KEYS if k not in ann]
    if missing:
        name = f'id {ann["id"]}' if 'id' in ann else f'[{index}] (no id)'
        raise KeyError(f'annotation file {path!r}: annotation {name} lacks '
                       f'{missing}; every annotation needs {list(_ANN_KEYS)}')
    ann_id = ann['id']
    n_values = len(ann['keypoints'])
    if n_values != 3 * num_keypoints:
        raise ValueError(
            f'annotation file {path!r}: annotation id {ann_id} has '
            f'{n_values} keypoint values, expected 3*K = '
            f'{3 * num_keypoints} (K={num_keypoints} keypoints in the '
            'metainfo, each as x, y, v)')
    if len(ann['bbox']) != 4:
        raise ValueError(f'annotation file {path!r}: annotation id {ann_id} '
                         f'has bbox {ann["bbox"]}; expected [x, y, w, h]')
    for key in ('keypoints', 'bbox'):
        try:
            values = np.asarray(ann[key], dtype=np.float64)
        except (TypeError, ValueError):
            values = None
        if values is None or not np.isfinite(values).all():
            raise ValueError(
                f'annotation file {path!r}: annotation id {ann_id} has '
                f'{key} with values that are not finite numbers (NaN, '
                'infinity, null or text); every value must be a finite '
                'number (unlabelled keypoints are 0, 0, 0)')
    if ann['image_id'] not in image_ids:
        raise ValueError(f'annotation file {path!r}: annotation id {ann_id} '
                         f'refers to image_id {ann["image_id"]}, which is '
                         "not in 'images'")


def load_coco_annotations(path: str, num_keypoints: int) -> CocoAnnotations:
    """Read a COCO keypoint json once and index annotations by image.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not JSON; an annotation's keypoint list is not 3*K long,
            its bbox is not 4 numbers, its keypoints or bbox hold values
            that are not finite numbers, or its image_id is not in
            ``images``.
        KeyError: ``images``/``annotations`` missing, or an image or
            annotation lacks a required key.
    """
    data = _read_json(path, 'annotation file')
    if not isinstance(data, dict):
        raise ValueError(f'annotation file {path!r} must hold a JSON object '
                         f'with images and annotations, got '
                         f'{type(data).__name__}')
    for key in ('images', 'annotations'):
        if key not in data:
            raise KeyError(f'annotation file {path!r} has no {key!r} key; a '
                           "COCO-format file needs 'images' and "
                           f"'annotations' (found: {sorted(data)})")
    images = _index_images(data['images'], path)
    image_ids = {img['id'] for img in images}
    anns_by_image: Dict[int, List[dict]] = {i: [] for i in image_ids}
    if not isinstance(data['annotations'], list):
        raise ValueError(f"annotation file {path!r}: 'annotations' must be a "
                         'list')
    for index, ann in enumerate(data['annotations']):
        _check_annotation(ann, index, path, num_keypoints, image_ids)
        anns_by_image[ann['image_id']].append(ann)
    return CocoAnnotations(path=path, images=images,
                           anns_by_image=anns_by_image,
                           categories=list(data.get('categories', []) or []))


def load_detections(path: str, image_ids: Set[int],
                    category_ids: Optional[Set[int]] = None) -> dict:
    """Read a COCO detection-result json (a list of ``{image_id, bbox
    (xywh), score, category_id}``).

    Detections of categories outside ``category_ids`` (when given) are
    dropped: a generic detector's file also holds non-keypoint classes.

    Returns:
        dict of ``image_id`` (list of M ids), ``bbox`` (M, 4) xywh
        float32, ``score`` (M,) float32 and ``category_id`` (list of M).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not JSON, not a list of dicts, a bad bbox, or image ids
            that are not in the annotation file (the first few are named).
        KeyError: a detection lacks a required key (its index is named).
    """
    dets = _read_json(path, 'bbox_file')
    if not isinstance(dets, list):
        raise ValueError(f'bbox_file {path!r} must hold a JSON list of '
                         '{image_id, bbox, score, category_id} dicts, got '
                         f'{type(dets).__name__}')
    for i, det in enumerate(dets):
        missing = [k for k in _DET_KEYS if not isinstance(det, dict)
                   or k not in det]
        if missing:
            raise KeyError(f'bbox_file {path!r}: detection [{i}] lacks '
                           f'{missing}; each needs {list(_DET_KEYS)}')
        if len(det['bbox']) < 4:
            raise ValueError(f'bbox_file {path!r}: detection [{i}] has bbox '
                             f'{det["bbox"]}; expected [x, y, w, h]')
    if category_ids:
        dets = [d for d in dets if d['category_id'] in category_ids]
    unknown = sorted({d['image_id'] for d in dets} - set(image_ids))
    if unknown:
        raise ValueError(
            f'bbox_file {path!r} has detections on {len(unknown)} image ids '
            f'that are not in the annotation file, e.g. {unknown[:5]}; the '
            'detections must come from the same image set as ann_file')
    return dict(
        image_id=[d['image_id'] for d in dets],
        bbox=np.array([d['bbox'][:4] for d in dets],
                      dtype=np.float32).reshape(-1, 4),
        score=np.array([d['score'] for d in dets], dtype=np.float32),
        category_id=[d['category_id'] for d in dets])
