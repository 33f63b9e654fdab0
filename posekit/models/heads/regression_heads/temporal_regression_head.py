"""Temporal regression head of VideoPose3D (Pavllo et al., CVPR 2019):
temporal features ``(B, C, 1)`` -> root-relative 3D joints ``(B, K, 3)``."""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import (ConfigType, Features, OptConfigType,
                                  OptSampleList, Predictions)
from ..base_head import BaseHead


def gather_lifting_labels(head: nn.Module, batch_data_samples: Sequence,
                          label_key: str, weight_key: str,
                          pred: Tensor) -> Tuple[Tensor, Tensor]:
    """``gt_instance_labels.<label_key>`` of all samples as ``pred``'s shape
    ``(B, K, 3)`` and ``<weight_key>`` as ``(B, K)``, on ``pred``'s device.

    Raises:
        KeyError: a sample lacks a key; names the sample and the key.
        ValueError: the labels do not hold ``B * K * 3`` values.
    """
    out = []
    for key in (label_key, weight_key):
        parts = []
        for i, sample in enumerate(batch_data_samples):
            labels = sample.get('gt_instance_labels')
            if labels is None or key not in labels:
                raise KeyError(
                    f'{type(head).__name__}: data sample {i} has no '
                    f'gt_instance_labels.{key}; the pipeline must run '
                    'GenerateTarget with a pose-lifting codec '
                    '(ImagePoseLifting / VideoPoseLifting) before '
                    'PackPoseInputs')
            parts.append(torch.as_tensor(labels.get(key)).reshape(1, -1))
        out.append(torch.cat(parts).to(pred))
    labels, weights = out
    b, k, d = pred.shape
    if labels.numel() != pred.numel() or weights.numel() != b * k:
        raise ValueError(
            f'{type(head).__name__}: predictions are {tuple(pred.shape)} '
            f'but {label_key} holds {labels.shape[1]} and {weight_key} '
            f'{weights.shape[1]} values per sample (expected {k * d} and '
            f'{k}); check num_joints against the codec (remove_root drops '
            'the root joint)')
    return labels.reshape(b, k, d), weights.reshape(b, k)


def flip_lifted_coords(coords: Tensor, flip_indices: Sequence[int]
                       ) -> Tensor:
    """Mirror 3D joints ``(B, K, 3)`` of a horizontally flipped input back:
    swap left/right joints by ``flip_indices`` and negate x.

    Raises:
        ValueError: ``len(flip_indices) != K``.
    """
    if len(flip_indices) != coords.shape[1]:
        raise ValueError(
            f'flip test: {len(flip_indices)} flip_indices for '
            f'{coords.shape[1]} predicted joints; flip test needs a head '
            'that predicts every joint (codec remove_root=False)')
    out = coords[:, list(flip_indices)].clone()
    out[..., 0] = -out[..., 0]
    return out


def weighted_mpjpe(pred: Tensor, gt: Tensor, weights: Tensor) -> Tensor:
    """Mean joint distance ``(B, K, D)`` over joints with weight > 0 (0 when
    there are none), detached; a training-log number, not a loss."""
    with torch.no_grad():
        mask = weights > 0
        if not bool(mask.any()):
            return pred.new_zeros(())
        return (pred - gt).norm(dim=-1)[mask].mean()


def stack_target_root(batch_data_samples: OptSampleList
                      ) -> Optional[Tensor]:
    """``metainfo['target_root']`` of every sample stacked ``(B, ...)``
    (float32, CPU), or None when the first sample has none.

    Raises:
        KeyError: some samples have ``target_root`` and others do not.
    """
    if not batch_data_samples or \
            'target_root' not in batch_data_samples[0].metainfo:
        return None
    roots = []
    for i, sample in enumerate(batch_data_samples):
        if 'target_root' not in sample.metainfo:
            raise KeyError(f'data sample {i} lacks metainfo target_root '
                           'while sample 0 has it')
        root = sample.metainfo['target_root']
        if isinstance(root, Tensor):
            root = root.detach().cpu().numpy()
        roots.append(np.asarray(root, dtype=np.float32))
    return torch.from_numpy(np.stack(roots))


LINEAR_INIT = [dict(type='Normal', layer=['Linear'], std=0.01, bias=0)]


