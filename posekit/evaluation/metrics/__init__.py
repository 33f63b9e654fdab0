"""Registered evaluation metrics."""
from .coco_metric import CocoMetric
from .keypoint_2d_metrics import PCKAccuracy

__all__ = ['CocoMetric', 'PCKAccuracy']
