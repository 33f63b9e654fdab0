"""Pose estimators."""
from .base import BasePoseEstimator
from .topdown import TopdownPoseEstimator

__all__ = ['BasePoseEstimator', 'TopdownPoseEstimator']
