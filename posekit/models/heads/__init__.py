"""Heads."""
from .base_head import BaseHead
from .heatmap_heads import HeatmapHead

__all__ = ['BaseHead', 'HeatmapHead']
