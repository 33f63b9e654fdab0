"""Heatmap heads."""
from .heatmap_head import HeatmapHead

__all__ = ['HeatmapHead']
