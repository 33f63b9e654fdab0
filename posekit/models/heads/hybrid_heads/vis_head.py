"""A wrapper head that adds keypoint visibility prediction to any top-down
pose head."""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import (ConfigType, Features, OptConfigType,
                                  OptSampleList, Predictions)
from ...utils.tta import flip_test_metainfo, flip_visibility
from ..base_head import BaseHead
from ..regression_heads.regression_head import gather_instance_labels


@MODELS.register_module()
class VisPredictHead(BaseHead):
    """Pose head + visibility classifier.

    ``pose_head`` is built from ``pose_cfg`` and does the keypoints;
    ``vis_head`` (global average pooling, ``Linear(in_channels, K)`` and,
    with ``use_sigmoid``, a sigmoid) predicts per keypoint whether it is
    visible, from the same last feature map. The visibility targets are
    ``gt_instance_labels.keypoint_weights`` (1 for labelled keypoints
    inside the input); the weights, with the loss's ``use_target_weight``,
    are ``keypoints_visible_weights`` when packed, else ones.

    Args:
        pose_cfg: config of the pose head; its ``in_channels`` and
            ``num_joints`` (or ``out_channels``) size the classifier.
        loss: config of the visibility loss, called as ``loss(pred (B,
            K), labels (B, K), weights (B, K) | None)``.
        use_sigmoid: end ``vis_head`` with a sigmoid (the loss then takes
            probabilities). None (default) follows the loss's
            ``use_sigmoid`` (MMPose >= 1.2); an explicit value (MMPose
            1.1 configs) must agree with it when the loss has one.
        init_cfg: mmengine initialisation config; defaults to N(0, 0.01)
            linear weights with zero bias.

    Raises:
        KeyError: ``pose_cfg`` has no ``in_channels``.
        ValueError: ``pose_cfg`` has neither ``num_joints`` nor
            ``out_channels``, or ``use_sigmoid`` contradicts the loss.
    """

    def __init__(self, pose_cfg: ConfigType,
                 loss: ConfigType = dict(type='BCELoss',
                                         use_target_weight=False,
                                         use_sigmoid=True),
                 use_sigmoid: Optional[bool] = None,
                 init_cfg: OptConfigType = None):
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg)
        if 'in_channels' not in pose_cfg:
            raise KeyError('VisPredictHead: pose_cfg needs in_channels (the '
                           'channels of the last feature map)')
        self.in_channels = pose_cfg['in_channels']
        num = pose_cfg.get('num_joints', None)
        if num is None:
            num = pose_cfg.get('out_channels', None)
        if num is None:
            raise ValueError('VisPredictHead: pose_cfg needs num_joints or '
                             'out_channels (the number of keypoints)')
        self.out_channels = num
        loss_sigmoid = loss.get('use_sigmoid', None)
        if use_sigmoid is None:
            use_sigmoid = bool(loss_sigmoid)
        elif loss_sigmoid is not None and bool(loss_sigmoid) != use_sigmoid:
            raise ValueError(
                f'VisPredictHead: use_sigmoid={use_sigmoid} contradicts the '
                f"loss's use_sigmoid={loss_sigmoid}: the sigmoid would be "
                'applied twice or never; leave use_sigmoid unset to follow '
                'the loss')
        self.use_sigmoid = use_sigmoid
        self.loss_module = MODELS.build(loss)
        self.pose_head = MODELS.build(pose_cfg)
        self.pose_cfg = pose_cfg
        layers = [nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                  nn.Linear(self.in_channels, self.out_channels)]
        if use_sigmoid:
            layers.append(nn.Sigmoid())
        self.vis_head = nn.Sequential(*layers)

    @property
    def default_init_cfg(self) -> list:
        return [dict(type='Normal', layer=['Linear'], std=0.01, bias=0)]

    def vis_forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Visibility outputs ``(B, K)`` (probabilities with
        ``use_sigmoid``, else logits) from the last of ``feats``, a map
        ``(B, C, h, w)`` or pooled ``(B, C)``."""
        x = feats[-1]
        if x.ndim == 2:
            x = x[..., None, None]
        return self.vis_head(x).reshape(-1, self.out_channels)

    def forward(self, feats: Tuple[Tensor, ...]) -> tuple:
        """``(pose head output, visibility (B, K))``."""
        return self.pose_head.forward(feats), self.vis_forward(feats)

    def predict(self, feats: Features, batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """The pose head's predictions, each with ``keypoints_visible (1,
        K)``: the visibility probability (averaged with the swapped one of
        the flipped input under ``test_cfg.flip_test``).

        Raises:
            ValueError: flip test without two feature sets.
            KeyError: flip test without ``flip_indices`` in the metainfo.
        """
        if test_cfg.get('flip_test', False):
            flip_indices, = flip_test_metainfo(feats, batch_data_samples)
            vis = (self.vis_forward(feats[0]) + flip_visibility(
                self.vis_forward(feats[1]), flip_indices)) * 0.5
        else:
            vis = self.vis_forward(feats)
        if not self.use_sigmoid:
            vis = vis.sigmoid()
        preds = self.pose_head.predict(feats, batch_data_samples, test_cfg)
        instances = preds[0] if isinstance(preds, tuple) else preds
        if len(instances) != vis.shape[0]:
            raise ValueError(f'the pose head returned {len(instances)} '
                             f'predictions for a batch of {vis.shape[0]}')
        for inst, v in zip(instances, vis.detach().float().cpu().numpy()):
            inst.keypoints_visible = v[None]
        return preds

    @torch.no_grad()
    def vis_accuracy(self, outputs: Tensor, labels: Tensor,
                     weights: Optional[Tensor] = None) -> Tensor:
        """Share of keypoints whose thresholded (0.5) visibility equals the
        label, averaged per instance (weighted by ``weights``) and then
        over the batch."""
        probs = outputs if self.use_sigmoid else outputs.sigmoid()
        correct = ((probs >= 0.5).to(labels) == labels).to(labels)
        if weights is None:
            return correct.mean(dim=1).mean()
        return ((correct * weights).sum(dim=1) /
                (weights.sum(dim=1) + 1e-6)).mean()

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """``loss_vis`` and ``acc_vis`` of the visibility, plus the pose
        head's losses (``loss_kpt``, ``acc_pose``).

        Raises:
            KeyError: a sample lacks ``keypoint_weights``.
        """
        outputs = self.vis_forward(feats)
        labels, = gather_instance_labels(batch_data_samples,
                                         ('keypoint_weights', ))
        labels = labels.to(outputs)
        weights = None
        if getattr(self.loss_module, 'use_target_weight', False):
            weights = torch.cat([
                torch.as_tensor(s.gt_instance_labels.get(
                    'keypoints_visible_weights',
                    torch.ones(s.gt_instance_labels.keypoint_weights.shape)))
                for s in batch_data_samples]).to(outputs)
        losses = dict(loss_vis=self.loss_module(outputs, labels, weights),
                      acc_vis=self.vis_accuracy(outputs, labels, weights))
        losses.update(self.pose_head.loss(feats, batch_data_samples,
                                          train_cfg=train_cfg))
        return losses
