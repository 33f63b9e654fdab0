"""SegFormer's all-MLP decoder, used as the frozen teacher's head.

Each encoder stage is projected to ``channels`` with a 1x1 conv (+BN+ReLU)
and upsampled to the first stage's size; the concatenation is fused by a
1x1 conv (+BN+ReLU) and classified by a 1x1 conv after dropout. Names
(``convs.{i}.conv/bn``, ``fusion_conv.conv/bn``, ``conv_seg``) are MMSeg's.
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from posekit.utils.typing import ConfigType


class SegformerHead(nn.Module):
    """Stage features ``[(B, in_channels[i], H_i, W_i)]`` -> ``(fused (B,
    channels, H_0, W_0), logits (B, num_classes, H_0, W_0), concat (B,
    channels * len(in_channels), H_0, W_0))``.

    Args:
        in_channels: channels of each encoder stage.
        channels: width of the projections and of the fused feature.
        num_classes: segmentation classes of ``conv_seg``.
        dropout_ratio: dropout before ``conv_seg``.
        norm_cfg: config of the norm layers.

    Raises (forward):
        ValueError: a number of inputs other than ``len(in_channels)``.
    """

    def __init__(self, in_channels: Sequence[int] = (64, 128, 320, 512),
                 channels: int = 256, num_classes: int = 150,
                 dropout_ratio: float = 0.1,
                 norm_cfg: ConfigType = dict(type='BN')):
        super().__init__()
        self.in_channels = tuple(in_channels)
        self.channels = channels
        self.num_classes = num_classes
        self.convs = nn.ModuleList(
            ConvModule(c, channels, 1, norm_cfg=norm_cfg)
            for c in self.in_channels)
        self.fusion_conv = ConvModule(channels * len(self.in_channels),
                                      channels, 1, norm_cfg=norm_cfg)
        self.dropout = nn.Dropout2d(dropout_ratio)
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)

    def cls_seg(self, feat: Tensor) -> Tensor:
        """Class logits of a fused feature ``(B, channels, H, W)``."""
        return self.conv_seg(self.dropout(feat))

    def forward(self, inputs: Sequence[Tensor]
                ) -> Tuple[Tensor, Tensor, Tensor]:
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'SegformerHead expects {len(self.in_channels)} '
                             f'stage features, got {len(inputs)}')
        size = inputs[0].shape[2:]
        projected = [
            F.interpolate(conv(x), size=size, mode='bilinear',
                          align_corners=False)
            for conv, x in zip(self.convs, inputs)]
        concat = torch.cat(projected, dim=1)
        fused = self.fusion_conv(concat)
        return fused, self.cls_seg(fused), concat
