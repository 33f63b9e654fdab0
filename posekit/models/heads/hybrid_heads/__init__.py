"""Hybrid heads: heads that combine several kinds of outputs."""
from .vis_head import VisPredictHead

__all__ = ['VisPredictHead']
