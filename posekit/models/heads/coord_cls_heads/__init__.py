"""Coordinate-classification heads: keypoints as 1-D classifications over
sub-pixel bins of each axis (SimCC)."""
from .simcc_head import SimCCHead

__all__ = ['SimCCHead']
