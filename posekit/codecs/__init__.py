"""Keypoint codecs: keypoints <-> training targets / model outputs."""
from .base import BaseKeypointCodec
from .integral_regression_label import IntegralRegressionLabel
from .msra_heatmap import MSRAHeatmap
from .regression_label import RegressionLabel
from .simcc_label import SimCCLabel
from .udp_heatmap import UDPHeatmap

__all__ = ['BaseKeypointCodec', 'MSRAHeatmap', 'UDPHeatmap', 'RegressionLabel', 'IntegralRegressionLabel', 'SimCCLabel']
