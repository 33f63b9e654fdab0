"""Heads."""
from .base_head import BaseHead
from .coord_cls_heads import SimCCHead
from .guidance import VitGuidanceHead
from .heatmap_heads import (AEHigherResolutionHead,
                            AssociativeEmbeddingHead, HeatmapHead,
                            HigherHRNetHead)
from .hybrid_heads import VisPredictHead
from .regression_heads import (DSNTHead, IntegralRegressionHead,
                               RegressionHead, RLEHead)

__all__ = ['BaseHead', 'HeatmapHead', 'AssociativeEmbeddingHead',
           'HigherHRNetHead', 'AEHigherResolutionHead', 'VitGuidanceHead',
           'RegressionHead', 'RLEHead', 'IntegralRegressionHead', 'DSNTHead',
           'SimCCHead', 'VisPredictHead']
