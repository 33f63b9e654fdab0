"""Regression heads: coordinates from pooled features (DeepPose, RLE) or
from a soft-argmax over heatmaps (integral regression, DSNT)."""
from .dsnt_head import DSNTHead
from .integral_regression_head import IntegralRegressionHead
from .regression_head import RegressionHead
from .rle_head import RLEHead

__all__ = ['RegressionHead', 'RLEHead', 'IntegralRegressionHead', 'DSNTHead']
