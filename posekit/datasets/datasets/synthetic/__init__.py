from .generator import generate_synthetic_coco, render_sample
from .storage import ensure_synthetic_coco
from .synthetic_coco_dataset import SyntheticCocoDataset

__all__ = ['SyntheticCocoDataset', 'generate_synthetic_coco',
           'ensure_synthetic_coco', 'render_sample']
