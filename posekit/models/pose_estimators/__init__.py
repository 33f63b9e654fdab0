"""Pose estimators."""
from .base import BasePoseEstimator
from .bottomup import BottomupPoseEstimator
from .pose_lifter import PoseLifter
from .topdown import TopdownPoseEstimator

__all__ = ['BasePoseEstimator', 'BottomupPoseEstimator',
           'TopdownPoseEstimator', 'PoseLifter']
