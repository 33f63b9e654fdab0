"""The CrowdPose person-keypoint dataset (14 keypoints, crowded scenes)."""
from posekit.registry import DATASETS
from ..base import BaseCocoStyleDataset

__all__ = ['CrowdPoseDataset']


@DATASETS.register_module()
class CrowdPoseDataset(BaseCocoStyleDataset):
    """CrowdPose (Li et al., CVPR 2019) in COCO format: per person a box and
    14 keypoints (COCO's 12 limb joints, then top of head and neck; see
    ``configs/_base_/datasets/crowdpose.py``). Each image carries a
    ``crowdIndex``, stored per sample as ``crowd_index``; CrowdPose is scored
    with ``CocoMetric(iou_type='keypoints_crowd', use_area=False)``, which
    reports AP over the easy/medium/hard crowd-index ranges.

    Arguments are those of :class:`BaseCocoStyleDataset`.
    """

    METAINFO: dict = dict(from_file='configs/_base_/datasets/crowdpose.py')
