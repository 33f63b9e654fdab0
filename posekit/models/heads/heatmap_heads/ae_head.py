"""Associative embedding head (Newell et al., 2017): a heatmap head whose
final convolution also predicts identity tags that group the detected
keypoints into persons."""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from posekit.registry import MODELS
from posekit.utils.typing import ConfigType, OptConfigType
from .bottomup_predict import BottomupPredictMixin
from .heatmap_head import HeatmapHead

OptIntSeq = Optional[Sequence[int]]


def check_positive_int(head: object, name: str, value: object) -> int:
    """``value`` as a positive int.

    Raises:
        ValueError: it is not one; names ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{type(head).__name__}: {name} must be a positive '
                         f'int, got {value!r}')
    return value


def tag_channels(num_keypoints: int, tag_dim: int,
                 tag_per_keypoint: bool) -> int:
    """Number of tag channels: ``K * tag_dim`` or ``tag_dim``."""
    return num_keypoints * tag_dim if tag_per_keypoint else tag_dim


def _sample_fields(sample, i: int):
    fields = sample.get('gt_fields')
    if fields is None or 'heatmaps' not in fields:
        raise KeyError(f'data sample {i} has no gt_fields.heatmaps; the '
                       'pipeline must run GenerateTarget with an '
                       'AssociativeEmbedding codec before PackPoseInputs')
    return fields


def _sample_indices(sample, i: int) -> Tensor:
    labels = sample.get('gt_instance_labels')
    if labels is None or 'keypoint_indices' not in labels:
        raise KeyError(f'data sample {i} has no gt_instance_labels.'
                       'keypoint_indices; the pipeline must run '
                       'GenerateTarget with an AssociativeEmbedding codec')
    return torch.as_tensor(labels.keypoint_indices)


def gather_bottomup_targets(batch_data_samples: Sequence,
                            level: Optional[int] = None
                            ) -> Tuple[Tensor, Optional[Tensor],
                                       List[Tensor]]:
    """Targets of a batch at one resolution.

    With ``level=None`` the samples hold one level: ``gt_fields.heatmaps
    (K, h, w)``, ``heatmap_mask (1, h, w)`` and ``gt_instance_labels.
    keypoint_indices (N, K, 2)``. With ``level=l`` they hold several
    (``MultilevelPixelData`` lists and ``keypoint_indices (L, N, K, 2)``)
    and level ``l`` is taken.

    Returns:
        heatmaps ``(B, K, h, w)``, masks ``(B, 1, h, w)`` (None when no
        sample has ``heatmap_mask``) and B ``(N_i, K, 2)`` index tensors.

    Raises:
        KeyError: a field is missing, or only some samples have a mask.
        ValueError: single-level targets where levels are expected, or
            the reverse, or too few levels.
    """
    heatmaps, masks, indices = [], [], []
    for i, sample in enumerate(batch_data_samples):
        fields = _sample_fields(sample, i)
        idx = _sample_indices(sample, i)
        maps = fields.heatmaps
        multilevel = isinstance(maps, (list, tuple))
        if multilevel != (level is not None):
            want = ('one target map per output resolution: GenerateTarget('
                    'multilevel=True, encoder=[...]) with one codec per '
                    'level' if level is not None else 'single-level targets'
                    ' (GenerateTarget with one encoder)')
            raise ValueError(f'data sample {i}: this head needs {want}')
        mask = fields.get('heatmap_mask')
        if level is not None:
            if len(maps) <= level or idx.ndim != 4 or idx.shape[0] <= level:
                raise ValueError(
                    f'data sample {i} has targets for {len(maps)} levels '
                    f'(keypoint_indices {tuple(idx.shape)}); level {level} '
                    'is needed')
            maps, idx = maps[level], idx[level]
            mask = None if mask is None else mask[level]
        heatmaps.append(torch.as_tensor(maps))
        indices.append(idx)
        masks.append(None if mask is None else torch.as_tensor(mask))
    have = [m is not None for m in masks]
    if any(have) and not all(have):
        raise KeyError(f'gt_fields.heatmap_mask is missing in data sample '
                       f'{have.index(False)} but present in others; run '
                       'BottomupGetHeatmapMask for every sample')
    stacked_masks = torch.stack(masks).float() if all(have) and have \
        else None
    return torch.stack(heatmaps).float(), stacked_masks, indices


def heatmap_loss(loss_module: nn.Module, pred: Tensor, gt: Tensor,
                 mask: Optional[Tensor]) -> Tensor:
    """Masked heatmap loss of ``pred`` against ``gt`` ``(B, K, h, w)``.

    All instances of an image share each heatmap channel, so per-channel
    weights are ones ``(B, K)``: a channel with no visible keypoint must
    still learn to be zero. Crowds and unlabelled persons are left out by
    the pixel ``mask`` instead.

    Raises:
        ValueError: the target size differs from the output size.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'head output {tuple(pred.shape)} and target '
                         f'heatmaps {tuple(gt.shape)} differ; the codec\'s '
                         'heatmap_size (w, h) must match the output')
    gt = gt.to(pred.device)
    weights = pred.new_ones(pred.shape[:2])
    if mask is not None:
        mask = mask.to(pred.device)
    return loss_module(pred, gt, weights, mask)


