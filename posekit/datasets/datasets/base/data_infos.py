"""Building data infos from parsed instances: bottom-up stacking of one
image's instances, and top-down samples from detected boxes."""
import os.path as osp
from typing import Any, Callable, Dict, List

import numpy as np

from posekit.structures import bbox_xywh2xyxy

__all__ = ['stack_instances', 'detection_data_infos']


def stack_instances(infos: List[dict], num_keypoints: int) -> dict:
    """One image's instances as one data info: arrays concatenated along
    axis 0 (``keypoints`` ``(N, K, 2)``, ``bbox`` ``(N, 4)``, ...), other
    values listed; empty arrays of the right shape when ``infos`` is
    empty."""
    if not infos:
        num = num_keypoints
        return dict(
            bbox=np.zeros((0, 4), np.float32),
            bbox_score=np.zeros(0, np.float32),
            keypoints=np.zeros((0, num, 2), np.float32),
            keypoints_visible=np.zeros((0, num), np.float32),
            area=np.zeros(0, np.float32), id=[], num_keypoints=[],
            iscrowd=[], segmentation=[], category_id=[], raw_ann_info=[])
    stacked = {}
    for key, first in infos[0].items():
        if key in ('img_id', 'img_path'):
            continue
        values = [info[key] for info in infos]
        stacked[key] = (np.concatenate(values, axis=0)
                        if isinstance(first, np.ndarray) else values)
    return stacked


def detection_data_infos(dets: dict, images: Dict[Any, dict],
                         img_prefix: str, num_keypoints: int,
                         sampled: Callable[[Any], bool]) -> List[dict]:
    """One top-down data info per detected box.

    Args:
        dets: the output of :func:`load_detections` (boxes xywh).
        images: image id -> the annotation file's image dict.
        img_prefix: folder joined with each image's ``file_name``.
        num_keypoints: K; keypoints and visibility are zeros ``(1, K, 2)``
            and ``(1, K)``.
        sampled: whether an image id is kept (``sample_interval``).
    """
    bboxes = bbox_xywh2xyxy(dets['bbox'])
    data_list = []
    for index, img_id in enumerate(dets['image_id']):
        if not sampled(img_id):
            continue
        data_list.append(dict(
            id=index, img_id=img_id,
            img_path=osp.join(img_prefix, images[img_id]['file_name']),
            bbox=bboxes[index:index + 1].copy(),
            bbox_score=dets['score'][index:index + 1].copy(),
            keypoints=np.zeros((1, num_keypoints, 2), dtype=np.float32),
            keypoints_visible=np.zeros((1, num_keypoints), dtype=np.float32),
            category_id=dets['category_id'][index]))
    return data_list
