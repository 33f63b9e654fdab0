"""Helpers shared by posekit's models: accuracy and test-time flipping."""
from .accuracy import heatmap_argmax, keypoint_pck_accuracy, pose_pck_accuracy
from .tta import flip_heatmaps

__all__ = ['heatmap_argmax', 'keypoint_pck_accuracy', 'pose_pck_accuracy',
           'flip_heatmaps']