@MODELS.register_module()
class AssociativeEmbeddingHead(BottomupPredictMixin, HeatmapHead):
    """Heatmaps plus associative-embedding tags from one feature map.

    ``forward(feats)`` returns ``heatmaps (B, K, h, w)`` and ``tags (B, T,
    h, w)``, ``T = K * tag_dim`` (channel ``l * K + k`` is component ``l``
    of keypoint ``k``'s tag) with ``tag_per_keypoint``, else ``tag_dim``.

    Args (beyond :class:`HeatmapHead`'s layer arguments):
        num_keypoints: K.
        tag_dim: tag components per keypoint (or in total when shared).
        tag_per_keypoint: one tag map per keypoint, or one shared.
        keypoint_loss: heatmap loss config (called with ones as keypoint
            weights and ``gt_fields.heatmap_mask`` as pixel mask).
        tag_loss: associative embedding loss config.
        decoder: an ``AssociativeEmbedding`` codec config.

    Raises:
        ValueError: ``num_keypoints`` or ``tag_dim`` is not a positive int
            (and the layer errors of :class:`HeatmapHead`).
    """

    def __init__(self, in_channels: int, num_keypoints: int,
                 tag_dim: int = 1, tag_per_keypoint: bool = True,
                 deconv_out_channels: OptIntSeq = (256, 256, 256),
                 deconv_kernel_sizes: OptIntSeq = (4, 4, 4),
                 conv_out_channels: OptIntSeq = None,
                 conv_kernel_sizes: OptIntSeq = None,
                 final_layer: Optional[dict] = dict(kernel_size=1),
                 keypoint_loss: ConfigType = dict(type='KeypointMSELoss'),
                 tag_loss: ConfigType = dict(
                     type='AssociativeEmbeddingLoss'),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None):
        check_positive_int(self, 'num_keypoints', num_keypoints)
        check_positive_int(self, 'tag_dim', tag_dim)
        out_channels = num_keypoints + tag_channels(
            num_keypoints, tag_dim, tag_per_keypoint)
        super().__init__(
            in_channels=in_channels, out_channels=out_channels,
            deconv_out_channels=deconv_out_channels,
            deconv_kernel_sizes=deconv_kernel_sizes,
            conv_out_channels=conv_out_channels,
            conv_kernel_sizes=conv_kernel_sizes, final_layer=final_layer,
            loss=keypoint_loss, decoder=decoder, init_cfg=init_cfg)
        # MMPose's attribute layout: loss_module.keypoint_loss / .tag_loss
        self.loss_module = nn.ModuleDict(dict(
            keypoint_loss=self.loss_module, tag_loss=MODELS.build(tag_loss)))
        self.num_keypoints = num_keypoints
        self.tag_dim = tag_dim
        self.tag_per_keypoint = tag_per_keypoint

    def forward(self, feats: Tuple[Tensor, ...]) -> Tuple[Tensor, Tensor]:
        """``(heatmaps (B, K, h, w), tags (B, T, h, w))``."""
        out = super().forward(feats)
        return out[:, :self.num_keypoints], out[:, self.num_keypoints:]

    def predict_maps(self, feats: Tuple[Tensor, ...],
                     align_corners: bool = False) -> Tuple[Tensor, Tensor]:
        return self.forward(feats)

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: Sequence,
             train_cfg: ConfigType = {}) -> dict:
        """``loss_kpt`` (masked heatmap loss), ``loss_pull`` and
        ``loss_push`` (associative embedding loss on the tags).

        Raises:
            KeyError / ValueError: see :func:`gather_bottomup_targets` and
                :func:`heatmap_loss`.
        """
        heatmaps, tags = self.forward(feats)
        gt, mask, indices = gather_bottomup_targets(batch_data_samples)
        loss_kpt = heatmap_loss(self.loss_module.keypoint_loss, heatmaps,
                                gt, mask)
        pull, push = self.loss_module.tag_loss(
            self.per_keypoint_tags(tags),
            [i.to(tags.device) for i in indices])
        return dict(loss_kpt=loss_kpt, loss_pull=pull, loss_push=push)
