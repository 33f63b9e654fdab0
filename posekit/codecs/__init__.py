"""Keypoint codecs: keypoints <-> training targets / model outputs."""
from .associative_embedding import AssociativeEmbedding
from .base import BaseKeypointCodec
from .image_pose_lifting import ImagePoseLifting
from .integral_regression_label import IntegralRegressionLabel
from .msra_heatmap import MSRAHeatmap
from .regression_label import RegressionLabel
from .simcc_label import SimCCLabel
from .udp_heatmap import UDPHeatmap
from .video_pose_lifting import VideoPoseLifting

__all__ = ['AssociativeEmbedding', 'ImagePoseLifting', 'VideoPoseLifting',
           'BaseKeypointCodec', 'MSRAHeatmap', 'UDPHeatmap',
           'RegressionLabel', 'IntegralRegressionLabel', 'SimCCLabel']
