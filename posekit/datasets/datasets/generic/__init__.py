from .custom_coco_dataset import CustomCocoDataset

__all__ = ['CustomCocoDataset']
