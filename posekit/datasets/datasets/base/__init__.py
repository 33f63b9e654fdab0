from .base_coco_style_dataset import BaseCocoStyleDataset
from .build_pipeline import build_pipeline
from .coco_files import (CocoAnnotations, load_coco_annotations,
                         load_detections)

__all__ = ['BaseCocoStyleDataset', 'build_pipeline', 'CocoAnnotations',
           'load_coco_annotations', 'load_detections']
