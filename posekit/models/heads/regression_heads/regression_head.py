"""Top-down regression head of DeepPose (Toshev and Szegedy, 2014): one
fully-connected layer from pooled features to normalised coordinates."""
from typing import Sequence, Tuple

import torch
from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import (ConfigType, Features, OptConfigType,
                                  OptSampleList, Predictions)
from ...utils.accuracy import coord_pck_accuracy
from ...utils.tta import flip_coordinates, flip_test_metainfo
from ..base_head import BaseHead, check_in_channels


def gather_instance_labels(batch_data_samples: Sequence,
                           keys: Sequence[str]) -> Tuple[Tensor, ...]:
    """Concatenate ``gt_instance_labels.<key>`` of all samples along the
    instance axis, one tensor per key (e.g. ``keypoint_labels`` ``(B, K,
    2)`` and ``keypoint_weights`` ``(B, K)`` for one instance a sample).

    Raises:
        KeyError: a sample lacks one of ``keys``; names the sample and key.
    """
    out = []
    for key in keys:
        parts = []
        for i, sample in enumerate(batch_data_samples):
            labels = sample.get('gt_instance_labels')
            if labels is None or key not in labels:
                raise KeyError(
                    f'data sample {i} has no gt_instance_labels.{key}; the '
                    'pipeline must run GenerateTarget with a codec that '
                    f'encodes {key!r} (e.g. RegressionLabel, SimCCLabel) '
                    'before PackPoseInputs')
            parts.append(torch.as_tensor(labels.get(key)))
        out.append(torch.cat(parts))
    return tuple(out)


def flatten_pooled(head: nn.Module, feats: Tuple[Tensor, ...]) -> Tensor:
    """The last feature map flattened to ``(B, in_channels)``.

    Raises:
        ValueError: it does not hold ``in_channels`` values a sample (e.g.
            an unpooled ``(B, C, h, w)`` map).
    """
    x = torch.flatten(feats[-1], 1)
    if x.shape[1] != head.in_channels:
        raise ValueError(
            f'{type(head).__name__} expects pooled features of shape (B, '
            f'{head.in_channels}), got {tuple(feats[-1].shape)}; add '
            "neck=dict(type='GlobalAveragePooling') to the model or fix "
            'in_channels')
    return x


def coord_accuracy(pred: Tensor, gt: Tensor, weights: Tensor) -> Tensor:
    """PCK@0.05 (of the input size) of normalised coordinates ``(B, K,
    2)`` over keypoints with weight > 0, as a tensor on ``gt``'s device."""
    _, acc, _ = coord_pck_accuracy(
        pred.detach().float().cpu().numpy(), gt.detach().float().cpu().numpy(),
        weights.detach().cpu().numpy() > 0, thr=0.05)
    return torch.tensor(acc, device=gt.device)


@MODELS.register_module()
class RegressionHead(BaseHead):
    """DeepPose head: pooled features ``(B, in_channels)`` (or ``(B,
    in_channels, 1, 1)``) -> coordinates ``(B, K, 2)`` normalised by the
    input size. The pooling is a ``GlobalAveragePooling`` neck.

    Args:
        in_channels: channels of the pooled feature.
        num_joints: number of keypoints K.
        loss: config of the coordinate loss; it is called as
            ``loss(pred (B, K, 2), labels (B, K, 2), weights (B, K, 1))``.
        decoder: config of the codec (``RegressionLabel``) used in
            :meth:`predict`.
        init_cfg: mmengine initialisation config; defaults to N(0, 0.01)
            linear weights with zero bias.

    Raises:
        TypeError: ``in_channels`` is not an int.
    """

    _version = 2
    # values predicted per keypoint: x, y (RLEHead adds two sigmas)
    coord_dims = 2

    def __init__(self, in_channels: int, num_joints: int,
                 loss: ConfigType = dict(type='SmoothL1Loss',
                                         use_target_weight=True),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg)
        self.in_channels = check_in_channels(self, in_channels)
        self.num_joints = num_joints
        self.loss_module = MODELS.build(loss)
        self.decoder = decoder
        self.fc = nn.Linear(in_channels, num_joints * self.coord_dims)

    @property
    def default_init_cfg(self) -> list:
        return [dict(type='Normal', layer=['Linear'], std=0.01, bias=0)]

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Outputs ``(B, K, coord_dims)`` from the last of ``feats``."""
        x = self.fc(flatten_pooled(self, feats))
        return x.reshape(-1, self.num_joints, self.coord_dims)

    def _forward_flip_averaged(self, feats: Features,
                               batch_data_samples: OptSampleList,
                               test_cfg: ConfigType) -> Tensor:
        """Final outputs ``(B, K, D)``; with ``test_cfg.flip_test`` the
        mean of the outputs on both inputs, the flipped ones mapped back
        with :func:`flip_coordinates` (``shift_coords`` defaults to True)."""
        if not test_cfg.get('flip_test', False):
            return self._activate(self.forward(feats))
        flip_indices, input_size = flip_test_metainfo(
            feats, batch_data_samples, ('flip_indices', 'input_size'))
        plain = self._activate(self.forward(feats[0]))
        flipped = flip_coordinates(
            self.forward(feats[1]), flip_indices=flip_indices,
            shift_coords=test_cfg.get('shift_coords', True),
            input_size=input_size)
        return (plain + self._activate(flipped)) * 0.5

    def _activate(self, outputs: Tensor) -> Tensor:
        """Map raw outputs to what the decoder takes (identity here)."""
        return outputs

    def predict(self, feats: Features, batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Keypoints in input pixels, one ``InstanceData`` per sample.

        Raises:
            ValueError: flip test without two feature sets, or no decoder.
            KeyError: flip test without ``flip_indices``/``input_size`` in
                the metainfo.
        """
        coords = self._forward_flip_averaged(feats, batch_data_samples,
                                             test_cfg)
        # one instance per sample: (B, 1, K, D)
        return self.decode(coords.unsqueeze(1))

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """``loss_kpt`` against ``gt_instance_labels.keypoint_labels`` and
        ``acc_pose`` (PCK@0.05 of the input size).

        Raises:
            KeyError: a sample lacks ``keypoint_labels`` or
                ``keypoint_weights``.
        """
        pred = self.forward(feats)
        labels, weights = gather_instance_labels(
            batch_data_samples, ('keypoint_labels', 'keypoint_weights'))
        labels = labels.to(pred)
        weights = weights.to(pred)
        loss = self.loss_module(pred, labels, weights.unsqueeze(-1))
        return dict(loss_kpt=loss,
                    acc_pose=coord_accuracy(pred[..., :2], labels, weights))
