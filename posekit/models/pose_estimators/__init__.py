"""Pose estimators."""
from .base import BasePoseEstimator
from .pose_lifter import PoseLifter
from .topdown import TopdownPoseEstimator

__all__ = ['BasePoseEstimator', 'TopdownPoseEstimator', 'PoseLifter']
