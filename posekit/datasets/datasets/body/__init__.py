from .coco_dataset import CocoDataset
from .crowdpose_dataset import CrowdPoseDataset

__all__ = ['CocoDataset', 'CrowdPoseDataset']
