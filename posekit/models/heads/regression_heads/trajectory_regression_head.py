"""Trajectory regression head of VideoPose3D (Pavllo et al., CVPR 2019):
temporal features ``(B, C, 1)`` -> camera-space joint (root) positions."""
from typing import Sequence, Tuple

from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptConfigType
from ..base_head import BaseHead
from .temporal_regression_head import (LiftingHeadMixin,
                                       gather_lifting_labels, weighted_mpjpe)


@MODELS.register_module()
class TrajectoryRegressionHead(LiftingHeadMixin, BaseHead):
    """VideoPose3D trajectory head: a 1x1 conv from ``(B, in_channels, 1)``
    to ``(B, num_joints, 3)`` (``num_joints=1``: the root trajectory).

    Args:
        in_channels: channels of the feature.
        num_joints: number of predicted joints.
        loss: config of the loss, called as ``loss(pred (B, K, 3),
            lifting_target_label (B, K, 3), trajectory_weights (B, K, 1))``
            (the MMPose 1.x label keys).
        decoder: config of the codec used in :meth:`predict`.
        init_cfg: mmengine initialisation config.

    Losses: ``loss_traj`` and ``mpjpe_traj`` (for the log).
    """

    _version = 2

    def __init__(self, in_channels: int, num_joints: int,
                 loss: ConfigType = dict(type='MPJPELoss',
                                         use_target_weight=True),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        if init_cfg is None:
            init_cfg = [dict(type='Normal', layer=['Linear'], std=0.01,
                             bias=0)]
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.loss_module = MODELS.build(loss)
        self.decoder = decoder
        self.conv = nn.Conv1d(in_channels, num_joints * 3, 1)

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """``loss_traj`` against ``gt_instance_labels.lifting_target_label``
        weighted by ``trajectory_weights``, and ``mpjpe_traj``.

        Raises:
            KeyError / ValueError: see :func:`gather_lifting_labels`.
        """
        pred = self.forward(feats)
        labels, weights = gather_lifting_labels(
            self, batch_data_samples, 'lifting_target_label',
            'trajectory_weights', pred)
        loss = self.loss_module(pred, labels, weights.unsqueeze(-1))
        return dict(loss_traj=loss,
                    mpjpe_traj=weighted_mpjpe(pred, labels, weights))
