"""Keypoint codecs: keypoints <-> training targets / model outputs."""
from .base import BaseKeypointCodec
from .msra_heatmap import MSRAHeatmap
from .udp_heatmap import UDPHeatmap

__all__ = ['BaseKeypointCodec', 'MSRAHeatmap', 'UDPHeatmap']
