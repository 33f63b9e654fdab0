"""COCO-format ground truth for :class:`CocoMetric`: read from a json file,
or assembled from the ``raw_ann_info`` of evaluated samples.

Ground truth is kept as the plain COCO dict (``images``, ``annotations``,
``categories``) and turned into a pycocotools or xtcocotools ``COCO`` index
on demand, without printing.
"""
import contextlib
import copy
import io
import json
from typing import Dict, Iterable, List, Optional

from mmengine.fileio import get_local_path

# Keys an annotation needs for keypoint evaluation.
_REQUIRED_ANN_KEYS = ('id', 'image_id', 'category_id', 'bbox', 'keypoints',
                      'iscrowd')


def load_coco_json(ann_file: str, need_annotations: bool = True) -> Dict:
    """Read a COCO keypoint annotation file (local path or URI).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it is not JSON, not a dict with ``images``, or has no
            ``annotations`` while ``need_annotations``.
    """
    try:
        with get_local_path(ann_file) as local:
            with open(local, encoding='utf-8') as f:
                data = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(
            f'CocoMetric: ann_file {ann_file!r} does not exist') from None
    except json.JSONDecodeError as err:
        raise ValueError(f'CocoMetric: ann_file {ann_file!r} is not valid '
                         f'JSON ({err})') from None
    if not isinstance(data, dict) or 'images' not in data:
        raise ValueError(f'CocoMetric: ann_file {ann_file!r} is not a COCO '
                         "annotation file (a dict with 'images', "
                         "'annotations' and 'categories')")
    if need_annotations and 'annotations' not in data:
        raise ValueError(
            f"CocoMetric: ann_file {ann_file!r} has no 'annotations'; "
            'evaluation needs them (use format_only=True with an '
            'outfile_prefix to only write the results)')
    data.setdefault('annotations', [])
    data.setdefault('categories', [])
    return data


def gt_from_samples(gts: Iterable[Optional[dict]], use_area: bool,
                    crowd: bool, categories: Optional[List[dict]]) -> Dict:
    """COCO dict from per-sample ground truth gathered by ``process``.

    Each entry has ``img_id``, ``width``, ``height`` (only the first entry
    of an image needs them), ``raw_ann_info`` (a list of annotation dicts)
    and, for CrowdPose, ``crowd_index``. Annotations are de-duplicated by
    id; ``categories`` default to those the annotations name.

    Raises:
        KeyError: an annotation lacks a key evaluation needs (named with
            the annotation id), or ``area``/``num_keypoints`` when
            ``use_area``/``crowd`` need them.
    """
    images: Dict = {}
    anns: Dict = {}
    for gt in gts:
        if gt is None:
            continue
        img_id = gt['img_id']
        if 'width' in gt and img_id not in images:
            info = dict(id=img_id, width=gt['width'], height=gt['height'])
            if crowd:
                info['crowdIndex'] = gt['crowd_index']
            images[img_id] = info
        for ann in gt['raw_ann_info']:
            # bottom-up samples of images without people carry None
            if ann is None or ann.get('id') in anns:
                continue
            anns[ann.get('id')] = _coco_annotation(ann, img_id, use_area,
                                                   crowd)
    if categories is None:
        cat_ids = sorted({a['category_id'] for a in anns.values()} or {1})
        categories = [dict(id=c, name=f'category_{c}') for c in cat_ids]
    return dict(images=list(images.values()),
                annotations=list(anns.values()), categories=categories)


def _coco_annotation(ann: dict, img_id, use_area: bool, crowd: bool) -> dict:
    keys = list(_REQUIRED_ANN_KEYS)
    if use_area:
        keys.append('area')
    if crowd:
        keys.append('num_keypoints')
    missing = [k for k in keys if k not in ann]
    if missing:
        hint = (' (or set use_area=False)' if missing == ['area'] else '')
        raise KeyError(
            f"CocoMetric: raw_ann_info annotation id {ann.get('id')} of "
            f'image {img_id} lacks {missing}{hint}; evaluating without '
            'ann_file needs the COCO keys ' + ', '.join(keys))
    return {k: ann[k] for k in keys}


def build_coco(dataset: Dict, library: str = 'pycocotools'):
    """A ``COCO`` index over ``dataset`` (a COCO dict, copied) built by
    ``library`` ('pycocotools' or 'xtcocotools'), silently."""
    if library == 'xtcocotools':
        from xtcocotools.coco import COCO
    else:
        from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.copy(dataset)
        coco.createIndex()
    return coco
