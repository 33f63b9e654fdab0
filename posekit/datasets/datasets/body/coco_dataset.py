"""The COCO person-keypoint dataset (17 keypoints)."""
from posekit.registry import DATASETS
from ..base import BaseCocoStyleDataset

__all__ = ['CocoDataset']


@DATASETS.register_module()
class CocoDataset(BaseCocoStyleDataset):
    """COCO-2017 person keypoints: ``person_keypoints_*.json`` files with
    17 keypoints per person (nose, eyes, ears, shoulders, elbows, wrists,
    hips, knees, ankles; see ``configs/_base_/datasets/coco.py``).

    Arguments are those of :class:`BaseCocoStyleDataset`.
    """

    METAINFO: dict = dict(from_file='configs/_base_/datasets/coco.py')
