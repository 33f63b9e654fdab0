"""Heatmap heads."""
from .ae_head import AssociativeEmbeddingHead
from .ae_higher_resolution_head import AEHigherResolutionHead
from .heatmap_head import HeatmapHead
from .higherhrnet_head import HigherHRNetHead

__all__ = ['HeatmapHead', 'AssociativeEmbeddingHead', 'HigherHRNetHead',
           'AEHigherResolutionHead']
