"""Trajectory regression head of VideoPose3D (Pavllo et al., CVPR 2019):
temporal features ``(B, C, 1)`` -> camera-space joint (root) positions."""
from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptConfigType
from ..base_head import BaseHead
from .temporal_regression_head import LINEAR_INIT, LiftingHeadMixin


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

    weight_key = 'trajectory_weights'
    loss_key = 'loss_traj'
    mpjpe_key = 'mpjpe_traj'

    def __init__(self, in_channels: int, num_joints: int,
                 loss: ConfigType = dict(type='MPJPELoss',
                                         use_target_weight=True),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg if init_cfg is not None else
                         LINEAR_INIT)
        self._init_layers(in_channels, num_joints, loss, decoder)
