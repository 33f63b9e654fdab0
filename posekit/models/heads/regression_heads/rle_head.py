"""Top-down regression head of RLE (Li et al., 2021): coordinates plus a
per-keypoint scale (sigma) trained with residual log-likelihood
estimation."""
from typing import Sequence, Tuple

import torch
from torch import Tensor

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptConfigType
from .regression_head import (RegressionHead, coord_accuracy,
                              gather_instance_labels)


@MODELS.register_module()
class RLEHead(RegressionHead):
    """RLE head: pooled features ``(B, in_channels)`` -> ``(B, K, 4)``:
    normalised x, y and two sigma logits per keypoint (``fc`` is
    ``Linear(in_channels, K * 4)``).

    ``predict`` applies a sigmoid to the sigmas before decoding, so the
    codec (``RegressionLabel``) scores keypoints with ``1 - mean(sigma)``.
    The loss (``RLELoss``) gets the raw sigma logits and applies its own
    sigmoid.

    Args:
        in_channels: channels of the pooled feature.
        num_joints: number of keypoints K.
        loss: config of the loss, called as ``loss(coords (B, K, 2),
            sigma (B, K, 2), labels (B, K, 2), weights (B, K, 1))``.
        decoder: config of the codec used in :meth:`predict`.
        init_cfg: mmengine initialisation config; defaults to N(0, 0.01)
            linear weights with zero bias.

    Raises:
        TypeError: ``in_channels`` is not an int.
    """

    _version = 2
    coord_dims = 4

    def __init__(self, in_channels: int, num_joints: int,
                 loss: ConfigType = dict(type='RLELoss',
                                         use_target_weight=True),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        super().__init__(in_channels=in_channels, num_joints=num_joints,
                         loss=loss, decoder=decoder, init_cfg=init_cfg)
        self._register_load_state_dict_pre_hook(self._upgrade_state_dict)

    def _activate(self, outputs: Tensor) -> Tensor:
        """``(B, K, 4)`` outputs with a sigmoid on the sigma columns 2:4
        (a new tensor; coordinates unchanged)."""
        return torch.cat([outputs[..., :2], outputs[..., 2:].sigmoid()],
                         dim=-1)

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """``loss_kpt`` (the RLE loss of coordinates and sigma logits
        against ``keypoint_labels``) and ``acc_pose`` (PCK@0.05 of the
        input size).

        Raises:
            KeyError: a sample lacks ``keypoint_labels`` or
                ``keypoint_weights``.
        """
        pred = self.forward(feats)
        labels, weights = gather_instance_labels(
            batch_data_samples, ('keypoint_labels', 'keypoint_weights'))
        labels = labels.to(pred)
        weights = weights.to(pred)
        coords, sigma = pred[..., :2], pred[..., 2:4]
        loss = self.loss_module(coords, sigma, labels, weights.unsqueeze(-1))
        return dict(loss_kpt=loss,
                    acc_pose=coord_accuracy(coords, labels, weights))

    def _upgrade_state_dict(self, state_dict: dict, prefix: str,
                            local_metadata: dict, *args, **kwargs) -> None:
        """Rename pre-1.0 MMPose keys: the loss (with its flow prior's
        weights) was ``loss.*``, now ``loss_module.*``."""
        version = local_metadata.get('version')
        if version is not None and version >= self._version:
            return
        old = prefix + 'loss.'
        for key in [k for k in state_dict if k.startswith(old)]:
            state_dict[prefix + 'loss_module.' + key[len(old):]] = \
                state_dict.pop(key)

