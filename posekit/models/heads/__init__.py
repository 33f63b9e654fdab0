"""Heads."""
from .base_head import BaseHead
from .guidance import VitGuidanceHead
from .heatmap_heads import HeatmapHead

__all__ = ['BaseHead', 'HeatmapHead', 'VitGuidanceHead']
