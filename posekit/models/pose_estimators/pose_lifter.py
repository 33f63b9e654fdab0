"""Pose lifter: a window of 2D keypoints in, 3D joints of its target frame
out (SimpleBaseline3D with one frame, VideoPose3D with many)."""
from itertools import zip_longest
from typing import Optional, Sequence, Tuple, Union

from torch import Tensor

from posekit.registry import MODELS
from posekit.utils.typing import (ConfigType, InstanceList, MultiConfig,
                                  OptConfigType, OptMultiConfig,
                                  PixelDataList, SampleList)
from .base import BasePoseEstimator


def flip_lifting_inputs(inputs: Tensor, flip_indices: Sequence[int]
                        ) -> Tensor:
    """Horizontally flip 2D keypoint windows ``(B, K * C, T)``: swap
    left/right joints by ``flip_indices`` and negate x (channel 0 of each
    joint). The x coordinate must be centred (the codec's camera
    normalisation or ``zero_center``), so that -x is the mirror image.

    Raises:
        ValueError: the channels are not a multiple of
            ``len(flip_indices)``.
    """
    b, channels, t = inputs.shape
    k = len(flip_indices)
    if k == 0 or channels % k:
        raise ValueError(f'flip test: {channels} input channels are not K '
                         f'* C for K = {k} flip_indices')
    x = inputs.reshape(b, k, channels // k, t)[:, list(flip_indices)]
    x = x.clone()
    x[:, :, 0] = -x[:, :, 0]
    return x.reshape(b, channels, t)


@MODELS.register_module()
class PoseLifter(BasePoseEstimator):
    """2D-to-3D pose lifter.

    Inputs are 2D keypoint windows ``(B, K * C, T)`` (or ``(B, K, C, T)``,
    flattened here) as packed from the codec's ``keypoint_labels``; the
    backbone (e.g. ``TCN``) maps them to features and the head (e.g.
    ``TemporalRegressionHead``) to root-relative 3D joints of the target
    frame, decoded by the head's codec.

    Args (beyond :class:`BasePoseEstimator`'s):
        traj_backbone / traj_neck / traj_head: an optional trajectory
            model; without ``traj_backbone`` it shares the pose backbone.
            Its losses are added in training; its predictions are not
            written into the samples (as in MMPose).
        semi_loss: optional semi-supervised loss, called as
            ``semi_loss(inputs, data_samples)`` -> ``semi_loss`` entry.
        auxiliary_head: training-only head(s) on the pose features, as in
            :class:`TopdownPoseEstimator` (``aux_``/``aux{i}_`` losses,
            ``test_cfg.drop_auxiliary``).

    ``test_cfg.flip_test``: the head also sees the flipped input (joints
    swapped by the metainfo ``flip_indices``, x negated) and averages its
    prediction with the mirrored flipped one.
    """

    takes_images = False  # 2D keypoint sequences, not images

    def __init__(self, backbone: ConfigType, neck: OptConfigType = None,
                 head: OptConfigType = None,
                 traj_backbone: OptConfigType = None,
                 traj_neck: OptConfigType = None,
                 traj_head: OptConfigType = None,
                 semi_loss: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 metainfo: Optional[dict] = None,
                 auxiliary_head: Optional[MultiConfig] = None):
        super().__init__(backbone=backbone, neck=neck, head=head,
                         train_cfg=train_cfg, test_cfg=test_cfg,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg, metainfo=metainfo)
        self.share_backbone = False
        if traj_head is not None:
            if traj_backbone is not None:
                self.traj_backbone = MODELS.build(traj_backbone)
            else:
                self.share_backbone = True
            if traj_neck is not None:
                self.traj_neck = MODELS.build(traj_neck)
            self.traj_head = MODELS.build(traj_head)
        self.semi_supervised = semi_loss is not None
        if self.semi_supervised:
            if head is None and traj_head is None:
                raise ValueError('PoseLifter: semi_loss needs a head or a '
                                 'traj_head')
            self.semi_loss = MODELS.build(semi_loss)
        self._init_auxiliary_heads(auxiliary_head)

    @property
    def with_traj_backbone(self) -> bool:
        return getattr(self, 'traj_backbone', None) is not None

    @property
    def with_traj_neck(self) -> bool:
        return getattr(self, 'traj_neck', None) is not None

    @property
    def with_traj(self) -> bool:
        return getattr(self, 'traj_head', None) is not None

    @property
    def causal(self) -> bool:
        """Whether the backbone only looks at past frames.

        Raises:
            AttributeError: the backbone has no ``causal`` attribute.
        """
        if not hasattr(self.backbone, 'causal'):
            raise AttributeError(f'{type(self.backbone).__name__} has no '
                                 'bool attribute causal')
        return self.backbone.causal

    @staticmethod
    def _flatten(inputs: Tensor) -> Tensor:
        """``(B, K, C, T)`` -> ``(B, K * C, T)``; 3-D inputs unchanged.

        Raises:
            ValueError: inputs are neither 3-D nor 4-D.
        """
        if inputs.ndim == 4:
            return inputs.flatten(1, 2)
        if inputs.ndim != 3:
            raise ValueError('PoseLifter expects inputs (B, K * C, T) or '
                             f'(B, K, C, T), got {tuple(inputs.shape)}')
        return inputs

    def extract_feat(self, inputs: Tensor
                     ) -> Union[Tuple[Tensor, ...], Tuple[tuple, tuple]]:
        """Pose features, or ``(pose_feats, traj_feats)`` with a trajectory
        model."""
        inputs = self._flatten(inputs)
        feats = self.backbone(inputs)
        if self.with_neck:
            feats = self.neck(feats)
        if not self.with_traj:
            return feats
        traj = feats if self.share_backbone else self.traj_backbone(inputs)
        if self.with_traj_neck:
            traj = self.traj_neck(traj)
        return feats, traj

    def _forward(self, inputs: Tensor) -> Union[Tensor, Tuple[Tensor, ...]]:
        """Head output ``(B, K, 3)`` (with a trajectory model, the pair of
        pose and trajectory outputs)."""
        feats = self.extract_feat(inputs)
        x, traj = feats if self.with_traj else (feats, None)
        if self.with_head:
            x = self.head.forward(x)
        if traj is None:
            return x
        return x, self.traj_head.forward(traj)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Pose, trajectory, semi-supervised and auxiliary losses."""
        feats = self.extract_feat(inputs)
        x, traj = feats if self.with_traj else (feats, None)
        losses = dict()
        if traj is not None:
            losses.update(self.traj_head.loss(traj, data_samples,
                                              train_cfg=self.train_cfg))
        if self.with_head:
            losses.update(self.head.loss(x, data_samples,
                                         train_cfg=self.train_cfg))
        if self.semi_supervised:
            losses['semi_loss'] = self.semi_loss(inputs, data_samples)
        losses.update(self._auxiliary_losses(x, inputs, data_samples))
        return losses

    def predict(self, inputs: Tensor, data_samples: SampleList) -> SampleList:
        """3D joints of each sample's target frame in
        ``data_samples[i].pred_instances`` (``keypoints (1, K, 3)``,
        ``keypoint_scores (1, K)``), decoded by the head's codec.

        Raises:
            ValueError: no head.
            KeyError: flip test without ``flip_indices`` metainfo.
        """
        if not self.with_head:
            raise ValueError('PoseLifter.predict needs a head; set '
                             'model.head in the config')
        inputs = self._flatten(inputs)
        if self.test_cfg.get('flip_test', False):
            meta = data_samples[0].metainfo if data_samples else {}
            if 'flip_indices' not in meta:
                raise KeyError('PoseLifter flip test needs metainfo '
                               "flip_indices: keep 'flip_indices' in "
                               'PackPoseInputs meta_keys')
            plain = self.extract_feat(inputs)
            flipped = self.extract_feat(
                flip_lifting_inputs(inputs, meta['flip_indices']))
            if self.with_traj:
                x = [plain[0], flipped[0]]
                traj = [plain[1], flipped[1]]
            else:
                x, traj = [plain, flipped], None
        else:
            feats = self.extract_feat(inputs)
            x, traj = feats if self.with_traj else (feats, None)
        preds = self.head.predict(x, data_samples, test_cfg=self.test_cfg)
        if isinstance(preds, tuple):
            instances, fields = preds
        else:
            instances, fields = preds, None
        return self.add_pred_to_datasample(instances, fields, data_samples)

    def add_pred_to_datasample(self, batch_pred_instances: InstanceList,
                               batch_pred_fields: Optional[PixelDataList],
                               batch_data_samples: SampleList) -> SampleList:
        """Set ``pred_instances`` (and ``pred_fields``) of each sample;
        with ``test_cfg.output_keypoint_indices`` only those joints of every
        ``keypoint*`` field are kept.

        Raises:
            ValueError: the numbers of predictions and samples differ.
        """
        if len(batch_pred_instances) != len(batch_data_samples):
            raise ValueError(f'{len(batch_pred_instances)} predictions for '
                             f'{len(batch_data_samples)} data samples')
        keep = self.test_cfg.get('output_keypoint_indices', None)
        for pred, fields, sample in zip_longest(
                batch_pred_instances, batch_pred_fields or [],
                batch_data_samples):
            if keep is not None:
                for key, value in list(pred.all_items()):
                    if key.startswith('keypoint'):
                        pred.set_field(value[:, keep], key)
            sample.pred_instances = pred
            if fields is not None:
                sample.pred_fields = fields
        return batch_data_samples


__all__ = ['PoseLifter', 'flip_lifting_inputs']
