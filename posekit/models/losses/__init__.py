"""Losses."""
from .heatmap_loss import KeypointMSELoss, KeypointOHKMMSELoss

__all__ = ['KeypointMSELoss', 'KeypointOHKMMSELoss']
