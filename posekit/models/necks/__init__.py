"""Necks: modules between the backbone and the head."""
from .fmap_proc_neck import FeatureMapProcessor
from .fpn import FPN
from .gap_neck import GlobalAveragePooling

__all__ = ['FeatureMapProcessor', 'FPN', 'GlobalAveragePooling']
