from .coco_dataset import CocoDataset

__all__ = ['CocoDataset']