class LiftingHeadMixin:
    """Layers, loss, forward, flip-averaged prediction and decoding shared
    by the temporal and trajectory heads (a 1x1 temporal conv to K * 3).
    A head sets which label weights it reads and the names it logs."""

    num_joints: int
    conv: nn.Conv1d
    weight_key: str  # gt_instance_labels key of the per-joint weights
    loss_key: str
    mpjpe_key: str

    def _init_layers(self, in_channels: int, num_joints: int,
                     loss: ConfigType, decoder: OptConfigType) -> None:
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.loss_module = MODELS.build(loss)
        self.decoder = decoder
        self.conv = nn.Conv1d(in_channels, num_joints * 3, 1)

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """The loss against ``gt_instance_labels.lifting_target_label``
        weighted by the head's ``weight_key`` labels, and the weighted
        MPJPE for the log.

        Raises:
            KeyError / ValueError: see :func:`gather_lifting_labels`.
        """
        pred = self.forward(feats)
        labels, weights = gather_lifting_labels(
            self, batch_data_samples, 'lifting_target_label',
            self.weight_key, pred)
        loss = self.loss_module(pred, labels, weights.unsqueeze(-1))
        return {self.loss_key: loss,
                self.mpjpe_key: weighted_mpjpe(pred, labels, weights)}

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """``(B, in_channels, 1)`` (the last of ``feats``) -> ``(B, K,
        3)``.

        Raises:
            ValueError: the feature has more than one frame (the input
                window is longer than the backbone's receptive field).
        """
        x = feats[-1]
        if x.ndim != 3 or x.shape[-1] != 1:
            raise ValueError(
                f'{type(self).__name__} expects one output frame (B, C, 1), '
                f'got features {tuple(x.shape)}; make the input window '
                '(seq_len) equal to the backbone receptive field')
        return self.conv(x).reshape(-1, self.num_joints, 3)

    def _predict_coords(self, feats: Features,
                        batch_data_samples: OptSampleList,
                        test_cfg: ConfigType) -> Tensor:
        """``(B, K, 3)``; with ``test_cfg.flip_test`` (``feats`` = [plain,
        flipped input]) the mean with the mirrored flipped prediction.

        Raises:
            KeyError: flip test without ``flip_indices`` in the metainfo.
        """
        if not test_cfg.get('flip_test', False):
            return self.forward(feats)
        if not batch_data_samples or \
                'flip_indices' not in batch_data_samples[0].metainfo:
            raise KeyError('flip test needs metainfo flip_indices: keep '
                           "'flip_indices' in PackPoseInputs meta_keys")
        flip_indices = batch_data_samples[0].metainfo['flip_indices']
        plain = self.forward(feats[0])
        flipped = flip_lifted_coords(self.forward(feats[1]), flip_indices)
        return (plain + flipped) * 0.5

    def predict(self, feats: Features, batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Decoded 3D joints, one ``InstanceData(keypoints (1, K, 3),
        keypoint_scores (1, K))`` per sample; the codec adds back
        ``metainfo['target_root']`` when the samples carry it.

        Raises:
            ValueError: no decoder.
            KeyError: see :meth:`_predict_coords` and
                :func:`stack_target_root`.
        """
        coords = self._predict_coords(feats, batch_data_samples, test_cfg)
        coords = coords.detach().unsqueeze(1)  # one instance a sample
        roots = stack_target_root(batch_data_samples)
        if roots is None:
            return self.decode(coords)
        return self.decode((coords, roots))


@MODELS.register_module()
class TemporalRegressionHead(LiftingHeadMixin, BaseHead):
    """VideoPose3D pose head: a 1x1 conv from the backbone's last feature
    ``(B, in_channels, 1)`` to root-relative joints ``(B, num_joints, 3)``
    in the codec's label space.

    Args:
        in_channels: channels of the feature.
        num_joints: number of predicted joints (K - 1 with the codec's
            ``remove_root``).
        loss: config of the coordinate loss, called as ``loss(pred (B, K,
            3), lifting_target_label (B, K, 3), lifting_target_weight (B,
            K, 1))``.
        decoder: config of the codec (``VideoPoseLifting`` /
            ``ImagePoseLifting``) used in :meth:`predict`.
        init_cfg: mmengine initialisation config.

    Losses: ``loss_pose3d`` and ``mpjpe`` (the weighted mean joint error in
    label units, for the log).
    """

    _version = 2

    weight_key = 'lifting_target_weight'
    loss_key = 'loss_pose3d'
    mpjpe_key = 'mpjpe'

    def __init__(self, in_channels: int, num_joints: int,
                 loss: ConfigType = dict(type='MSELoss',
                                         use_target_weight=True),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg if init_cfg is not None else
                         LINEAR_INIT)
        self._init_layers(in_channels, num_joints, loss, decoder)
