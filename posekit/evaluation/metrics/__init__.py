"""Registered evaluation metrics."""
from .coco_metric import CocoMetric
from .keypoint_2d_metrics import AUC, EPE, NME, PCKAccuracy
from .mpjpe_metric import MPJPE

__all__ = ['CocoMetric', 'PCKAccuracy', 'AUC', 'EPE', 'NME', 'MPJPE']
