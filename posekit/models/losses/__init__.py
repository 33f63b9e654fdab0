"""Losses."""
from .alignment_loss import AlignmentLoss
from .heatmap_loss import KeypointMSELoss, KeypointOHKMMSELoss

__all__ = ['AlignmentLoss', 'KeypointMSELoss', 'KeypointOHKMMSELoss']
